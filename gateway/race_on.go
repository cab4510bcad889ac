//go:build race

package gateway

// raceEnabled: built with -race; see the handoff in transport.go.
const raceEnabled = true
