package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/samagate/samagate/protocol"
)

// ThrottleConfig limits failed logins. Defaults follow Rocket.Chat: 10
// failures per account or 50 per address within 5 minutes block further
// attempts for 5 minutes.
type ThrottleConfig struct {
	// PerAccount failures allowed within Window. Default 10.
	PerAccount int
	// PerAddress failures allowed within Window. Default 50.
	PerAddress int
	// Window over which failures are counted. Default 5m.
	Window time.Duration
	// Block is how long a key stays blocked. Default 5m.
	Block time.Duration
}

// WithDefaults fills unset fields with the defaults, so a shared Throttle
// built outside this package counts exactly like the memory one.
func (c ThrottleConfig) WithDefaults() ThrottleConfig {
	if c.PerAccount <= 0 {
		c.PerAccount = 10
	}
	if c.PerAddress <= 0 {
		c.PerAddress = 50
	}
	if c.Window <= 0 {
		c.Window = 5 * time.Minute
	}
	if c.Block <= 0 {
		c.Block = 5 * time.Minute
	}
	return c
}

// ThrottledError is a blocked login attempt; it unwraps to
// protocol.ErrTooManyRequest and tells when to retry.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts, retry in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes protocol.ToWire see a 429.
func (e *ThrottledError) Unwrap() error { return protocol.ErrTooManyRequest }

// Throttle counts login failures per account and per address. The memory
// implementation serves one node; a shared one (auth/redisthrottle) makes
// the counts hold across the nodes of a cluster. Account may hold any byte;
// addr "" is not counted.
type Throttle interface {
	// Check returns a *ThrottledError while account or addr is blocked, and
	// another error when the backend cannot tell.
	Check(ctx context.Context, account, addr string) error
	// Fail records a failure of account from addr.
	Fail(ctx context.Context, account, addr string) error
	// Succeed clears the account's failures; an active block stays.
	Succeed(ctx context.Context, account string) error
}

type counter struct {
	start   time.Time // window start
	n       int
	blocked time.Time // blocked until
}

// memoryThrottle is Throttle in memory; entries expire, so memory is bounded
// by the keys seen within a window.
type memoryThrottle struct {
	cfg   ThrottleConfig
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*counter // guarded by mu
	swept time.Time           // guarded by mu
}

func newMemoryThrottle(cfg ThrottleConfig, now func() time.Time) *memoryThrottle {
	return &memoryThrottle{cfg: cfg, now: now, keys: map[string]*counter{}}
}

// Check implements Throttle.
func (t *memoryThrottle) Check(_ context.Context, account, addr string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range []string{"a:" + account, "i:" + addr} {
		if c := t.keys[k]; c != nil && now.Before(c.blocked) {
			wait = max(wait, c.blocked.Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// Fail implements Throttle.
func (t *memoryThrottle) Fail(_ context.Context, account, addr string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweepLocked(now)
	t.failLocked("a:"+account, t.cfg.PerAccount, now)
	if addr != "" {
		t.failLocked("i:"+addr, t.cfg.PerAddress, now)
	}
	return nil
}

func (t *memoryThrottle) failLocked(k string, limit int, now time.Time) {
	c := t.keys[k]
	if c == nil || now.Sub(c.start) > t.cfg.Window {
		c = &counter{start: now}
		t.keys[k] = c
	}
	c.n++
	if c.n >= limit {
		c.blocked = now.Add(t.cfg.Block)
		c.n, c.start = 0, now
	}
}

// Succeed implements Throttle.
func (t *memoryThrottle) Succeed(_ context.Context, account string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.keys["a:"+account]; c != nil && !t.now().Before(c.blocked) {
		delete(t.keys, "a:"+account)
	}
	return nil
}

// sweepLocked drops expired entries at most once a window.
func (t *memoryThrottle) sweepLocked(now time.Time) {
	if now.Sub(t.swept) < t.cfg.Window {
		return
	}
	t.swept = now
	for k, c := range t.keys {
		if now.Sub(c.start) > t.cfg.Window && !now.Before(c.blocked) {
			delete(t.keys, k)
		}
	}
}
