// Package deploy holds the deployment files (the load balancer config beside
// the root docker-compose.yml and Dockerfile) and the test that keeps them
// consistent with the code, since no Docker engine runs them here.
package deploy
