package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/samagate/samagate/protocol"
)

// ThrottleConfig limits guesses and sign-ups. Login defaults follow
// Rocket.Chat: 10 failures per account or 50 per address within 5 minutes
// block further attempts for 5 minutes.
type ThrottleConfig struct {
	// PerAccount failures allowed within Window: wrong passwords at login
	// (whatever identifier or organization named the account) and wrong
	// current passwords of user_edit. Default 10 (also for <= 0: guessing
	// limits cannot be switched off, only raised).
	PerAccount int
	// PerAddress failures allowed within Window from one client address,
	// passwords and second-factor codes alike. Default 50.
	PerAddress int
	// SecondFactor failures allowed per user within Window: wrong TOTP or
	// recovery codes at login and at /2fa/totp/disable. A correct password
	// does not reset them; once used up, the second factor is locked for
	// Block. Default 5.
	SecondFactor int
	// Window over which failures are counted. Default 5m.
	Window time.Duration
	// Block is how long a key stays blocked once its failures are used up.
	// Default 5m.
	Block time.Duration
	// SignupPerAddress is how many sign-ups (user_create, successful or
	// not) one client address may make within SignupWindow. Negative: no
	// limit. Default 30.
	SignupPerAddress int
	// SignupWindow is the sign-up counting window. Default 10m.
	SignupWindow time.Duration
}

// WithDefaults fills unset fields with the defaults, so a shared Throttle
// built outside this package counts exactly like the memory one.
func (c ThrottleConfig) WithDefaults() ThrottleConfig {
	for _, d := range []struct {
		v *int
		d int
	}{{&c.PerAccount, 10}, {&c.PerAddress, 50}, {&c.SecondFactor, 5}} {
		if *d.v <= 0 { // guessing limits cannot be switched off
			*d.v = d.d
		}
	}
	if c.SignupPerAddress == 0 {
		c.SignupPerAddress = 30
	}
	for _, d := range []struct {
		v *time.Duration
		d time.Duration
	}{{&c.Window, 5 * time.Minute}, {&c.Block, 5 * time.Minute}, {&c.SignupWindow, 10 * time.Minute}} {
		if *d.v <= 0 {
			*d.v = d.d
		}
	}
	return c
}

// KeyKind says what a throttle key counts, and so its limit.
type KeyKind byte

// The kinds of throttle keys.
const (
	// KindAccount counts wrong passwords of one account (its user id, or
	// the typed identifier when no account has it).
	KindAccount KeyKind = 'a'
	// KindAddress counts failures from one client address.
	KindAddress KeyKind = 'i'
	// KindSecondFactor counts wrong second-factor codes of one user.
	KindSecondFactor KeyKind = 'f'
	// KindSignup counts sign-ups from one client address.
	KindSignup KeyKind = 'u'
)

// Key is one throttled thing: a kind and an id (any bytes).
type Key struct {
	Kind KeyKind
	ID   string
}

// String is the key as the backends store it.
func (k Key) String() string { return string(k.Kind) + ":" + k.ID }

// Limit is what a key allows: Max attempts within Window; Block is how
// long it is blocked once a failure used the last one (0: until the
// window ends, for counts that never fail, such as sign-ups).
type Limit struct {
	Max           int
	Window, Block time.Duration
}

// Limit returns the limit of keys of kind k. Max <= 0 means unlimited (only
// sign-ups can be).
func (c ThrottleConfig) Limit(k KeyKind) Limit {
	c = c.WithDefaults()
	switch k {
	case KindAccount:
		return Limit{c.PerAccount, c.Window, c.Block}
	case KindAddress:
		return Limit{c.PerAddress, c.Window, c.Block}
	case KindSecondFactor:
		return Limit{c.SecondFactor, c.Window, c.Block}
	case KindSignup:
		return Limit{c.SignupPerAddress, c.SignupWindow, 0}
	}
	return Limit{}
}

// ThrottledError is a blocked attempt; it unwraps to
// protocol.ErrTooManyRequest and tells when to retry.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts, retry in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes protocol.ToWire see a 429.
func (e *ThrottledError) Unwrap() error { return protocol.ErrTooManyRequest }

// Throttle counts attempts per key, reserving each before the work it
// guards (a password hash, a code check), so that concurrent guesses cannot
// all pass a check before any failure is counted: of sixty parallel wrong
// passwords with a limit of five, five reach the hash. An attempt counts as
// a failure from its reservation until it is settled as a success. The
// memory implementation serves one node; a shared one (auth/redisthrottle)
// holds across the nodes of a cluster. Both are built from one
// ThrottleConfig, which gives each KeyKind its limit.
type Throttle interface {
	// Reserve takes one attempt from every key, or from none: a key that is
	// blocked or has no attempt left in its window makes it return a
	// *ThrottledError. Another error means the backend cannot tell.
	Reserve(ctx context.Context, keys ...Key) error
	// Fail settles reserved attempts as failures: a key whose attempts in
	// the window are used up is blocked for its Block.
	Fail(ctx context.Context, keys ...Key) error
	// Refund gives reserved attempts back (the attempt succeeded, or never
	// got to the check).
	Refund(ctx context.Context, keys ...Key) error
	// Clear forgets every attempt of the keys' windows (a correct password
	// clears its account's failures); a block runs its course.
	Clear(ctx context.Context, keys ...Key) error
}

// counter is one key's window in memory.
type counter struct {
	start   time.Time // window start
	n       int       // attempts in the window, reserved ones included
	blocked time.Time // blocked until
}

// MemoryThrottle is Throttle in one process's memory; entries expire, so
// memory is bounded by the keys seen within a window. One mutex makes
// every operation atomic.
type MemoryThrottle struct {
	cfg   ThrottleConfig
	now   func() time.Time
	mu    sync.Mutex
	keys  map[Key]*counter // guarded by mu
	swept time.Time        // guarded by mu
}

var _ Throttle = (*MemoryThrottle)(nil)

// NewMemoryThrottle returns a MemoryThrottle with cfg's limits on the
// clock now (nil: time.Now).
func NewMemoryThrottle(cfg ThrottleConfig, now func() time.Time) *MemoryThrottle {
	if now == nil {
		now = time.Now
	}
	return &MemoryThrottle{cfg: cfg.WithDefaults(), now: now, keys: map[Key]*counter{}}
}

// Reserve implements Throttle.
func (t *MemoryThrottle) Reserve(_ context.Context, keys ...Key) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweepLocked(now)
	var wait time.Duration
	for _, k := range keys {
		wait = max(wait, t.waitLocked(k, now))
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	for _, k := range keys {
		c := t.keys[k]
		if c == nil || now.Sub(c.start) >= t.cfg.Limit(k.Kind).Window {
			c = &counter{start: now, blocked: blockedUntil(c)}
			t.keys[k] = c
		}
		c.n++
	}
	return nil
}

// blockedUntil keeps a block across a new window.
func blockedUntil(c *counter) time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.blocked
}

// waitLocked is how long k refuses attempts: its block, or the rest of a
// window whose attempts are all taken.
func (t *MemoryThrottle) waitLocked(k Key, now time.Time) time.Duration {
	c := t.keys[k]
	if c == nil {
		return 0
	}
	if now.Before(c.blocked) {
		return c.blocked.Sub(now)
	}
	l := t.cfg.Limit(k.Kind)
	if end := c.start.Add(l.Window); l.Max > 0 && c.n >= l.Max && now.Before(end) {
		return end.Sub(now)
	}
	return 0
}

// Fail implements Throttle.
func (t *MemoryThrottle) Fail(_ context.Context, keys ...Key) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		l := t.cfg.Limit(k.Kind)
		if c := t.keys[k]; c != nil && l.Max > 0 && c.n >= l.Max && l.Block > 0 {
			c.blocked = now.Add(l.Block)
			c.n, c.start = 0, now
		}
	}
	return nil
}

// Refund implements Throttle.
func (t *MemoryThrottle) Refund(_ context.Context, keys ...Key) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if c := t.keys[k]; c != nil && c.n > 0 {
			c.n--
		}
	}
	return nil
}

// Clear implements Throttle.
func (t *MemoryThrottle) Clear(_ context.Context, keys ...Key) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		if c := t.keys[k]; c != nil {
			if now.Before(c.blocked) {
				c.n = 0
			} else {
				delete(t.keys, k)
			}
		}
	}
	return nil
}

// sweepLocked drops expired entries at most once a minute.
func (t *MemoryThrottle) sweepLocked(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for k, c := range t.keys {
		if now.Sub(c.start) > t.cfg.Limit(k.Kind).Window && !now.Before(c.blocked) {
			delete(t.keys, k)
		}
	}
}
