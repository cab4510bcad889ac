// Package deploy holds the deployment files (the load balancer config beside
// the root docker-compose.yml and Dockerfile, the Kubernetes manifests in
// k8s/ and the Grafana dashboard in grafana/) and the tests that keep them
// consistent with the code, since no Docker engine or cluster runs them here.
package deploy
