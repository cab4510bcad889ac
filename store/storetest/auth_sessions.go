package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// revokeOtherSessions: every session of the user but one ends, whatever
// its device (a password change must not spare a session that shares the
// caller's client-chosen device id).
func revokeOtherSessions(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "rho", "", ""))
	other := mustCreate(t, s, newUser(store.DefaultOrg, "rho2", "", ""))
	keep, sameDevice, phone := newSession(u, "laptop"), newSession(u, "laptop"), newSession(u, "phone")
	foreign := newSession(other, "laptop")
	for _, x := range []*store.Session{keep, sameDevice, phone, foreign} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.RevokeOtherSessions(ctx, u.ID, keep.ID, time.Now()); err != nil || n != 2 {
		t.Fatalf("revoke others: got %d, %v; want 2", n, err)
	}
	for _, c := range []struct {
		x    *store.Session
		live bool
	}{{keep, true}, {sameDevice, false}, {phone, false}, {foreign, true}} {
		got, err := s.Session(ctx, c.x.ID)
		if err != nil || got.RevokedAt.IsZero() != c.live {
			t.Fatalf("session %s on %s: got %+v, %v; want live %v", c.x.ID, c.x.DeviceID, got, err, c.live)
		}
	}
	if n, err := s.RevokeOtherSessions(ctx, u.ID, "", time.Now()); err != nil || n != 1 {
		t.Fatalf("revoke all: got %d, %v; want 1", n, err)
	}
}

// useOnce: of many concurrent uses of one id exactly one wins, on every
// node.
func useOnce(t *testing.T, s store.Store) {
	exp := time.Now().Add(time.Minute)
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, err := s.UseOnce(ctx, "jti-1", exp)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("concurrent uses: got %d winners, want 1", wins)
	}
	if ok, err := s.UseOnce(ctx, "jti-2", exp); err != nil || !ok {
		t.Fatalf("other id: got %v, %v", ok, err)
	}
}

// pruneSessions: ended sessions go with their tokens, live ones stay with
// their newest used tokens only, and expired single-use ids are forgotten.
func pruneSessions(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "pruned", "", ""))
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(device string, expires time.Duration, revoked bool) *store.Session {
		x := &store.Session{ID: store.NewID(), UserID: u.ID, OrgID: u.OrgID, DeviceID: device,
			CreatedAt: now.Add(-time.Hour), LastUsedAt: now.Add(-time.Hour), ExpiresAt: now.Add(expires)}
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		if revoked {
			if err := s.RevokeSession(ctx, x.ID, now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		return x
	}
	live, expired, revoked := mk("live", time.Hour, false), mk("expired", -time.Second, false), mk("revoked", time.Hour, true)
	token := func(x *store.Session, h string, used time.Duration) {
		rt := &store.RefreshToken{Hash: h, SessionID: x.ID, CreatedAt: now.Add(-time.Hour), ExpiresAt: x.ExpiresAt}
		if used != 0 {
			rt.UsedAt = now.Add(used)
		}
		if err := s.CreateRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 { // used a minute apart, the newest last
		token(live, fmt.Sprintf("used-%d", i), time.Duration(i-10)*time.Minute)
	}
	token(live, "current", 0)
	token(expired, "of-expired", 0)
	token(revoked, "of-revoked", 0)
	if ok, err := s.UseOnce(ctx, "spent", now.Add(-time.Second)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, err := s.UseOnce(ctx, "pending", now.Add(time.Minute)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	n, err := s.PruneSessions(ctx, now, 2)
	// 2 sessions (their 2 tokens by cascade, not counted), 3 used tokens, 1 id.
	if err != nil || n != 6 {
		t.Fatalf("prune: got %d, %v; want 6 rows", n, err)
	}
	for _, id := range []string{expired.ID, revoked.ID} {
		if _, err := s.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended session %s: got %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.Session(ctx, live.ID); err != nil {
		t.Errorf("live session: %v", err)
	}
	for h, kept := range map[string]bool{"current": true, "used-4": true, "used-3": true, "used-2": false,
		"used-0": false, "of-expired": false, "of-revoked": false} {
		if _, err := s.RefreshToken(ctx, h); (err == nil) != kept {
			t.Errorf("token %s: got %v, want kept %v", h, err, kept)
		}
	}
	if ok, _ := s.UseOnce(ctx, "spent", now.Add(time.Minute)); !ok {
		t.Error("an expired single-use id was not forgotten")
	}
	if ok, _ := s.UseOnce(ctx, "pending", now.Add(time.Minute)); ok {
		t.Error("a pending single-use id was forgotten")
	}
	if n, err := s.PruneSessions(ctx, now, 2); err != nil || n != 0 {
		t.Fatalf("second prune: got %d, %v; want 0", n, err)
	}
}

// deleteSigningKey: a retired key goes; an unknown kid is no error.
func deleteSigningKey(t *testing.T, s store.Store) {
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i, kid := range []string{"old", "new"} {
		if err := s.AddSigningKey(ctx, &store.SigningKey{Seq: i + 1, Kid: kid, Secret: []byte{1}, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSigningKey(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSigningKey(ctx, "never"); err != nil {
		t.Fatalf("unknown kid: %v", err)
	}
	got, err := s.SigningKeys(ctx)
	if err != nil || len(got) != 1 || got[0].Kid != "new" {
		t.Fatalf("keys: got %+v, %v; want only new", got, err)
	}
}
