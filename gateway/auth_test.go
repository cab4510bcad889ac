package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/auth/totp"
	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/internal/testenv"
)

const userPattern = `{"...":true,"_id":"<string>","native_id":"<string>","login":"<string>","created_at":"<string>","updated_at":"<string>"}`

func TestUserCreateTranscript(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial(t)
	c.roundTrip(`{"request":{"user_create":{"login":"alice","password":"secret1","email":"alice"},"id":"1"}}`,
		`{"response":{"id":"1","user":`+userPattern+`}}`)
	steps := []struct{ name, params, want string }{
		{"same login other case", `{"login":"ALICE","password":"secret1"}`, `{"status":422,"message":"The provided data is already associated with an existing user account.","errors":{"login":["The provided data is already associated with an existing user account."]}}`},
		{"same email other case", `{"login":"alice2","password":"secret1","email":"ALICE"}`, `{"status":422,"message":"The provided data is already associated with an existing user account.","errors":{"login":["The provided data is already associated with an existing user account."]}}`},
		{"short login", `{"login":"al","password":"secret1"}`, `{"...":true,"status":422,"message":"The login provided is incorrect.","errors":{"login":["The login provided is incorrect."]}}`},
		{"long login", `{"login":"` + strings.Repeat("a", 41) + `","password":"secret1"}`, `{"...":true,"status":422,"message":"The login provided is incorrect.","errors":{"login":["The login provided is incorrect."]}}`},
		{"missing login", `{"password":"secret1"}`, `{"...":true,"status":422,"message":"The login provided is incorrect.","errors":{"login":["The login provided is incorrect."]}}`},
		{"short password", `{"login":"bob","password":"12"}`, `{"...":true,"status":422,"message":"The password entered is incorrect.","errors":{"password":["The password entered is incorrect."]}}`},
		{"unknown organization", `{"login":"bob","password":"secret1","organization_id":"nope"}`, `{"status":404,"message":"Organization not found"}`},
		{"login of wrong type", `{"login":5,"password":"secret1"}`, `{"...":true,"status":422,"message":"<string>"}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(`{"request":{"user_create":`+s.params+`,"id":"e"}}`, `{"response":{"id":"e","error":`+s.want+`}}`)
		})
	}
	c.t = t
	c.roundTrip(`{"request":{"user_create":{"login":"carol","password":"secret1","phone":"12345","organization_id":"default"},"id":"2"}}`,
		`{"response":{"id":"2","user":`+userPattern+`}}`)
	c.roundTrip(`{"request":{"user_create":{"login":"dave","password":"secret1","phone":12345},"id":"3"}}`,
		`{"response":{"id":"3","error":{"status":422,"message":"The provided data is already associated with an existing user account.","errors":{"login":["The provided data is already associated with an existing user account."]}}}}`)
}

func TestUserLoginTranscript(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	c := n.dial(t)
	steps := []struct{ name, params, want string }{
		{"unknown login", `{"login":"nobody","password":"x12","device_id":"d1"}`, `{"status":401,"message":"Incorrect username or password."}`},
		{"wrong password", `{"login":"alice","password":"wrong","device_id":"d1"}`, `{"status":401,"message":"Incorrect username or password."}`},
		{"missing device", `{"login":"alice","password":"` + a.password + `"}`, `{"status":422,"message":"'device_id' is required.","errors":{"device_id":["'device_id' is required."]}}`},
		{"missing password", `{"login":"alice","device_id":"d1"}`, `{"status":422,"message":"The 'login' or 'password' field is missing.","errors":{"login":["The 'login' or 'password' field is missing."],"password":["The 'login' or 'password' field is missing."]}}`},
		{"bad token", `{"token":"not-a-jwt","device_id":"d1"}`, `{"status":422,"message":"Incorrect token.","errors":{"token":["Incorrect token."]}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(`{"request":{"user_login":`+s.params+`,"id":"e"}}`, `{"response":{"id":"e","error":`+s.want+`}}`)
		})
	}
	c.t = t
	got := c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"organization_id":"default","login":"ALICE","password":%q,"device_id":1234},"id":"ok"}}`, a.password),
		`{"response":{"id":"ok","user":`+userPattern+`,"token":"<string>"}}`)
	tok := str(t, got, "response.token")
	if str(t, got, "response.user._id") != a.id {
		t.Fatalf("user_login: got user %s, want %s", str(t, got, "response.user._id"), a.id)
	}
	// The socket is bound now.
	c.roundTrip(`{"request":{"get_users_by_ids":{"ids":["`+a.id+`"]},"id":"g"}}`, `{"response":{"id":"g","users":[`+userPattern+`]}}`)

	// Token variant on another socket, numeric device id stringified the same way.
	c2 := n.dial(t)
	got = c2.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"token":%q,"device_id":"1234"},"id":"tv"}}`, tok),
		`{"response":{"id":"tv","user":`+userPattern+`,"token":"<string>"}}`)
	c2.roundTrip(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":1234},"id":"cv"}}`, str(t, got, "response.token")),
		`{"response":{"id":"cv","success":true}}`)
	// A token is bound to its device.
	c2.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"token":%q,"device_id":"other"},"id":"od"}}`, tok),
		`{"response":{"id":"od","error":{"status":422,"message":"Incorrect token.","errors":{"token":["Incorrect token."]}}}}`)
}

func TestConnectTranscript(t *testing.T) {
	clock := clocktest.New()
	n := startNode(t, func(c *app.Config) { c.Auth.Now = clock.Now; c.Auth.AccessTTL = time.Hour })
	a := n.signUp(t, "alice")
	tok, _ := n.token(t, a, "web")
	c := n.dial(t)
	steps := []struct{ name, params, want string }{
		{"missing device", `{"token":"` + tok + `"}`, `{"status":422,"message":"'device_id' is required.","errors":{"device_id":["'device_id' is required."]}}`},
		{"missing token", `{"device_id":"web"}`, `{"...":true,"status":422,"message":"'token' field is required."}`},
		{"garbage token", `{"token":"a.b.c","device_id":"web"}`, `{"status":422,"message":"Incorrect token.","errors":{"token":["Incorrect token."]}}`},
		{"other device", `{"token":"` + tok + `","device_id":"phone"}`, `{"status":422,"message":"Incorrect token.","errors":{"token":["Incorrect token."]}}`},
		{"tampered token", `{"token":"` + tamper(tok) + `","device_id":"web"}`, `{"status":422,"message":"Incorrect token.","errors":{"token":["Incorrect token."]}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(`{"request":{"connect":`+s.params+`,"id":"e"}}`, `{"response":{"id":"e","error":`+s.want+`}}`)
		})
	}
	c.t = t
	c.roundTrip(`{"request":{"connect":{"token":"`+tok+`","device_id":"web"},"id":"ok"}}`, `{"response":{"id":"ok","success":true}}`)

	clock.Advance(2 * time.Hour)
	c2 := n.dial(t)
	c2.roundTrip(`{"request":{"connect":{"token":"`+tok+`","device_id":"web"},"id":"x"}}`,
		`{"response":{"id":"x","error":{"status":422,"message":"The token has expired.","errors":{"token":["The token has expired."]}}}}`)
}

// TestTwoSocketsOneDevice: tabs of one browser share the device id; all stay
// bound (no kick loops).
func TestTwoSocketsOneDevice(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	tok, _ := n.token(t, a, "browser")
	s1 := n.connectWith(t, tok, "browser")
	s2 := n.connectWith(t, tok, "browser")
	for i, s := range []*client{s1, s2, s1} {
		s.roundTrip(fmt.Sprintf(`{"request":{"get_users_by_ids":{"ids":[%q]},"id":"%d"}}`, a.id, i),
			fmt.Sprintf(`{"response":{"id":"%d","users":[%s]}}`, i, userPattern))
	}
}

// TestRebind: a second connect on a bound socket re-binds it to the new
// user; logging the old user out no longer touches it.
func TestRebind(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	b := n.signUp(t, "bob")
	s := n.connected(t, a, "shared-device")
	tokB, _ := n.token(t, b, "shared-device")
	s.roundTrip(`{"request":{"connect":{"token":"`+tokB+`","device_id":"shared-device"},"id":"rb"}}`, `{"response":{"id":"rb","success":true}}`)

	// alice logs out her shared-device session from another socket.
	other := n.connected(t, a, "shared-device")
	other.roundTrip(`{"request":{"user_logout":{},"id":"lo"}}`, `{"response":{"id":"lo","success":true}}`)

	// s is bob's now and stays open and bound.
	got := s.roundTrip(`{"request":{"user_search":{"keyword":"ali"},"id":"q"}}`, `{"response":{"id":"q","users":[`+userPattern+`]}}`)
	if id := got["response"].(map[string]any)["users"].([]any)[0].(map[string]any)["_id"]; id != a.id {
		t.Fatalf("search as bob: got %v, want alice %s", id, a.id)
	}
}

// TestLogoutUnbindsLiveSockets: user_logout ends the device session: the
// caller's socket stays open unauthenticated, the device's other sockets are
// closed with 4100, other devices are untouched; HTTP /logout does the same.
func TestLogoutUnbindsLiveSockets(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	tok, _ := n.token(t, a, "laptop")
	s1 := n.connectWith(t, tok, "laptop")
	s2 := n.connectWith(t, tok, "laptop")
	phoneTok, phoneResp := n.token(t, a, "phone")
	s3 := n.connectWith(t, phoneTok, "phone")

	s1.roundTrip(`{"request":{"user_logout":{},"id":"lo"}}`, `{"response":{"id":"lo","success":true}}`)
	s1.roundTrip(`{"request":{"user_logout":{},"id":"lo2"}}`, `{"response":{"id":"lo2","error":{"status":401,"message":"Unauthorized."}}}`)
	s2.expectClose(4100)
	s3.roundTrip(`{"request":{"get_users_by_ids":{"ids":["`+a.id+`"]},"id":"alive"}}`, `{"response":{"id":"alive","users":[`+userPattern+`]}}`)
	// The laptop token is dead.
	n.dial(t).roundTrip(`{"request":{"connect":{"token":"`+tok+`","device_id":"laptop"},"id":"x"}}`,
		`{"response":{"id":"x","error":{"status":422,"message":"The token has expired.","errors":{"token":["The token has expired."]}}}}`)

	// HTTP /logout of the phone session closes its live socket too.
	req, _ := http.NewRequest(http.MethodPost, n.base+"/logout", nil)
	req.Header.Set("Authorization", "Bearer "+phoneTok)
	for _, ck := range phoneResp.Cookies() {
		req.AddCookie(ck)
	}
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /logout: got %d, want 200", resp.StatusCode)
	}
	s3.expectClose(4100)
}

// TestUserDeleteClosesOtherSockets: the deleting socket stays open and
// unauthenticated; the user's other sockets are closed with 4101; the
// account can no longer log in.
func TestUserDeleteClosesOtherSockets(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	s1 := n.connected(t, a, "laptop")
	s2 := n.connected(t, a, "phone")
	s1.roundTrip(`{"request":{"user_delete":{},"id":"del"}}`, `{"response":{"id":"del","success":true}}`)
	s2.expectClose(4101)
	s1.roundTrip(`{"request":{"user_delete":{},"id":"again"}}`, `{"response":{"id":"again","error":{"status":401,"message":"Unauthorized."}}}`)
	s1.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"login":%q,"password":%q,"device_id":"d"},"id":"l"}}`, a.login, a.password),
		`{"response":{"id":"l","error":{"status":401,"message":"Incorrect username or password."}}}`)
	_ = websocket.StatusNormalClosure
}

// TestRestartKeepsTokens: the signing key and the sessions live in the data
// dir (or, in a cluster, in PostgreSQL), so a token issued before a restart
// still connects after it.
func TestRestartKeepsTokens(t *testing.T) {
	dir := t.TempDir()
	keep := func(c *app.Config) { c.DataDir = dir }
	if os.Getenv(clusterEnv) == "1" {
		db := testenv.Database(t)
		keep = func(c *app.Config) { c.DatabaseURL = db }
	}
	n1 := startNode(t, keep)
	a := n1.signUp(t, "alice")
	tok, _ := n1.token(t, a, "laptop")
	if err := n1.app.Close(); err != nil {
		t.Fatal(err)
	}
	n2 := startNode(t, keep)
	n2.connectWith(t, tok, "laptop")
}

// TestThrottleSharedWithHTTP: failures over websocket user_login and HTTP
// /login count against one throttle per account; a blocked account gets a
// clear 429 on both, even with the right password.
func TestThrottleSharedWithHTTP(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Auth.Throttle.PerAccount = 3 })
	a := n.signUp(t, "alice")
	c := n.dial(t)
	for i := range 2 {
		c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"login":"alice","password":"bad","device_id":"d"},"id":"%d"}}`, i),
			fmt.Sprintf(`{"response":{"id":"%d","error":{"status":401,"message":"Incorrect username or password."}}}`, i))
	}
	if status, _, _ := n.httpLogin(t, `{"login":"alice","password":"bad","device_id":"d"}`, nil); status != 401 {
		t.Fatalf("third failure over HTTP: got %d, want 401", status)
	}
	status, body, resp := n.httpLogin(t, fmt.Sprintf(`{"login":"alice","password":%q,"device_id":"d"}`, a.password), nil)
	if status != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("blocked HTTP login: got %d %q Retry-After %q, want 429 with Retry-After", status, body, resp.Header.Get("Retry-After"))
	}
	c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"login":"alice","password":%q,"device_id":"d"},"id":"b"}}`, a.password),
		`{"response":{"id":"b","error":{"status":429,"message":"Too many attempts. Try again later."}}}`)
	// Another account is not affected.
	b := n.signUp(t, "bob")
	n.token(t, b, "d")
}

// tamper changes one character in the middle of a JWT's signature. (The
// last character carries padding bits a decoder ignores, so changing it may
// leave the signature bytes as they were.)
func tamper(tok string) string {
	i := strings.LastIndex(tok, ".") + 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// TestSessionMethods: session_list shows the user's sessions with this one
// marked; session_revoke closes the revoked session's socket (4102);
// user_logout {scope:"others"} closes every other session's socket (4100)
// and keeps this one bound; bad input is answered, not fatal.
func TestSessionMethods(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	web := n.connected(t, a, "web")
	phone := n.connected(t, a, "phone")
	tablet := n.connected(t, a, "tablet")

	got := web.roundTrip(`{"request":{"session_list":{},"id":"sl"}}`,
		`{"response":{"id":"sl","sessions":[{"...":true,"current":false},{"...":true,"current":false},{"...":true,"device_id":"web","current":true}]}}`)
	var phoneID string
	for _, x := range got["response"].(map[string]any)["sessions"].([]any) {
		if m := x.(map[string]any); m["device_id"] == "phone" {
			phoneID = m["id"].(string)
		}
	}
	web.roundTrip(fmt.Sprintf(`{"request":{"session_revoke":{"id":%q},"id":"sr"}}`, phoneID), `{"response":{"id":"sr","success":true}}`)
	phone.expectClose(4102)
	web.roundTrip(fmt.Sprintf(`{"request":{"session_revoke":{"id":%q},"id":"again"}}`, phoneID),
		`{"response":{"id":"again","error":{"status":404,"message":"Session not found."}}}`)
	web.roundTrip(`{"request":{"session_revoke":{},"id":"none"}}`,
		`{"response":{"id":"none","error":{"status":422,"message":"'id' is required","errors":{"id":["'id' is required"]}}}}`)
	web.roundTrip(`{"request":{"user_logout":{"scope":"nowhere"},"id":"bad"}}`,
		`{"response":{"id":"bad","error":{"status":422,"message":"'scope' must be one of device, all, others","errors":{"scope":["'scope' must be one of device, all, others"]}}}}`)

	web.roundTrip(`{"request":{"user_logout":{"scope":"others"},"id":"lo"}}`, `{"response":{"id":"lo","success":true}}`)
	tablet.expectClose(4100)
	web.roundTrip(`{"request":{"session_list":{},"id":"sl2"}}`,
		`{"response":{"id":"sl2","sessions":[{"...":true,"device_id":"web","current":true}]}}`)

	phone2 := n.connected(t, a, "phone")
	web.roundTrip(`{"request":{"user_logout":{"scope":"all"},"id":"all"}}`, `{"response":{"id":"all","success":true}}`)
	phone2.expectClose(4100)
	web.roundTrip(`{"request":{"session_list":{},"id":"sl3"}}`, `{"response":{"id":"sl3","error":{"status":401,"message":"Unauthorized."}}}`)
}

// TestUserLoginSelectAccount: the deprecated user_login without
// organization_id answers select_account when the login and password fit
// accounts in two organizations, and binds once one is picked.
func TestUserLoginSelectAccount(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.HTTP.AdminAPIKey = "k" })
	req, _ := http.NewRequest(http.MethodPost, n.base+"/admin/organization", strings.NewReader(`{"name":"Acme"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("admin-api-key", "k")
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var org struct {
		Organization struct {
			ID string `json:"_id"`
		} `json:"organization"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&org); err != nil || org.Organization.ID == "" {
		t.Fatalf("create org: %v", err)
	}
	resp.Body.Close()
	acme := org.Organization.ID
	c := n.dial(t)
	c.roundTrip(`{"request":{"user_create":{"login":"pat","password":"secret1"},"id":"a"}}`, `{"response":{"id":"a","user":{"...":true}}}`)
	c.roundTrip(fmt.Sprintf(`{"request":{"user_create":{"login":"pat","password":"secret1","organization_id":%q},"id":"b"}}`, acme),
		`{"response":{"id":"b","user":{"...":true}}}`)
	got := c.roundTrip(`{"request":{"user_login":{"login":"pat","password":"secret1","device_id":"d"},"id":"l"}}`,
		fmt.Sprintf(`{"response":{"id":"l","select_account":{"accounts":{"default":"Default",%q:"Acme"},"last_login":""},"selection_token":"<string>"}}`, acme))
	c.roundTrip(`{"request":{"online_list":{},"id":"o"}}`, `{"response":{"id":"o","error":{"status":401,"message":"Unauthorized."}}}`)
	tok := str(t, got, "response.selection_token")
	c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"organization_id":%q,"selection_token":%q,"device_id":"d"},"id":"l2"}}`, acme, tok),
		`{"response":{"id":"l2","user":{"...":true,"login":"pat"},"token":"<string>"}}`)
	c.roundTrip(`{"request":{"online_list":{"count":true},"id":"o2"}}`, `{"response":{"id":"o2","count":1}}`)
}

// TestUserLoginTOTP: once TOTP is on, the deprecated user_login with a
// password needs "code" too, as /login does.
func TestUserLoginTOTP(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	tok, _ := n.token(t, a, "web")
	post := func(path, body string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, n.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := n.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		return out
	}
	secret := post("/2fa/totp/enroll", fmt.Sprintf(`{"password":%q}`, a.password))["secret"].(string)
	now := time.Now()
	first, _ := totp.Code(secret, now, totp.Config{})
	post("/2fa/totp/confirm", `{"code":"`+first+`"}`)

	c := n.dial(t)
	login := fmt.Sprintf(`{"request":{"user_login":{"login":%q,"password":%q,"device_id":"d"%%s},"id":"l"}}`, a.login, a.password)
	c.roundTrip(fmt.Sprintf(login, ""), `{"response":{"id":"l","error":{"status":401,"message":"A TOTP code is required (method: totp)."}}}`)
	next, _ := totp.Code(secret, now.Add(30*time.Second), totp.Config{}) // the first step is used up; +1 step is accepted
	c.roundTrip(fmt.Sprintf(login, `,"code":"`+next+`"`), `{"response":{"id":"l","user":{"...":true},"token":"<string>"}}`)
}

// TestUserLoginExpiresIn: user_login takes expiresIn like POST /login; the
// token it returns lives that long; a malformed value names the field.
func TestUserLoginExpiresIn(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	c := n.dial(t)
	got := c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"login":%q,"password":%q,"device_id":"d","expiresIn":"90m"},"id":"l"}}`, a.login, a.password),
		`{"response":{"id":"l","user":{"...":true},"token":"<string>"}}`)
	parts := strings.Split(str(t, got, "response.token"), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Iat, Exp int64 }
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp-claims.Iat != 5400 {
		t.Fatalf("token lifetime: got %d s (%v), want 5400", claims.Exp-claims.Iat, err)
	}
	c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"login":%q,"password":%q,"device_id":"d","expiresIn":"soon"},"id":"b"}}`, a.login, a.password),
		`{"response":{"id":"b","error":{"status":422,"message":"'expiresIn' must be a positive number of milliseconds or a duration like \"12h\", \"7d\", \"90m\"","errors":{"expiresIn":["'expiresIn' must be a positive number of milliseconds or a duration like \"12h\", \"7d\", \"90m\""]}}}}`)
}
