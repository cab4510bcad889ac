package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// userLookups: not-found cases and login-over-e-mail precedence.
func userLookups(t *testing.T, s store.Store) {
	a := mustCreate(t, s, newUser(store.DefaultOrg, "x@y.io", "", ""))
	b := mustCreate(t, s, newUser(store.DefaultOrg, "bee", "X@Y.IO", "+1555"))
	if got, err := s.UserByLogin(ctx, store.DefaultOrg, "X@y.io"); err != nil || got.ID != a.ID {
		t.Fatalf("login equal to another's e-mail: got %v, %v, want the login match %s", got, err, a.ID)
	}
	if got, err := s.UserByLogin(ctx, store.DefaultOrg, "BEE"); err != nil || got.ID != b.ID || got.Phone != "+1555" {
		t.Fatalf("by login: got %+v, %v", got, err)
	}
	missing := newUser(store.DefaultOrg, "ghost", "", "")
	cases := []struct {
		name string
		err  error
	}{
		{"UserByID unknown", func() error { _, err := s.UserByID(ctx, store.DefaultOrg, "missing"); return err }()},
		{"UserByLogin unknown", func() error { _, err := s.UserByLogin(ctx, store.DefaultOrg, "ghost"); return err }()},
		{"UserByLogin other org", func() error { _, err := s.UserByLogin(ctx, "other", "bee"); return err }()},
		{"UpdateUser unknown", s.UpdateUser(ctx, missing)},
		{"DeleteUser other org", s.DeleteUser(ctx, "other", b.ID)},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, store.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", tc.name, tc.err)
		}
	}
	// Clearing an e-mail frees it; two users without e-mail do not clash.
	b.Email = ""
	if err := s.UpdateUser(ctx, b); err != nil {
		t.Fatalf("clear e-mail: %v", err)
	}
	if got, _ := s.UserByID(ctx, store.DefaultOrg, b.ID); got.Email != "" {
		t.Fatalf("cleared e-mail: got %q, want empty", got.Email)
	}
	mustCreate(t, s, newUser(store.DefaultOrg, "cee", "x@y.io", ""))
}

// sessionDetails: fields round-trip, touch, single revoke, expiry and
// not-found cases.
func sessionDetails(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "sid", "", ""))
	now := time.Now().UTC().Truncate(time.Millisecond)
	x := &store.Session{ID: store.NewID(), UserID: u.ID, OrgID: u.OrgID, DeviceID: "tab", Addr: "10.0.0.1",
		UserAgent: "ua/1", CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, x); err == nil {
		t.Fatal("duplicate session id: got nil error")
	}
	got, err := s.Session(ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != u.ID || got.OrgID != u.OrgID || got.DeviceID != "tab" || got.Addr != "10.0.0.1" ||
		got.UserAgent != "ua/1" || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(x.ExpiresAt) || !got.RevokedAt.IsZero() {
		t.Fatalf("session: got %+v, want %+v", got, x)
	}
	later := now.Add(time.Minute)
	if err := s.TouchSession(ctx, x.ID, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, x.ID); !got.LastUsedAt.Equal(later) {
		t.Fatalf("touched: got last used %v, want %v", got.LastUsedAt, later)
	}
	if err := s.TouchSession(ctx, "missing", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("touch missing: got %v, want ErrNotFound", err)
	}
	if err := s.RevokeSession(ctx, "missing", later); err != nil {
		t.Fatalf("revoke missing: got %v, want nil", err)
	}

	// An expired session is not live; a revoked one neither.
	old := &store.Session{ID: store.NewID(), UserID: u.ID, OrgID: u.OrgID, DeviceID: "old",
		CreatedAt: now.Add(-2 * time.Hour), LastUsedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	if devs, err := s.LiveDevices(ctx, u.ID, now); err != nil || len(devs) != 1 || devs[0] != "tab" {
		t.Fatalf("live devices: got %v, %v, want [tab]", devs, err)
	}
	if err := s.RevokeSession(ctx, x.ID, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, x.ID); !got.RevokedAt.Equal(later) {
		t.Fatalf("revoked at: got %v, want %v", got.RevokedAt, later)
	}
	if err := s.RevokeSession(ctx, x.ID, later.Add(time.Minute)); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	if got, _ := s.Session(ctx, x.ID); !got.RevokedAt.Equal(later) {
		t.Fatalf("second revoke moved revoked_at: got %v, want %v", got.RevokedAt, later)
	}
	if devs, err := s.LiveDevices(ctx, u.ID, now); err != nil || devs == nil || len(devs) != 0 {
		t.Fatalf("live devices after revoke: got %#v, %v, want empty", devs, err)
	}
	if n, err := s.RevokeSessions(ctx, u.ID, "", later); err != nil || n != 1 {
		t.Fatalf("revoke all: got %d, %v, want 1 (the expired, unrevoked one)", n, err)
	}
	if n, err := s.RevokeSessions(ctx, u.ID, "", later); err != nil || n != 0 {
		t.Fatalf("revoke all again: got %d, %v, want 0", n, err)
	}
	if n, err := s.RevokeSessions(ctx, "nobody", "", later); err != nil || n != 0 {
		t.Fatalf("revoke for unknown user: got %d, %v, want 0", n, err)
	}
}

// refreshDetails: lookups, a failed rotation stores nothing, rotating an
// unknown hash.
func refreshDetails(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "rex", "", ""))
	sess := newSession(u, "d")
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	tok := func(h string) *store.RefreshToken {
		return &store.RefreshToken{Hash: h, SessionID: sess.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	if _, err := s.RefreshToken(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing refresh token: got %v, want ErrNotFound", err)
	}
	if err := s.CreateRefreshToken(ctx, tok("r0")); err != nil {
		t.Fatal(err)
	}
	got, err := s.RefreshToken(ctx, "r0")
	if err != nil || got.SessionID != sess.ID || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(time.Hour)) ||
		!got.UsedAt.IsZero() || got.ReplacedBy != "" {
		t.Fatalf("fresh token: got %+v, %v", got, err)
	}
	if ok, err := s.RotateRefreshToken(ctx, "unknown", tok("r-orphan"), now); ok || err != nil {
		t.Fatalf("rotate unknown: got %v, %v, want false, nil", ok, err)
	}
	if _, err := s.RefreshToken(ctx, "r-orphan"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("successor of a failed rotation: got %v, want ErrNotFound", err)
	}
	at := now.Add(time.Second)
	if ok, err := s.RotateRefreshToken(ctx, "r0", tok("r1"), at); !ok || err != nil {
		t.Fatalf("rotate: got %v, %v, want true", ok, err)
	}
	if got, _ := s.RefreshToken(ctx, "r0"); !got.UsedAt.Equal(at) || got.ReplacedBy != "r1" {
		t.Fatalf("rotated: got %+v, want used at %v, replaced by r1", got, at)
	}
	next, err := s.RefreshToken(ctx, "r1")
	if err != nil || next.SessionID != sess.ID || !next.UsedAt.IsZero() || !next.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("successor: got %+v, %v", next, err)
	}
	if ok, err := s.RotateRefreshToken(ctx, "r0", tok("r1b"), at); ok || err != nil {
		t.Fatalf("rotate used: got %v, %v, want false, nil", ok, err)
	}
	if _, err := s.RefreshToken(ctx, "r1b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("successor of a losing rotation: got %v, want ErrNotFound", err)
	}
}

func signingKeys(t *testing.T, s store.Store) {
	if got, err := s.SigningKeys(ctx); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("keys of a new store: got %#v, %v; want empty", got, err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	k1 := &store.SigningKey{Seq: 1, Kid: "k1", Secret: []byte{0, 1, 2, 255}, CreatedAt: at}
	if err := s.AddSigningKey(ctx, k1); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*store.SigningKey{
		"seq": {Seq: 1, Kid: "other", Secret: []byte{9}, CreatedAt: at},
		"kid": {Seq: 5, Kid: "k1", Secret: []byte{9}, CreatedAt: at},
	} {
		if err := s.AddSigningKey(ctx, k); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate %s: got %v, want ErrConflict", name, err)
		}
	}
	if err := s.AddSigningKey(ctx, &store.SigningKey{Seq: 2, Kid: "k2", Secret: []byte{7}, CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SigningKeys(ctx)
	if err != nil || len(got) != 2 || got[0].Kid != "k2" || got[1].Kid != "k1" ||
		string(got[1].Secret) != string(k1.Secret) || !got[1].CreatedAt.Equal(at) || got[1].Seq != 1 {
		t.Fatalf("keys: got %+v, %v", got, err)
	}
}

// userSessions: live sessions of one user, most recently used first, with
// the client the user reported.
func userSessions(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "lister", "", ""))
	other := mustCreate(t, s, newUser(store.DefaultOrg, "other_lister", "", ""))
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(uid, device string, used time.Duration, ttl time.Duration) *store.Session {
		x := &store.Session{ID: store.NewID(), UserID: uid, OrgID: store.DefaultOrg, DeviceID: device,
			Client:    store.SessionClient{Platform: "ios", PlatformVersion: "17.1", AppName: "chat", AppVersion: "2.0", Provider: "password"},
			CreatedAt: now.Add(-time.Hour), LastUsedAt: now.Add(used), ExpiresAt: now.Add(ttl)}
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	old := mk(u.ID, "laptop", -30*time.Minute, time.Hour)
	recent := mk(u.ID, "phone", -time.Minute, time.Hour)
	mk(u.ID, "expired", 0, -time.Second)
	revoked := mk(u.ID, "gone", 0, time.Hour)
	mk(other.ID, "laptop", 0, time.Hour)
	if err := s.RevokeSession(ctx, revoked.ID, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserSessions(ctx, u.ID, now)
	if err != nil || len(got) != 2 || got[0].ID != recent.ID || got[1].ID != old.ID {
		t.Fatalf("sessions: got %+v, %v; want phone then laptop", got, err)
	}
	if got[0].Client != recent.Client || !got[0].LastUsedAt.Equal(recent.LastUsedAt) {
		t.Fatalf("client: got %+v, want %+v", got[0].Client, recent.Client)
	}
	one, err := s.Session(ctx, old.ID)
	if err != nil || one.Client != old.Client {
		t.Fatalf("session client: got %+v, %v", one, err)
	}
	if none, err := s.UserSessions(ctx, "nobody", now); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("unknown user: got %#v, %v; want empty", none, err)
	}
}

// identifiers: one person's accounts in several organizations, by login
// or e-mail, and the last-login record.
func identifiers(t *testing.T, s store.Store) {
	for _, o := range []string{"org-b", "org-a"} {
		if err := s.CreateOrganization(ctx, &store.Organization{ID: o, Name: o, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	a := mustCreate(t, s, newUser("org-a", "Pat", "pat@x.io", ""))
	b := mustCreate(t, s, newUser("org-b", "patricia", "PAT@x.io", ""))
	mustCreate(t, s, newUser(store.DefaultOrg, "someone", "", ""))
	for _, ident := range []string{"pat@X.io", "PAT@x.io"} {
		got, err := s.UsersByIdentifier(ctx, ident, 10)
		if err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
			t.Fatalf("by %q: got %+v, %v; want org-a then org-b", ident, got, err)
		}
	}
	if got, err := s.UsersByIdentifier(ctx, "PAT", 10); err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("by login: got %+v, %v", got, err)
	}
	if got, err := s.UsersByIdentifier(ctx, "pat@x.io", 1); err != nil || len(got) != 1 {
		t.Fatalf("limit: got %d, %v", len(got), err)
	}
	if got, err := s.UsersByIdentifier(ctx, "nobody", 10); err != nil || len(got) != 0 {
		t.Fatalf("unknown: got %+v, %v", got, err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.SetLastLogin(ctx, b.ID, at); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, "org-b", b.ID)
	if !got.LastLoginAt.Equal(at) {
		t.Fatalf("last login: got %v, want %v", got.LastLoginAt, at)
	}
	if got, _ := s.UserByID(ctx, "org-a", a.ID); !got.LastLoginAt.IsZero() {
		t.Fatalf("never logged in: got %v", got.LastLoginAt)
	}
}
