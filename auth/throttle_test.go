package auth_test

import (
	"testing"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/auth/throttletest"
)

// TestMemoryThrottle runs the shared throttle contract on the memory
// throttle (auth/redisthrottle runs it on Redis).
func TestMemoryThrottle(t *testing.T) {
	throttletest.Run(t, func(t *testing.T, cfg auth.ThrottleConfig) auth.Throttle {
		return auth.NewMemoryThrottle(cfg, nil)
	})
}
