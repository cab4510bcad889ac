//go:build !race

package gateway

// raceEnabled: built without -race; see the handoff in transport.go.
const raceEnabled = false
