package auth_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/auth/redisthrottle"
	"github.com/samagate/samagate/protocol"
)

// TestSessionCap (item 7): a user has at most MaxSessionsPerUser live
// sessions; a login beyond ends the least recently used one (its sockets
// are told), so the owner can always log in.
func TestSessionCap(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.MaxSessionsPerUser = 3 })
	e.user(t, "alice")
	var grants []*auth.Grant
	for i := range 6 {
		grants = append(grants, e.login(t, "alice", fmt.Sprintf("d%d", i)))
		e.advance(2 * time.Minute) // each login is used later than the one before
		if i == 1 {                // d0 is used again: d1 becomes the least recently used
			if _, err := e.svc.Authenticate(ctx, grants[0].AccessToken, "d0"); err != nil {
				t.Fatal(err)
			}
		}
	}
	live, err := e.svc.Sessions(ctx, grants[5].Principal)
	if err != nil {
		t.Fatal(err)
	}
	var devices []string
	for _, s := range live {
		devices = append(devices, s.DeviceID)
	}
	ended := e.endedCopy()
	t.Logf("6 logins with a cap of 3: live %v, %d ended (least recently used first)", devices, len(ended))
	if len(live) != 3 || len(ended) != 3 {
		t.Fatalf("got %d live (%v) and %d ended; want 3 and 3", len(live), devices, len(ended))
	}
	for i, want := range []bool{false, false, false, true, true, true} {
		_, err := e.svc.Authenticate(ctx, grants[i].AccessToken, fmt.Sprintf("d%d", i))
		if (err == nil) != want {
			t.Errorf("session d%d: got %v, want live %v", i, err, want)
		}
	}
	if ended[0].SessionID != grants[1].Principal.SessionID || ended[0].Reason != "revoked" {
		t.Errorf("first ended: got %+v, want d1's session (least recently used) revoked", ended[0])
	}
}

// TestPrune (item 7): Prune deletes ended sessions with their tokens;
// RunPruning does it every PruneInterval until its context ends.
func TestPrune(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.RefreshTTL = time.Hour; c.PruneInterval = 20 * time.Millisecond })
	e.user(t, "alice")
	expired := e.login(t, "alice", "old")
	e.advance(30 * time.Minute)
	revoked := e.login(t, "alice", "gone")
	live := e.login(t, "alice", "live")
	if err := e.svc.Logout(ctx, revoked.Principal); err != nil {
		t.Fatal(err)
	}
	e.advance(31 * time.Minute) // the first session is past its hour
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.svc.RunPruning(pctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err1 := e.db.Session(ctx, expired.Principal.SessionID)
		_, err2 := e.db.Session(ctx, revoked.Principal.SessionID)
		if err1 != nil && err2 != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("RunPruning did not delete the ended sessions")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := e.db.Session(ctx, live.Principal.SessionID); err != nil {
		t.Fatalf("live session pruned: %v", err)
	}
	_, err := e.svc.Refresh(context.Background(), revoked.RefreshToken, "gone", "", "")
	wantErr(t, "refresh token of a pruned session", err, protocol.ErrTokenExpired)
	if _, err := e.svc.Refresh(context.Background(), live.RefreshToken, "live", "", ""); err != nil {
		t.Fatalf("live refresh token after pruning: %v", err)
	}
	rows, keys, err := e.svc.Prune(context.Background())
	t.Logf("a second Prune right after: %d rows, %d keys, %v", rows, keys, err)
	if err != nil {
		t.Fatal(err)
	}
}

// TestThrottleBackendDown: while the shared throttle (Redis) is
// unreachable, this node's memory counts the attempts: logins go on and
// the limits still hold (per node).
func TestThrottleBackendDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // nothing listens there any more
	rdb := redis.NewClient(&redis.Options{Addr: dead, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	limits := auth.ThrottleConfig{PerAccount: 3, Window: time.Minute, Block: time.Minute}
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = limits
		c.Throttler = redisthrottle.New(rdb, limits, "")
	})
	e.user(t, "alice")
	var got []string
	for range 5 {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "guess", DeviceID: "d"})
		got = append(got, outcome(err))
	}
	t.Logf("5 wrong passwords, limit 3, Redis unreachable: %v", got)
	if fmt.Sprint(got) != "[401 401 401 429 429]" {
		t.Fatalf("got %v; want 3 × 401 then 429 (counted on this node)", got)
	}
}
