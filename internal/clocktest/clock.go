// Package clocktest is a settable clock for tests of time-dependent code
// (token expiry, throttles, retention), shared by the test suites.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when told; safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock set to the current time.
func New() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time; pass it as a Config's Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
