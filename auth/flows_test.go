package auth_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

func TestLoginPasswordVariants(t *testing.T) {
	e := newEnv(t, nil)
	u := e.user(t, "alice")
	cases := []struct {
		name string
		l    auth.PasswordLogin
		want error // nil: a grant
	}{
		{"login", auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d"}, nil},
		{"login, other case", auth.PasswordLogin{Login: "ALICE", Password: "pw-alice", DeviceID: "d"}, nil},
		{"e-mail", auth.PasswordLogin{Login: "alice@x.io", Password: "pw-alice", DeviceID: "d"}, nil},
		{"user id", auth.PasswordLogin{UserID: u.ID, Password: "pw-alice", DeviceID: "d"}, nil},
		{"default org by name", auth.PasswordLogin{OrgID: store.DefaultOrg, Login: "alice", Password: "pw-alice", DeviceID: "d"}, nil},
		{"wrong password", auth.PasswordLogin{Login: "alice", Password: "pw-alicE", DeviceID: "d"}, protocol.ErrBadCredentials},
		{"unknown login", auth.PasswordLogin{Login: "ghost", Password: "pw-alice", DeviceID: "d"}, protocol.ErrBadCredentials},
		{"unknown user id", auth.PasswordLogin{UserID: "missing", Password: "pw-alice", DeviceID: "d"}, protocol.ErrBadCredentials},
		{"other org", auth.PasswordLogin{OrgID: "nope", Login: "alice", Password: "pw-alice", DeviceID: "d"}, protocol.ErrBadCredentials},
		{"no device", auth.PasswordLogin{Login: "alice", Password: "pw-alice"}, protocol.ErrDeviceIDRequired},
		{"no password", auth.PasswordLogin{Login: "alice", DeviceID: "d"}, protocol.ErrLoginOrPasswordMiss},
		{"no login", auth.PasswordLogin{Password: "pw-alice", DeviceID: "d"}, protocol.ErrLoginOrPasswordMiss},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := e.svc.LoginPassword(ctx, tc.l)
			if tc.want != nil {
				wantErr(t, tc.name, err, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("got %v, want a grant", err)
			}
			if g.User.ID != u.ID || g.Principal.UserID != u.ID || g.Principal.OrgID != store.DefaultOrg ||
				g.Principal.DeviceID != "d" || g.Principal.SessionID == "" || g.Principal.Login != "alice" {
				t.Fatalf("grant: got %+v", g.Principal)
			}
			if want := e.clock().Add(3 * time.Hour); !g.AccessExpiresAt.Equal(want) || !g.Principal.ExpiresAt.Equal(want) {
				t.Fatalf("access expiry: got %v, want %v", g.AccessExpiresAt, want)
			}
			if p, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil || p.SessionID != g.Principal.SessionID {
				t.Fatalf("authenticate: got %+v, %v", p, err)
			}
		})
	}
}

// TestForgedWithRealKey: even with our own secret and kid, only HS256 with
// our claims passes; the control case proves the forging harness is right.
func TestForgedWithRealKey(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	g := e.login(t, "alice", "d")
	data, err := os.ReadFile(filepath.Join(e.dir, "signing-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []struct {
		Kid    string `json:"kid"`
		Secret []byte `json:"secret"`
	}
	if err := json.Unmarshal(data, &keys); err != nil || len(keys) == 0 {
		t.Fatalf("keys file: got %d keys, %v", len(keys), err)
	}
	k := keys[0]
	parsed, _, err := jwt.NewParser().ParseUnverified(g.AccessToken, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	sign := func(m jwt.SigningMethod, key any, kid string, mod func(jwt.MapClaims)) string {
		t.Helper()
		c := jwt.MapClaims{}
		for name, v := range claims {
			c[name] = v
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
	if _, err := e.svc.Authenticate(ctx, sign(jwt.SigningMethodHS256, k.Secret, k.Kid, nil), "d"); err != nil {
		t.Fatalf("control (same claims, our key): %v", err)
	}
	cases := map[string]string{
		"HS512, our key":      sign(jwt.SigningMethodHS512, k.Secret, k.Kid, nil),
		"HS384, our key":      sign(jwt.SigningMethodHS384, k.Secret, k.Kid, nil),
		"alg none, our kid":   sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, k.Kid, nil),
		"no kid":              sign(jwt.SigningMethodHS256, k.Secret, "", nil),
		"type refresh":        sign(jwt.SigningMethodHS256, k.Secret, k.Kid, func(c jwt.MapClaims) { c["type"] = "refresh" }),
		"other user":          sign(jwt.SigningMethodHS256, k.Secret, k.Kid, func(c jwt.MapClaims) { c["_id"] = "someone" }),
		"other device claim":  sign(jwt.SigningMethodHS256, k.Secret, k.Kid, func(c jwt.MapClaims) { c["device_id"] = "x" }),
		"signature stripped":  g.AccessToken[:len(g.AccessToken)-43] + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"empty":               "",
		"refresh token value": g.RefreshToken,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Authenticate(ctx, tok, "d")
			wantErr(t, name, err, protocol.ErrIncorrectToken)
		})
	}
	// A forged expiry in the past reads as expired, not as a valid token.
	past := sign(jwt.SigningMethodHS256, k.Secret, k.Kid, func(c jwt.MapClaims) { c["exp"] = e.clock().Add(-time.Minute).Unix() })
	_, err = e.svc.Authenticate(ctx, past, "d")
	wantErr(t, "past exp", err, protocol.ErrTokenExpired)
}

func TestLoginAccess(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	g := e.login(t, "alice", "d")
	e.advance(time.Minute)
	g2, err := e.svc.LoginAccess(ctx, g.AccessToken, "d", "10.0.0.2", "ua")
	if err != nil {
		t.Fatal(err)
	}
	if g2.Principal.SessionID != g.Principal.SessionID || g2.AccessToken == g.AccessToken || g2.RefreshToken == g.RefreshToken {
		t.Fatalf("re-login: got session %s, want %s with new tokens", g2.Principal.SessionID, g.Principal.SessionID)
	}
	if p, err := e.svc.Authenticate(ctx, g2.AccessToken, "d"); err != nil || p.SessionID != g.Principal.SessionID {
		t.Fatalf("new access token: got %+v, %v", p, err)
	}
	if _, err := e.svc.Refresh(ctx, g2.RefreshToken, "d", "", ""); err != nil {
		t.Fatalf("new refresh token: %v", err)
	}
	_, err = e.svc.LoginAccess(ctx, g.AccessToken, "other", "", "")
	wantErr(t, "other device", err, protocol.ErrIncorrectToken)
	_, err = e.svc.LoginAccess(ctx, "garbage", "d", "", "")
	wantErr(t, "garbage", err, protocol.ErrIncorrectToken)
	if err := e.svc.Logout(ctx, g.Principal); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.LoginAccess(ctx, g2.AccessToken, "d", "", "")
	wantErr(t, "after logout", err, protocol.ErrTokenExpired)
}

func TestRefreshEdges(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.RefreshTTL = time.Hour })
	e.user(t, "alice")
	g0 := e.login(t, "alice", "d")
	_, err := e.svc.Refresh(ctx, "unknown", "d", "", "")
	wantErr(t, "unknown token", err, protocol.ErrTokenExpired)
	g1, err := e.svc.Refresh(ctx, g0.RefreshToken, "d", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if g1.Principal.SessionID != g0.Principal.SessionID {
		t.Fatalf("refresh: got session %s, want %s", g1.Principal.SessionID, g0.Principal.SessionID)
	}
	if _, err := e.svc.Authenticate(ctx, g1.AccessToken, "d"); err != nil {
		t.Fatalf("refreshed access token: %v", err)
	}
	g2, err := e.svc.Refresh(ctx, g1.RefreshToken, "d", "", "")
	if err != nil {
		t.Fatalf("second rotation: %v", err)
	}
	e.advance(time.Hour)
	_, err = e.svc.Refresh(ctx, g2.RefreshToken, "d", "", "")
	wantErr(t, "past the refresh TTL", err, protocol.ErrTokenExpired)
	if n := len(e.endedCopy()); n != 0 {
		t.Fatalf("session ends: got %d, want 0 (expiry is not a revocation)", n)
	}
}

// endedCopy returns the recorded session ends.
func (e *env) endedCopy() []auth.SessionEnd {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]auth.SessionEnd(nil), e.ended...)
}

func TestLogoutTokensMismatch(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	e.user(t, "bob")
	laptop := e.login(t, "alice", "laptop")
	laptop2 := e.login(t, "alice", "laptop")
	phone := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "laptop")
	cases := []struct {
		name, access, refresh string
		want                  error
	}{
		{"garbage access", "bogus", laptop.RefreshToken, protocol.ErrMissingCredentials},
		{"empty access", "", laptop.RefreshToken, protocol.ErrMissingCredentials},
		{"refresh as access", laptop.RefreshToken, laptop.RefreshToken, protocol.ErrMissingCredentials},
		{"empty refresh", laptop.AccessToken, "", protocol.ErrIncorrectToken},
		{"unknown refresh", laptop.AccessToken, "nope", protocol.ErrIncorrectToken},
		{"refresh of another device", laptop.AccessToken, phone.RefreshToken, protocol.ErrIncorrectToken},
		{"refresh of another user", laptop.AccessToken, bob.RefreshToken, protocol.ErrIncorrectToken},
		{"access as refresh", laptop.AccessToken, laptop.AccessToken, protocol.ErrIncorrectToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.LogoutTokens(ctx, tc.access, tc.refresh)
			wantErr(t, tc.name, err, tc.want)
		})
	}
	if n := len(e.endedCopy()); n != 0 {
		t.Fatalf("session ends after refused logouts: got %d, want 0", n)
	}
	for _, g := range []*auth.Grant{laptop, laptop2, phone, bob} {
		if _, err := e.svc.Authenticate(ctx, g.AccessToken, g.Principal.DeviceID); err != nil {
			t.Fatalf("%s after refused logouts: %v", g.Principal.DeviceID, err)
		}
	}
	// A refresh token of another session of the same user and device is
	// accepted and ends every session of the device.
	p, err := e.svc.LogoutTokens(ctx, laptop.AccessToken, laptop2.RefreshToken)
	if err != nil || p.SessionID != laptop.Principal.SessionID {
		t.Fatalf("logout: got %+v, %v", p, err)
	}
	for _, g := range []*auth.Grant{laptop, laptop2} {
		_, err := e.svc.Authenticate(ctx, g.AccessToken, "laptop")
		wantErr(t, "laptop session after logout", err, protocol.ErrTokenExpired)
	}
	_, err = e.svc.LogoutTokens(ctx, laptop.AccessToken, laptop.RefreshToken)
	wantErr(t, "second logout", err, protocol.ErrMissingCredentials)
}

func TestLogoutEvent(t *testing.T) {
	e := newEnv(t, nil)
	u := e.user(t, "alice")
	g := e.login(t, "alice", "d")
	other := e.login(t, "alice", "other")
	if err := e.svc.Logout(ctx, g.Principal); err != nil {
		t.Fatal(err)
	}
	want := auth.SessionEnd{UserID: u.ID, OrgID: store.DefaultOrg, DeviceID: "d", Reason: "logout"}
	if got := e.endedCopy(); len(got) != 1 || got[0] != want {
		t.Fatalf("session ends: got %+v, want [%+v]", got, want)
	}
	_, err := e.svc.Authenticate(ctx, g.AccessToken, "d")
	wantErr(t, "after logout", err, protocol.ErrTokenExpired)
	_, err = e.svc.Refresh(ctx, g.RefreshToken, "d", "", "")
	wantErr(t, "refresh after logout", err, protocol.ErrTokenExpired)
	if _, err := e.svc.Authenticate(ctx, other.AccessToken, "other"); err != nil {
		t.Fatalf("other device after logout: %v", err)
	}
	if err := e.svc.DeleteUser(ctx, other.Principal); err != nil {
		t.Fatal(err)
	}
	want = auth.SessionEnd{UserID: u.ID, OrgID: store.DefaultOrg, Reason: "deleted"}
	if got := e.lastEnd(); got != want {
		t.Fatalf("delete end: got %+v, want %+v", got, want)
	}
	_, err = e.svc.Refresh(ctx, other.RefreshToken, "other", "", "")
	wantErr(t, "refresh after delete", err, protocol.ErrTokenExpired)
	_, err = e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d"})
	wantErr(t, "login after delete", err, protocol.ErrBadCredentials)
}

func TestPasswordChangeRules(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	g := e.login(t, "alice", "d")
	str := func(s string) *string { return &s }
	cases := []struct {
		name string
		edit auth.UserEdit
		want error
	}{
		{"no current", auth.UserEdit{NewPassword: str("newpass")}, protocol.ErrWrongCurrentPassword},
		{"empty current", auth.UserEdit{NewPassword: str("newpass"), CurrentPassword: str("")}, protocol.ErrWrongCurrentPassword},
		{"wrong current", auth.UserEdit{NewPassword: str("newpass"), CurrentPassword: str("pw-alicE")}, protocol.ErrWrongCurrentPassword},
		{"new too short", auth.UserEdit{NewPassword: str("np"), CurrentPassword: str("pw-alice")}, protocol.ErrIncorrectPassword},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.EditUser(ctx, g.Principal, tc.edit)
			wantErr(t, tc.name, err, tc.want)
		})
	}
	if _, err := e.svc.EditUser(ctx, g.Principal, auth.UserEdit{NewPassword: str("newpass"), CurrentPassword: str("pw-alice")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d"})
	wantErr(t, "old password", err, protocol.ErrBadCredentials)
	if _, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "newpass", DeviceID: "d"}); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if n := len(e.endedCopy()); n != 0 {
		t.Fatalf("session ends with a single device: got %d, want 0", n)
	}
}

func TestSearchUsersExcludesCaller(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "anna")
	annie := e.user(t, "annie")
	e.user(t, "annabel")
	e.user(t, "bob")
	g := e.login(t, "anna", "d")
	cases := []struct {
		name string
		q    auth.UserSearch
		want []string
	}{
		{"prefix, caller excluded", auth.UserSearch{Keyword: "ANN"}, []string{"annabel", "annie"}},
		{"ignore ids", auth.UserSearch{Keyword: "ann", IgnoreIDs: []string{annie.ID}}, []string{"annabel"}},
		{"limit", auth.UserSearch{Keyword: "ann", Limit: 1}, nil},
		{"caller only match", auth.UserSearch{Keyword: "anna"}, []string{"annabel"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			us, err := e.svc.SearchUsers(ctx, g.Principal, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range us {
				if u.ID == g.Principal.UserID {
					t.Fatalf("caller %s in results", u.Login)
				}
				got = append(got, u.Login)
			}
			if tc.want == nil {
				if len(got) != tc.q.Limit {
					t.Fatalf("got %v, want %d users", got, tc.q.Limit)
				}
				return
			}
			if !sameSet(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	_, err := e.svc.SearchUsers(ctx, g.Principal, auth.UserSearch{Keyword: "  "})
	var we *protocol.Error
	if !asWire(err, &we) || we.Status != 422 {
		t.Fatalf("blank keyword: got %v, want a 422", err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func asWire(err error, target **protocol.Error) bool {
	if err == nil {
		return false
	}
	*target = protocol.ToWire(err)
	return *target != protocol.ErrInternal
}

// TestThrottleWindow: the block lasts exactly Block, counts per address
// too, and a success before the limit clears the account's failures.
func TestThrottleWindow(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = auth.ThrottleConfig{PerAccount: 3, PerAddress: 5, Window: time.Minute, Block: time.Minute}
	})
	for _, l := range []string{"alice", "bob", "carol"} {
		e.user(t, l)
	}
	try := func(login, pw, addr string) error {
		t.Helper()
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: login, Password: pw, DeviceID: "d", Addr: addr})
		return err
	}
	blocked := func(what string, err error) {
		t.Helper()
		var te *auth.ThrottledError
		if !errors.As(err, &te) || !errors.Is(err, protocol.ErrTooManyRequest) || te.RetryAfter <= 0 || te.RetryAfter > time.Minute {
			t.Fatalf("%s: got %v, want a ThrottledError within a minute", what, err)
		}
	}
	// Two failures then a success: the count starts again.
	for range 2 {
		wantErr(t, "failure", try("alice", "bad", "1.1.1.1"), protocol.ErrBadCredentials)
	}
	if err := try("alice", "pw-alice", "1.1.1.1"); err != nil {
		t.Fatalf("success before the limit: %v", err)
	}
	for range 2 {
		wantErr(t, "failure after success", try("alice", "bad", "2.2.2.2"), protocol.ErrBadCredentials)
	}
	if err := try("alice", "pw-alice", "2.2.2.2"); err != nil {
		t.Fatalf("failures were not cleared by the success: %v", err)
	}
	// Per address: 5 failures over different accounts block the address.
	for i := range 5 {
		login := []string{"bob", "carol"}[i%2]
		wantErr(t, "address failure", try(login, "bad", "9.9.9.9"), protocol.ErrBadCredentials)
	}
	blocked("blocked address", try("alice", "pw-alice", "9.9.9.9"))
	if err := try("alice", "pw-alice", "8.8.8.8"); err != nil {
		t.Fatalf("other address: %v", err)
	}
	e.advance(59 * time.Second)
	blocked("just before the block ends", try("alice", "pw-alice", "9.9.9.9"))
	e.advance(2 * time.Second)
	if err := try("alice", "pw-alice", "9.9.9.9"); err != nil {
		t.Fatalf("after the block: %v", err)
	}
}
