package auth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is an auth service on a real SQLite store with a settable clock and
// a record of ended sessions.
type env struct {
	svc   *auth.Service
	db    *sqlite.DB
	clk   *clocktest.Clock
	mu    sync.Mutex // guards ended
	ended []auth.SessionEnd
	dir   string
}

func newEnv(t *testing.T, tweak func(*auth.Config)) *env {
	t.Helper()
	return newEnvOn(t, tweak, nil)
}

// newEnvOn is newEnv with the service's store wrapped by wrap (nil: none),
// for tests that count or break store calls.
func newEnvOn(t *testing.T, tweak func(*auth.Config), wrap func(*sqlite.DB) store.Store) *env {
	t.Helper()
	e := &env{clk: clocktest.New(), dir: t.TempDir()}
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(e.dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e.db = db
	keys, err := auth.LoadOrCreateKeys(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.Config{
		Hash: auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1},
		Now:  e.clock,
		OnSessionEnd: func(_ context.Context, s auth.SessionEnd) {
			e.mu.Lock()
			e.ended = append(e.ended, s)
			e.mu.Unlock()
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	var st store.Store = db
	if wrap != nil {
		st = wrap(db)
	}
	if e.svc, err = auth.New(st, keys, cfg, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time { return e.clk.Now() }

func (e *env) advance(d time.Duration) { e.clk.Advance(d) }

func (e *env) lastEnd() auth.SessionEnd {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.ended) == 0 {
		return auth.SessionEnd{}
	}
	return e.ended[len(e.ended)-1]
}

var ctx = context.Background()

func (e *env) user(t *testing.T, login string) *auth.User {
	t.Helper()
	u, err := e.svc.CreateUser(ctx, auth.NewUser{Login: login, Password: "pw-" + login, Email: login + "@x.io"})
	if err != nil {
		t.Fatalf("create %s: %v", login, err)
	}
	return u
}

func (e *env) login(t *testing.T, login, device string) *auth.Grant {
	t.Helper()
	g, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: login, Password: "pw-" + login, DeviceID: device, Addr: "10.0.0.1"})
	if err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	return g
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func TestLoginAndAuthenticate(t *testing.T) {
	e := newEnv(t, nil)
	u := e.user(t, "alice")
	g := e.login(t, "alice", "laptop")
	if g.User.ID != u.ID || g.Principal.DeviceID != "laptop" || g.AccessToken == "" || g.RefreshToken == "" {
		t.Fatalf("grant: got %+v", g)
	}
	if _, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "ALICE@X.IO", Password: "pw-alice", DeviceID: "d"}); err != nil {
		t.Fatalf("login by e-mail, other case: %v", err)
	}
	p, err := e.svc.Authenticate(ctx, g.AccessToken, "laptop")
	if err != nil || p.UserID != u.ID || p.SessionID != g.Principal.SessionID {
		t.Fatalf("authenticate: got %+v, %v", p, err)
	}
	_, err = e.svc.Authenticate(ctx, g.AccessToken, "phone")
	wantErr(t, "other device", err, protocol.ErrIncorrectToken)
	_, err = e.svc.Authenticate(ctx, g.RefreshToken, "laptop")
	wantErr(t, "refresh token as access", err, protocol.ErrIncorrectToken)
	_, err = e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "nope", DeviceID: "d"})
	wantErr(t, "wrong password", err, protocol.ErrBadCredentials)
	_, err = e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "ghost", Password: "nope", DeviceID: "d"})
	wantErr(t, "unknown user", err, protocol.ErrBadCredentials)
	_, err = e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice"})
	wantErr(t, "no device", err, protocol.ErrDeviceIDRequired)

	e.advance(4 * time.Hour)
	_, err = e.svc.Authenticate(ctx, g.AccessToken, "laptop")
	wantErr(t, "expired", err, protocol.ErrTokenExpired)
}

// TestForgedTokens: only HS256 tokens signed with our key, with our iss and
// aud, are accepted.
func TestForgedTokens(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	g := e.login(t, "alice", "d")
	parsed, _, err := jwt.NewParser().ParseUnverified(g.AccessToken, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	kid := parsed.Header["kid"]
	sign := func(m jwt.SigningMethod, key any, mod func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if mod != nil {
			mod(c)
		}
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := map[string]string{
		"alg none":  sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil),
		"other key": sign(jwt.SigningMethodHS256, []byte("0123456789abcdef0123456789abcdef"), nil),
		"HS512":     sign(jwt.SigningMethodHS512, []byte("0123456789abcdef0123456789abcdef"), nil),
		"garbage":   "a.b.c",
		"not a jwt": "opaque",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Authenticate(ctx, tok, "d")
			wantErr(t, name, err, protocol.ErrIncorrectToken)
		})
	}
}

// TestRefreshRotation: each use rotates; a reuse within the grace window is
// tolerated (concurrent tabs); a reuse after it revokes the session.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	g0 := e.login(t, "alice", "d")
	g1, err := e.svc.Refresh(ctx, g0.RefreshToken, "d", "", "")
	if err != nil || g1.RefreshToken == g0.RefreshToken {
		t.Fatalf("first refresh: got %v, %v", g1, err)
	}
	_, err = e.svc.Refresh(ctx, g1.RefreshToken, "other", "", "")
	wantErr(t, "other device", err, protocol.ErrIncorrectToken)
	if _, err := e.svc.Refresh(ctx, g0.RefreshToken, "d", "", ""); err != nil {
		t.Fatalf("reuse within grace: %v", err)
	}
	e.advance(time.Minute)
	_, err = e.svc.Refresh(ctx, g0.RefreshToken, "d", "", "")
	wantErr(t, "reuse after grace", err, protocol.ErrTokenExpired)
	if end := e.lastEnd(); end.Reason != "revoked" || end.DeviceID != "d" {
		t.Fatalf("session end: got %+v, want revoked on d", end)
	}
	_, err = e.svc.Refresh(ctx, g1.RefreshToken, "d", "", "")
	wantErr(t, "newest token of a revoked session", err, protocol.ErrTokenExpired)
	_, err = e.svc.Authenticate(ctx, g1.AccessToken, "d")
	wantErr(t, "access token of a revoked session", err, protocol.ErrTokenExpired)
}

func TestLogoutAndDelete(t *testing.T) {
	e := newEnv(t, nil)
	u := e.user(t, "alice")
	laptop := e.login(t, "alice", "laptop")
	phone := e.login(t, "alice", "phone")

	_, err := e.svc.LogoutTokens(ctx, laptop.AccessToken, phone.RefreshToken)
	wantErr(t, "refresh of another device", err, protocol.ErrIncorrectToken)
	_, err = e.svc.LogoutTokens(ctx, "bogus", laptop.RefreshToken)
	wantErr(t, "bad access", err, protocol.ErrMissingCredentials)
	if _, err := e.svc.LogoutTokens(ctx, laptop.AccessToken, laptop.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if end := e.lastEnd(); end.Reason != "logout" || end.DeviceID != "laptop" || end.UserID != u.ID {
		t.Fatalf("logout end: got %+v", end)
	}
	_, err = e.svc.Authenticate(ctx, laptop.AccessToken, "laptop")
	wantErr(t, "after logout", err, protocol.ErrTokenExpired)
	if _, err := e.svc.Authenticate(ctx, phone.AccessToken, "phone"); err != nil {
		t.Fatalf("phone after laptop logout: %v", err)
	}
	p, _ := e.svc.Authenticate(ctx, phone.AccessToken, "phone")
	if err := e.svc.DeleteUser(ctx, *p); err != nil {
		t.Fatal(err)
	}
	if end := e.lastEnd(); end.Reason != "deleted" || end.DeviceID != "" {
		t.Fatalf("delete end: got %+v", end)
	}
	_, err = e.svc.Authenticate(ctx, phone.AccessToken, "phone")
	wantErr(t, "after delete", err, protocol.ErrTokenExpired)
}

// TestPasswordChangeRevokesOtherSessions: a password change ends every
// other session by session id, a second session on the caller's own
// (client-chosen) device id included; the caller's session stays.
func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	laptop := e.login(t, "alice", "laptop")
	phone := e.login(t, "alice", "phone")
	thief := e.login(t, "alice", "laptop") // the same device id as the caller
	pw, cur, bad := "newpass1", "pw-alice", "wrong"
	_, err := e.svc.EditUser(ctx, laptop.Principal, auth.UserEdit{NewPassword: &pw, CurrentPassword: &bad})
	wantErr(t, "wrong current", err, protocol.ErrWrongCurrentPassword)
	if _, err := e.svc.EditUser(ctx, laptop.Principal, auth.UserEdit{NewPassword: &pw, CurrentPassword: &cur}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, laptop.AccessToken, "laptop"); err != nil {
		t.Fatalf("current session after password change: %v", err)
	}
	_, err = e.svc.Authenticate(ctx, phone.AccessToken, "phone")
	wantErr(t, "other device after password change", err, protocol.ErrTokenExpired)
	_, err = e.svc.Authenticate(ctx, thief.AccessToken, "laptop")
	wantErr(t, "other session on the caller's device id", err, protocol.ErrTokenExpired)
	_, err = e.svc.Refresh(ctx, thief.RefreshToken, "laptop", "", "")
	wantErr(t, "refresh of the other session on the caller's device id", err, protocol.ErrTokenExpired)
	if end := e.lastEnd(); end.ExceptSessionID != laptop.Principal.SessionID || end.DeviceID != "" || end.Reason != "revoked" {
		t.Fatalf("session end: got %+v, want every session but %s", end, laptop.Principal.SessionID)
	}
}

func TestThrottle(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = auth.ThrottleConfig{PerAccount: 3, Window: time.Minute, Block: time.Minute}
	})
	e.user(t, "alice")
	for range 3 {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "bad", DeviceID: "d"})
		wantErr(t, "failure", err, protocol.ErrBadCredentials)
	}
	_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d"})
	var te *auth.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || !errors.Is(err, protocol.ErrTooManyRequest) {
		t.Fatalf("blocked: got %v, want a ThrottledError (429)", err)
	}
	_, err = e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "ghost", Password: "x", DeviceID: "d"})
	wantErr(t, "unknown account is not blocked", err, protocol.ErrBadCredentials)
	e.advance(2 * time.Minute)
	e.login(t, "alice", "d")
}

func TestCreateUserRules(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	cases := []struct {
		name string
		u    auth.NewUser
		want error
	}{
		{"short login", auth.NewUser{Login: "al", Password: "secret"}, protocol.ErrIncorrectLogin},
		{"short login after trim", auth.NewUser{Login: "  al  ", Password: "secret"}, protocol.ErrIncorrectLogin},
		{"long login", auth.NewUser{Login: strings.Repeat("l", 41), Password: "secret"}, protocol.ErrIncorrectLogin},
		{"short password", auth.NewUser{Login: "bob", Password: "12"}, protocol.ErrIncorrectPassword},
		{"long password", auth.NewUser{Login: "bob", Password: strings.Repeat("p", 41)}, protocol.ErrIncorrectPassword},
		{"duplicate login", auth.NewUser{Login: "Alice", Password: "secret"}, protocol.ErrUserExists},
		{"duplicate login after trim", auth.NewUser{Login: " alice ", Password: "secret"}, protocol.ErrUserExists},
		{"duplicate e-mail", auth.NewUser{Login: "bob", Email: "ALICE@x.io", Password: "secret"}, protocol.ErrUserExists},
		{"unknown org", auth.NewUser{OrgID: "nope", Login: "bob", Password: "secret"}, protocol.ErrOrgNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateUser(ctx, tc.u)
			wantErr(t, tc.name, err, tc.want)
		})
	}
	for name, n := range map[string]auth.NewUser{
		"shortest":  {Login: "bob", Password: "123"},
		"longest":   {Login: strings.Repeat("m", 40), Password: strings.Repeat("p", 40)},
		"multibyte": {Login: "ёжик", Password: "пар"},
	} {
		if u, err := e.svc.CreateUser(ctx, n); err != nil || u.Login != n.Login || u.ID == "" || u.NativeID != u.ID {
			t.Errorf("%s: got %+v, %v, want a user %q", name, u, err, n.Login)
		}
	}
}

// TestKeysPersist: a second LoadOrCreateKeys in the same dir verifies
// tokens signed after the first; the file is private.
func TestKeysPersist(t *testing.T) {
	dir := t.TempDir()
	k1, err := auth.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := auth.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1 == nil || k2 == nil {
		t.Fatal("nil keys")
	}
	st, err := os.Stat(filepath.Join(dir, "signing-keys.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: got %v, %v, want mode 0600", st.Mode(), err)
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := auth.Config{Hash: auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}}
	s1, _ := auth.New(db, k1, cfg, zerolog.Nop())
	s2, _ := auth.New(db, k2, cfg, zerolog.Nop())
	if _, err := s1.CreateUser(ctx, auth.NewUser{Login: "kim", Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	g, err := s1.LoginPassword(ctx, auth.PasswordLogin{Login: "kim", Password: "secret", DeviceID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(ctx, g.AccessToken, "d"); err != nil {
		t.Fatalf("token from before the reload: %v", err)
	}
}
