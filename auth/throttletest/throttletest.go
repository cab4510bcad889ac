// Package throttletest is the one contract every auth.Throttle passes: the
// memory throttle in every test run, the Redis one (standalone and
// cluster) when the test script has started Redis. Time is real (Redis
// counts on its own clock), so windows and blocks are a second or two.
package throttletest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// Open returns a fresh throttle with cfg's limits, sharing nothing with
// any other one it returned (a new key prefix), for t.
type Open func(t *testing.T, cfg auth.ThrottleConfig) auth.Throttle

// Run runs the contract against throttles made by open.
func Run(t *testing.T, open Open) {
	tests := map[string]func(*testing.T, Open){
		"ConcurrentReserve": concurrentReserve,
		"AllOrNothing":      allOrNothing,
		"FailBlocks":        failBlocks,
		"RefundAndClear":    refundAndClear,
		"Signups":           signups,
		"WindowExpires":     windowExpires,
		"KindsApart":        kindsApart,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, open) })
	}
}

var ctx = context.Background()

// long never lifts within a test: the counting cases do not wait.
var long = auth.ThrottleConfig{PerAccount: 5, PerAddress: 8, SecondFactor: 3, Window: time.Minute, Block: 30 * time.Second,
	SignupPerAddress: 4, SignupWindow: 20 * time.Second}

// Keys hold a NUL and braces, which must not break a backend's key names.
func account(i int) auth.Key {
	return auth.Key{Kind: auth.KindAccount, ID: fmt.Sprintf("org\x00us}er{%d", i)}
}

func address(s string) auth.Key { return auth.Key{Kind: auth.KindAddress, ID: s} }

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantThrottled asserts a ThrottledError waiting in (min, max].
func wantThrottled(t *testing.T, what string, err error, lo, hi time.Duration) {
	t.Helper()
	te, ok := errors.AsType[*auth.ThrottledError](err)
	if !ok || !errors.Is(err, protocol.ErrTooManyRequest) {
		t.Fatalf("%s: got %v, want a ThrottledError", what, err)
	}
	if te.RetryAfter <= lo || te.RetryAfter > hi {
		t.Fatalf("%s: retry after %v, want in (%v, %v]", what, te.RetryAfter, lo, hi)
	}
}

// concurrentReserve: of 60 parallel attempts on one account with a limit
// of 5, exactly 5 are reserved; failing them blocks the account.
func concurrentReserve(t *testing.T, open Open) {
	th := open(t, long)
	acc := account(1)
	var mu sync.Mutex
	var got, refused int
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			err := th.Reserve(ctx, acc)
			mu.Lock()
			defer mu.Unlock()
			switch _, throttled := errors.AsType[*auth.ThrottledError](err); {
			case err == nil:
				got++
			case throttled:
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	t.Logf("60 concurrent reservations with a limit of 5: %d reserved, %d refused", got, refused)
	if got != 5 || refused != 55 {
		t.Fatalf("got %d reserved, %d refused; want 5 and 55", got, refused)
	}
	for range got {
		must(t, "fail", th.Fail(ctx, acc))
	}
	wantThrottled(t, "after 5 failures", th.Reserve(ctx, acc), long.Block-2*time.Second, long.Block)
}

// allOrNothing: a refused key takes nothing from the others.
func allOrNothing(t *testing.T, open Open) {
	th := open(t, long)
	addr := address("192.0.2.1")
	for i := range long.PerAddress {
		must(t, "reserve", th.Reserve(ctx, account(100+i), addr))
	}
	acc := account(1)
	wantThrottled(t, "address used up", th.Reserve(ctx, acc, addr), 0, long.Window)
	for i := range long.PerAccount {
		if err := th.Reserve(ctx, acc, address("192.0.2.2")); err != nil {
			t.Fatalf("account attempt %d after a refused pair: %v (the refusal took one)", i+1, err)
		}
	}
	wantThrottled(t, "account used up", th.Reserve(ctx, acc), 0, long.Window)
}

// failBlocks: the block lasts Block from the failure that used the last
// attempt, then lifts; reaching it starts a fresh count.
func failBlocks(t *testing.T, open Open) {
	cfg := auth.ThrottleConfig{PerAccount: 3, PerAddress: 50, Window: 5 * time.Second, Block: time.Second}
	th := open(t, cfg)
	acc := account(1)
	for range 3 {
		must(t, "reserve", th.Reserve(ctx, acc))
		must(t, "fail", th.Fail(ctx, acc))
	}
	wantThrottled(t, "blocked", th.Reserve(ctx, acc), 0, cfg.Block)
	time.Sleep(cfg.Block + 100*time.Millisecond)
	for i := range 2 {
		must(t, fmt.Sprintf("attempt %d after the block", i+1), th.Reserve(ctx, acc))
		must(t, "fail", th.Fail(ctx, acc))
	}
	must(t, "third attempt after the block", th.Reserve(ctx, acc))
}

// refundAndClear: a refund gives one attempt back, a clear all of them; a
// clear does not lift a block.
func refundAndClear(t *testing.T, open Open) {
	th := open(t, long)
	acc := account(1)
	for range long.PerAccount {
		must(t, "reserve", th.Reserve(ctx, acc))
	}
	must(t, "refund", th.Refund(ctx, acc))
	must(t, "reserve the refunded attempt", th.Reserve(ctx, acc))
	wantThrottled(t, "used up", th.Reserve(ctx, acc), 0, long.Window)
	must(t, "clear", th.Clear(ctx, acc))
	for range long.PerAccount {
		must(t, "reserve after clear", th.Reserve(ctx, acc))
	}
	must(t, "fail", th.Fail(ctx, acc))
	wantThrottled(t, "blocked", th.Reserve(ctx, acc), long.Block-2*time.Second, long.Block)
	must(t, "clear", th.Clear(ctx, acc))
	wantThrottled(t, "clear keeps the block", th.Reserve(ctx, acc), long.Block-2*time.Second, long.Block)
	must(t, "refund of nothing", th.Refund(ctx, account(2)))
	must(t, "clear of nothing", th.Clear(ctx, account(2)))
}

// signups: every sign-up counts (nothing settles them) until the window
// ends; no block follows.
func signups(t *testing.T, open Open) {
	cfg := long
	cfg.SignupWindow = time.Second
	th := open(t, cfg)
	k := auth.Key{Kind: auth.KindSignup, ID: "198.51.100.7"}
	for range cfg.SignupPerAddress {
		must(t, "sign-up", th.Reserve(ctx, k))
	}
	wantThrottled(t, "sign-ups used up", th.Reserve(ctx, k), 0, cfg.SignupWindow)
	must(t, "other address", th.Reserve(ctx, auth.Key{Kind: auth.KindSignup, ID: "198.51.100.8"}))
	time.Sleep(cfg.SignupWindow + 100*time.Millisecond)
	must(t, "sign-up in the next window", th.Reserve(ctx, k))
}

// windowExpires: failures of two windows do not add up.
func windowExpires(t *testing.T, open Open) {
	cfg := auth.ThrottleConfig{PerAccount: 3, Window: time.Second, Block: time.Minute}
	th := open(t, cfg)
	acc := account(1)
	for range 2 {
		must(t, "reserve", th.Reserve(ctx, acc))
		must(t, "fail", th.Fail(ctx, acc))
	}
	time.Sleep(cfg.Window + 100*time.Millisecond)
	must(t, "reserve", th.Reserve(ctx, acc))
	must(t, "fail", th.Fail(ctx, acc))
	must(t, "failures in two windows", th.Reserve(ctx, acc))
}

// kindsApart: the same id of another kind, or a similar id, is another key;
// each kind has its own limit.
func kindsApart(t *testing.T, open Open) {
	th := open(t, long)
	id := "x}{\x00"
	for range long.SecondFactor {
		must(t, "second factor", th.Reserve(ctx, auth.Key{Kind: auth.KindSecondFactor, ID: id}))
	}
	wantThrottled(t, "second factor used up", th.Reserve(ctx, auth.Key{Kind: auth.KindSecondFactor, ID: id}), 0, long.Window)
	must(t, "account of the same id", th.Reserve(ctx, auth.Key{Kind: auth.KindAccount, ID: id}))
	must(t, "address of the same id", th.Reserve(ctx, auth.Key{Kind: auth.KindAddress, ID: id}))
	must(t, "similar id", th.Reserve(ctx, auth.Key{Kind: auth.KindSecondFactor, ID: id[:3]}))
}
