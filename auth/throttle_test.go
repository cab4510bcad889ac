package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// countingThrottle is an auth.Throttle that records calls and whose Check
// answers checkErr.
type countingThrottle struct {
	mu                      sync.Mutex
	checks, fails, succeeds []string // guarded by mu
	checkErr                error
}

func (c *countingThrottle) Check(_ context.Context, account, addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks = append(c.checks, account+"|"+addr)
	return c.checkErr
}

func (c *countingThrottle) Fail(_ context.Context, account, addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fails = append(c.fails, account+"|"+addr)
	return errors.New("backend down") // logged, never returned
}

func (c *countingThrottle) Succeed(_ context.Context, account string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.succeeds = append(c.succeeds, account)
	return nil
}

func (c *countingThrottle) counts() (int, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.checks), len(c.fails), len(c.succeeds)
}

// TestConfigThrottler: a Throttler in Config replaces the memory throttle;
// a backend error in Check lets the login through (fail open), and a block
// it reports is returned.
func TestConfigThrottler(t *testing.T) {
	fake := &countingThrottle{checkErr: errors.New("redis: connection refused")}
	e := newEnv(t, func(c *auth.Config) {
		c.Throttler = fake
		c.Throttle = auth.ThrottleConfig{PerAccount: 1} // the memory one would block after 1
	})
	e.user(t, "alice")
	try := func(pw string) error {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: pw, DeviceID: "d", Addr: "10.0.0.1"})
		return err
	}
	wantErr(t, "failure", try("bad"), protocol.ErrBadCredentials)
	wantErr(t, "second failure", try("bad"), protocol.ErrBadCredentials)
	if err := try("pw-alice"); err != nil {
		t.Fatalf("login with the backend failing: %v", err)
	}
	if c, f, s := fake.counts(); c != 3 || f != 2 || s != 1 {
		t.Fatalf("calls: %d checks, %d fails, %d succeeds; want 3, 2, 1", c, f, s)
	}
	fake.mu.Lock()
	got := fake.fails[0]
	fake.mu.Unlock()
	if !strings.HasSuffix(got, "alice|10.0.0.1") {
		t.Fatalf("Fail got %q, want the account and the address", got)
	}
	fake.mu.Lock()
	fake.checkErr = &auth.ThrottledError{RetryAfter: 42}
	fake.mu.Unlock()
	err := try("pw-alice")
	if _, ok := errors.AsType[*auth.ThrottledError](err); !ok || !errors.Is(err, protocol.ErrTooManyRequest) {
		t.Fatalf("blocked by the Throttler: got %v, want its ThrottledError", err)
	}
}
