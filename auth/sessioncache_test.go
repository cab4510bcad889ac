package auth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

// countingStore counts session reads.
type countingStore struct {
	*sqlite.DB
	reads atomic.Int64
}

func (c *countingStore) Session(ctx context.Context, id string) (*store.Session, error) {
	c.reads.Add(1)
	return c.DB.Session(ctx, id)
}

func cachedEnv(t *testing.T, tweak func(*auth.Config)) (*env, *countingStore) {
	t.Helper()
	var cs *countingStore
	e := newEnvOn(t, tweak, func(db *sqlite.DB) store.Store {
		cs = &countingStore{DB: db}
		return cs
	})
	return e, cs
}

// TestSessionCacheConnects: repeated connects of a live session read it
// once per SessionCacheTTL; every way a session ends on this node refuses
// the next connect at once, cache or not.
func TestSessionCacheConnects(t *testing.T) {
	e, cs := cachedEnv(t, func(c *auth.Config) { c.SessionCacheTTL = 30 * time.Second })
	e.user(t, "alice")
	g := e.login(t, "alice", "d")
	cs.reads.Store(0)
	for range 100 {
		if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads.Load(); n != 1 {
		t.Fatalf("100 connects of one session: %d session reads, want 1", n)
	}
	e.advance(31 * time.Second)
	if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil {
		t.Fatal(err)
	}
	if n := cs.reads.Load(); n != 2 {
		t.Fatalf("a connect after the TTL: %d session reads in all, want 2", n)
	}

	ends := map[string]func(p auth.Principal) error{
		"logout":         func(p auth.Principal) error { return e.svc.Logout(ctx, p) },
		"session_revoke": func(p auth.Principal) error { return e.svc.RevokeSession(ctx, p, p.SessionID) },
		"logout all": func(p auth.Principal) error {
			_, err := e.svc.LogoutEverywhere(ctx, p, false)
			return err
		},
		"password change": func(p auth.Principal) error { // ends the other sessions
			cur, next := "pw-alice", "pw-alice-2"
			if _, err := e.svc.EditUser(ctx, p, auth.UserEdit{CurrentPassword: &cur, NewPassword: &next}); err != nil {
				return err
			}
			back := "pw-alice"
			_, err := e.svc.EditUser(ctx, p, auth.UserEdit{CurrentPassword: &next, NewPassword: &back})
			return err
		},
	}
	for name, end := range ends {
		victim := e.login(t, "alice", "victim")
		if _, err := e.svc.Authenticate(ctx, victim.AccessToken, "victim"); err != nil { // cached now
			t.Fatal(err)
		}
		actor := victim.Principal
		if name == "password change" {
			actor = e.login(t, "alice", "other").Principal
		}
		if err := end(actor); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := e.svc.Authenticate(ctx, victim.AccessToken, "victim"); err != protocol.ErrTokenExpired {
			t.Fatalf("connect after %s within the TTL: got %v, want %v", name, err, protocol.ErrTokenExpired)
		}
	}
}

// TestSessionCacheRemoteEnd: a session revoked by another node (straight
// in the shared store here) is refused once that node's announcement
// arrives (SessionEnded), and at the latest after the TTL if it never
// does.
func TestSessionCacheRemoteEnd(t *testing.T) {
	e, _ := cachedEnv(t, func(c *auth.Config) { c.SessionCacheTTL = 10 * time.Second })
	e.user(t, "bob")
	for _, announced := range []bool{true, false} {
		g := e.login(t, "bob", "d")
		if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.RevokeSession(ctx, g.Principal.SessionID, e.clock()); err != nil {
			t.Fatal(err)
		}
		if announced {
			e.svc.SessionEnded(auth.SessionEnd{UserID: g.Principal.UserID, SessionID: g.Principal.SessionID, Reason: "revoked"})
			if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != protocol.ErrTokenExpired {
				t.Fatalf("connect after the announced end: got %v, want %v", err, protocol.ErrTokenExpired)
			}
			continue
		}
		if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil {
			t.Fatalf("within the TTL of a lost announcement the cache still answers: got %v", err)
		}
		e.advance(10 * time.Second)
		if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != protocol.ErrTokenExpired {
			t.Fatalf("connect after the TTL of a lost announcement: got %v, want %v", err, protocol.ErrTokenExpired)
		}
	}
}

// TestSessionCacheRacingEnd: connects of a session race its revocation on
// this node; once the revocation has returned, no connect succeeds, the
// read that raced it is not kept.
func TestSessionCacheRacingEnd(t *testing.T) {
	e, _ := cachedEnv(t, nil)
	e.user(t, "cat")
	for round := range 20 {
		g := e.login(t, "cat", "d")
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, _ = e.svc.Authenticate(ctx, g.AccessToken, "d")
				}
			})
		}
		time.Sleep(time.Millisecond)
		if err := e.svc.RevokeSession(ctx, g.Principal, g.Principal.SessionID); err != nil {
			t.Fatal(err)
		}
		after := 0
		for range 50 {
			if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err == nil {
				after++
			}
		}
		close(stop)
		wg.Wait()
		if after != 0 {
			t.Fatalf("round %d: %d connects succeeded after the revocation returned", round, after)
		}
	}
}

// TestSessionCacheOff: a negative TTL reads the store on every connect.
func TestSessionCacheOff(t *testing.T) {
	e, cs := cachedEnv(t, func(c *auth.Config) { c.SessionCacheTTL = -1 })
	e.user(t, "dan")
	g := e.login(t, "dan", "d")
	cs.reads.Store(0)
	for range 10 {
		if _, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads.Load(); n != 10 {
		t.Fatalf("10 connects without a cache: %d reads, want 10", n)
	}
}

// TestStillLive: a socket bound right after Authenticate learns whether a
// session end raced its bind: no end of the user since → live without a
// read; an end of another session → read, still live; its own session
// ended → not live. The same with the cache off.
func TestStillLive(t *testing.T) {
	for _, ttl := range []time.Duration{30 * time.Second, -1} {
		e, cs := cachedEnv(t, func(c *auth.Config) { c.SessionCacheTTL = ttl })
		e.user(t, "eve")
		g := e.login(t, "eve", "d")
		other := e.login(t, "eve", "other")
		p, err := e.svc.Authenticate(ctx, g.AccessToken, "d")
		if err != nil {
			t.Fatal(err)
		}
		reads := cs.reads.Load()
		if live, err := e.svc.StillLive(ctx, p); !live || err != nil || cs.reads.Load() != reads {
			t.Fatalf("ttl %v, no end since: live %v, %v, %d reads, want live without a read", ttl, live, err, cs.reads.Load()-reads)
		}
		if err := e.svc.Logout(ctx, other.Principal); err != nil {
			t.Fatal(err)
		}
		if live, err := e.svc.StillLive(ctx, p); !live || err != nil {
			t.Fatalf("ttl %v, another session ended: live %v, %v, want live", ttl, live, err)
		}
		if err := e.svc.RevokeSession(ctx, g.Principal, g.Principal.SessionID); err != nil {
			t.Fatal(err)
		}
		if live, err := e.svc.StillLive(ctx, p); live || err != nil {
			t.Fatalf("ttl %v, its own session ended: live %v, %v, want not live", ttl, live, err)
		}
	}
}
