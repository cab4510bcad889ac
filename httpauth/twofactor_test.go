package httpauth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/samagate/samagate/auth/totp"
)

// TestTOTP: enroll (URL and QR code), confirm with a first code (recovery
// codes), then logins need a code: missing, wrong and replayed codes are
// refused, a fresh code or an unused recovery code works once; disabling
// needs a code.
func TestTOTP(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}))
	bearer := ok.AccessToken

	// An access token alone cannot turn a second factor on (a thief would
	// lock the owner out): enrollment needs the password, counted like a
	// login.
	expectError(t, s.do(t, req{path: "/2fa/totp/enroll", bearer: bearer, body: `{}`}), 422, "'password' is required")
	expectError(t, s.do(t, req{path: "/2fa/totp/enroll", bearer: bearer, body: `{"password":"guess1"}`}), 401,
		"The current password you entered is incorrect.")
	r := s.do(t, req{path: "/2fa/totp/enroll", bearer: bearer, body: `{"password":"secret1"}`})
	var e struct {
		Secret string `json:"secret"`
		URL    string `json:"otpauth_url"`
		QR     string `json:"qr_png"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &e) != nil || e.Secret == "" {
		t.Fatalf("enroll: %d %q", r.status, r.body)
	}
	if u, err := url.Parse(e.URL); err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != e.Secret {
		t.Fatalf("otpauth url %q: %v", e.URL, err)
	}
	raw, _ := base64.StdEncoding.DecodeString(e.QR)
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("qr png: %v", err)
	}
	// Not enabled until confirmed: logins still need no code.
	s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}))

	code := func() string {
		c, err := totp.Code(e.Secret, s.clock.Now(), totp.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	expectError(t, s.do(t, req{path: "/2fa/totp/confirm", bearer: bearer, body: `{"code":"000000"}`}), 401, "Invalid TOTP code.")
	r = s.do(t, req{path: "/2fa/totp/confirm", bearer: bearer, body: `{"code":"` + code() + `"}`})
	var rc struct {
		Codes []string `json:"recovery_codes"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &rc) != nil || len(rc.Codes) != 10 {
		t.Fatalf("confirm: %d %q", r.status, r.body)
	}
	expectError(t, s.do(t, req{path: "/2fa/totp/enroll", bearer: bearer, body: `{"password":"secret1"}`}), 409, "Two-factor authentication is already enabled.")

	withCode := func(c string) string {
		return `{"login":"alice","password":"secret1","device_id":"web","code":"` + c + `"}`
	}
	expectError(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}), 401, "A TOTP code is required (method: totp).")
	expectError(t, s.do(t, req{path: "/login", body: withCode("123456")}), 401, "Invalid TOTP code.")
	expectError(t, s.do(t, req{path: "/login", body: `{"login":"alice","password":"wrong1","device_id":"web","code":"123456"}`}), 401, "Incorrect username or password.")

	s.clock.Advance(30 * time.Second) // the confirmation used the previous step
	c := code()
	s.expectLogin(t, s.do(t, req{path: "/login", body: withCode(c)}))
	expectError(t, s.do(t, req{path: "/login", body: withCode(c)}), 401, "Invalid TOTP code.") // replayed
	s.clock.Advance(30 * time.Second)
	s.expectLogin(t, s.do(t, req{path: "/login", body: withCode(code())}))

	s.expectLogin(t, s.do(t, req{path: "/login", body: withCode(rc.Codes[3])}))
	expectError(t, s.do(t, req{path: "/login", body: withCode(rc.Codes[3])}), 401, "Invalid TOTP code.") // used up

	if r := s.do(t, req{path: "/2fa/totp/disable", bearer: bearer, body: `{}`}); r.status != 422 {
		t.Fatalf("disable without a code: %d %q", r.status, r.body)
	}
	if r := s.do(t, req{path: "/2fa/totp/disable", bearer: bearer, body: `{"code":"` + rc.Codes[0] + `"}`}); r.status != 200 {
		t.Fatalf("disable: %d %q", r.status, r.body)
	}
	s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}))
	expectError(t, s.do(t, req{path: "/2fa/totp/disable", bearer: bearer, body: `{"code":"1"}`}), 422, "Two-factor authentication is not enabled.")
	expectError(t, s.do(t, req{path: "/2fa/totp/enroll"}), 401, "Missing authentication credentials.")
}

// TestTOTPEnrollGuessesThrottled: enrollment's password check is no oracle
// for a stolen access token: wrong passwords count as the account's failed
// logins, so after the limit even the right one waits, and nothing was
// enrolled.
func TestTOTPEnrollGuessesThrottled(t *testing.T) {
	s := newServer(t, func(o *options) { throttleAfter(o, 3) })
	s.createUser(t, "alice", "secret1")
	bearer := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")})).AccessToken
	statuses := []int{}
	for i := range 5 {
		r := s.do(t, req{path: "/2fa/totp/enroll", bearer: bearer, body: fmt.Sprintf(`{"password":"guess%d"}`, i)})
		statuses = append(statuses, r.status)
	}
	r := s.do(t, req{path: "/2fa/totp/enroll", bearer: bearer, body: `{"password":"secret1"}`})
	t.Logf("5 wrong passwords at enroll with an account limit of 3: %v; the right one then: %d", statuses, r.status)
	if want := []int{401, 401, 401, 429, 429}; !slices.Equal(statuses, want) {
		t.Fatalf("wrong passwords at enroll: got %v, want %v", statuses, want)
	}
	expectError(t, r, 429, "Too many attempts. Try again later.")
	// The same account's logins wait too: one count, whatever the path.
	expectError(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}), 429, "Too many attempts. Try again later.")
}
