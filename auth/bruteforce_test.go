package auth_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/auth/totp"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// outcomes counts how attempts ended.
type outcomes struct {
	mu   sync.Mutex
	seen map[string]int
}

func (o *outcomes) add(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]int{}
	}
	o.seen[outcome(err)]++
}

func (o *outcomes) get(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[k]
}

// outcome names an attempt's result: "ok", the wire status ("401",
// "429", ...) or the error text.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if _, ok := errors.AsType[*auth.SelectAccountError](err); ok {
		return "select"
	}
	we := protocol.ToWire(err)
	if we == protocol.ErrInternal {
		return err.Error()
	}
	return map[int]string{401: "401", 403: "403", 404: "404", 422: "422", 429: "429", 503: "503"}[we.Status]
}

// parallel runs n calls of f at once and counts their outcomes.
func parallel(n int, f func(i int) error) *outcomes {
	var o outcomes
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { o.add(f(i)) })
	}
	wg.Wait()
	return &o
}

// enableTOTP enrolls and confirms TOTP for g's user and returns the secret
// and the recovery codes; the clock then moves past the confirming step.
func (e *env) enableTOTP(t *testing.T, g *auth.Grant) (string, []string) {
	t.Helper()
	en, err := e.svc.EnrollTOTP(ctx, g.Principal, "pw-"+g.User.Login, "")
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.svc.ConfirmTOTP(ctx, g.Principal, e.code(t, en.Secret))
	if err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Second)
	return en.Secret, codes
}

// code is the TOTP code of secret now.
func (e *env) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.Code(secret, e.clock(), totp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a six-digit code that is not right now (nor a step away).
func (e *env) wrongCode(t *testing.T, secret string) string {
	t.Helper()
	near := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, _ := totp.Code(secret, e.clock().Add(d), totp.Config{})
		near[c] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !near[c] {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// TestSecondFactorGuessing (item 1): with the right password, wrong codes
// count under the user's own second-factor key, which the correct
// password does not reset: 200 concurrent guesses get 5 checks (401), the
// rest 429, and the right code is refused until the lock lifts.
func TestSecondFactorGuessing(t *testing.T) {
	e := newEnv(t, nil) // default limits: 5 second-factor failures per 5 min, 50 per address
	e.user(t, "alice")
	secret, _ := e.enableTOTP(t, e.login(t, "alice", "setup"))
	wrong := e.wrongCode(t, secret)
	start := time.Now()
	o := parallel(200, func(i int) error {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d",
			Addr: "10.9.0." + string(rune('1'+i%8)), Code: wrong})
		return err
	})
	took := time.Since(start)
	_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d", Code: e.code(t, secret)})
	t.Logf("200 right-password/wrong-code logins in %v: %d codes checked (401), %d answered 429; the right code then: %s",
		took.Round(time.Millisecond), o.get("401"), o.get("429"), outcome(err))
	if o.get("401") != 5 || o.get("429") != 195 {
		t.Fatalf("got %v; want 5 × 401 and 195 × 429", o.seen)
	}
	if _, blocked := errors.AsType[*auth.ThrottledError](err); !blocked {
		t.Fatalf("the right code while locked: got %v, want 429", err)
	}
	h0 := e.svc.Hashes()
	for range 20 {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d", Code: wrong})
		wantErr(t, "while locked", err, protocol.ErrTooManyRequest)
	}
	t.Logf("20 more right-password logins while the second factor is locked: %d password hashes", e.svc.Hashes()-h0)
	if n := e.svc.Hashes() - h0; n != 0 {
		t.Fatalf("a locked second factor let %d password hashes run, want 0", n)
	}
	e.advance(6 * time.Minute)
	if _, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d",
		Code: e.code(t, secret)}); err != nil {
		t.Fatalf("the right code after the lock: %v", err)
	}
}

// TestSecondFactorSequential (item 1, the reported case): 12
// right-password/wrong-code tries with an account limit of 5 used to give
// 12 × 401; now the sixth is refused.
func TestSecondFactorSequential(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = auth.ThrottleConfig{PerAccount: 5, SecondFactor: 5, Window: time.Minute, Block: time.Minute}
	})
	e.user(t, "alice")
	secret, _ := e.enableTOTP(t, e.login(t, "alice", "setup"))
	var got []string
	for range 12 {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d",
			Code: e.wrongCode(t, secret)})
		got = append(got, outcome(err))
	}
	t.Logf("12 right-password/wrong-code tries, limit 5: %s", strings.Join(got, " "))
	if strings.Count(strings.Join(got, " "), "401") != 5 || got[5] != "429" || got[11] != "429" {
		t.Fatalf("got %v; want 5 × 401 then 429", got)
	}
}

// TestSelectionTokenOnce (item 1): a selection token works once. Guesses
// of the selected account's code through one token: the first spends it,
// the rest are refused without a check, so the code is checked once.
func TestSelectionTokenOnce(t *testing.T) {
	e := newEnv(t, nil)
	acme, err := e.svc.CreateOrganization(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	e.user(t, "pat")
	if _, err := e.svc.CreateUser(ctx, auth.NewUser{OrgID: acme.ID, Login: "pat", Password: "pw-pat"}); err != nil {
		t.Fatal(err)
	}
	g, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{OrgID: acme.ID, Login: "pat", Password: "pw-pat", DeviceID: "d"})
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := e.enableTOTP(t, g)
	selection := func() string {
		t.Helper()
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "pat", Password: "pw-pat", DeviceID: "d"})
		sel, ok := errors.AsType[*auth.SelectAccountError](err)
		if !ok {
			t.Fatalf("login without organization: got %v, want select_account", err)
		}
		return sel.Token
	}
	token := selection()
	complete := func(tok, code string) error {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{OrgID: acme.ID, SelectionToken: tok, DeviceID: "d", Code: code})
		return err
	}
	wantErr(t, "no code", complete(token, ""), auth.ErrTOTPRequired) // asking spends nothing
	wrong := e.wrongCode(t, secret)
	o := parallel(200, func(int) error { return complete(token, wrong) })
	err = complete(token, e.code(t, secret))
	t.Logf("200 concurrent wrong codes through one selection token: %d checked (401), %d refused as spent (422); "+
		"the right code with it then: %s", o.get("401"), o.get("422"), outcome(err))
	if o.get("401") != 1 || o.get("422") != 199 {
		t.Fatalf("got %v; want 1 × 401 and 199 × 422", o.seen)
	}
	if outcome(err) != "422" {
		t.Fatalf("the right code with a spent token: got %v, want 422", err)
	}
	if err := complete(selection(), e.code(t, secret)); err != nil {
		t.Fatalf("the right code with a fresh token: %v", err)
	}
}

// TestConcurrentWrongPasswords (item 2): the attempt is reserved before
// the hash, atomically: 60 concurrent wrong passwords with an account limit
// of 5 run 5 hashes; the other 55 are answered 429 at once.
func TestConcurrentWrongPasswords(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = auth.ThrottleConfig{PerAccount: 5, PerAddress: 1000, Window: time.Minute, Block: time.Minute}
	})
	e.user(t, "alice")
	h0 := e.svc.Hashes()
	start := time.Now()
	o := parallel(60, func(int) error {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "guess", DeviceID: "d", Addr: "10.0.0.1"})
		return err
	})
	hashes := e.svc.Hashes() - h0
	t.Logf("60 concurrent wrong passwords, limit 5, in %v: %d hashes, %d × 401, %d × 429",
		time.Since(start).Round(time.Millisecond), hashes, o.get("401"), o.get("429"))
	if hashes != 5 || o.get("401") != 5 || o.get("429") != 55 {
		t.Fatalf("got %d hashes and %v; want 5 hashes, 5 × 401, 55 × 429", hashes, o.seen)
	}
}

// TestIdentifierVariantsShareBucket (item 2): the account limit is keyed
// by the resolved account, so its login, e-mail, userId, any case, with or
// without organization_id all count in one bucket.
func TestIdentifierVariantsShareBucket(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = auth.ThrottleConfig{PerAccount: 5, PerAddress: 1000, Window: time.Minute, Block: time.Minute}
	})
	u := e.user(t, "alice")
	variants := []auth.PasswordLogin{
		{Login: "alice"},
		{Login: "ALICE@X.IO"},
		{UserID: u.ID},
		{OrgID: store.DefaultOrg, Login: "Alice"},
		{OrgID: store.DefaultOrg, UserID: u.ID},
		{Login: "alice@x.io"},
		{OrgID: store.DefaultOrg, Login: "aLiCe@x.io"},
	}
	var got []string
	for i, v := range variants {
		v.Password, v.DeviceID = "guess", "d"
		if i == len(variants)-1 {
			v.Password = "pw-alice" // the right password, once the bucket is full
		}
		_, err := e.svc.LoginPassword(ctx, v)
		got = append(got, outcome(err))
	}
	t.Logf("wrong passwords through login, e-mail, userId, other case, with and without organization_id, limit 5: %s",
		strings.Join(got, " "))
	if want := "401 401 401 401 401 429 429"; strings.Join(got, " ") != want {
		t.Fatalf("got %s; want %s", strings.Join(got, " "), want)
	}
}

// TestPasswordOracles (item 3): a holder of a stolen access token cannot
// guess the password through user_edit's current_password, nor codes
// through /2fa/totp/disable: both count like logins.
func TestPasswordOracles(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle = auth.ThrottleConfig{PerAccount: 5, SecondFactor: 5, PerAddress: 1000, Window: time.Minute, Block: time.Minute}
	})
	e.user(t, "alice")
	g := e.login(t, "alice", "stolen")
	newPW := "taken-over"
	var edits []string
	for i := range 12 {
		cur := "guess-" + string(rune('a'+i))
		if i == 11 {
			cur = "pw-alice"
		}
		_, err := e.svc.EditUser(ctx, g.Principal, auth.UserEdit{CurrentPassword: &cur, NewPassword: &newPW, Addr: "10.1.1.1"})
		edits = append(edits, outcome(err))
	}
	t.Logf("12 current_password guesses with a stolen token, limit 5 (the last one right): %s", strings.Join(edits, " "))
	if strings.Join(edits[:6], " ") != "401 401 401 401 401 429" || edits[11] != "429" {
		t.Fatalf("got %v; want 5 × 401 (wrong current password) then 429", edits)
	}
	// The same account bucket holds logins too.
	_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d"})
	wantErr(t, "login after the guesses", err, protocol.ErrTooManyRequest)

	e.advance(2 * time.Minute)
	secret, _ := e.enableTOTP(t, e.login(t, "alice", "owner"))
	var disables []string
	for i := range 8 {
		code := e.wrongCode(t, secret)
		if i == 7 {
			code = e.code(t, secret)
		}
		disables = append(disables, outcome(e.svc.DisableTOTP(ctx, g.Principal, code, "10.1.1.1")))
	}
	t.Logf("8 /2fa/totp/disable code guesses with a stolen token, limit 5 (the last one right): %s", strings.Join(disables, " "))
	if strings.Join(disables, " ") != "401 401 401 401 401 429 429 429" {
		t.Fatalf("got %v; want 5 × 401 then 429", disables)
	}
}

// TestRecoveryCodes (item 4): codes are 20 symbols, stored as salted
// password hashes found by selector, each works once, and guessing them
// counts as second-factor failures.
func TestRecoveryCodes(t *testing.T) {
	e := newEnv(t, nil)
	e.user(t, "alice")
	g := e.login(t, "alice", "setup")
	_, codes := e.enableTOTP(t, g)
	if len(codes) != 10 || len(totp.NormalizeRecoveryCode(codes[0])) != 20 {
		t.Fatalf("codes: got %d of %q, want 10 of 20 symbols", len(codes), codes[0])
	}
	sel, _ := totp.RecoverySelector(codes[2])
	stored, err := e.db.RecoveryCode(ctx, g.Principal.UserID, sel)
	if err != nil || !strings.HasPrefix(stored, "$argon2id$") || strings.Contains(stored, totp.NormalizeRecoveryCode(codes[2])[5:]) {
		t.Fatalf("stored code: got %q, %v; want an argon2id hash", stored, err)
	}
	login := func(code string) error {
		_, err := e.svc.LoginPassword(ctx, auth.PasswordLogin{Login: "alice", Password: "pw-alice", DeviceID: "d", Code: code})
		return err
	}
	if err := login(strings.ToUpper(codes[2])); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	wantErr(t, "used twice", login(codes[2]), auth.ErrTOTPInvalid)
	// A guess with a real selector and a wrong rest, then made-up codes:
	// each is a second-factor failure; the fifth locks.
	forged := codes[3][:6] + "22222-22222-22222"
	var got []string
	for _, c := range []string{forged, "zzzzz-zzzzz-zzzzz-zzzzz", "abcde-fghjk", "not a code", codes[4]} {
		got = append(got, outcome(login(c)))
	}
	t.Logf("recovery code guesses after a used one (default limit 5, 1 already failed): %s", strings.Join(got, " "))
	if strings.Join(got, " ") != "401 401 401 401 429" {
		t.Fatalf("got %v; want 4 × 401 then 429 even for a right code", got)
	}
}
