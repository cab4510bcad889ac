package httpauth_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// reply is one HTTP answer, read in full.
type reply struct {
	status int
	header http.Header
	body   string
}

// cookie returns the Set-Cookie for name, failing unless there is exactly one
// Set-Cookie header and it names name.
func (r reply) cookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	if got := len(r.header.Values("Set-Cookie")); got != 1 {
		t.Fatalf("Set-Cookie headers: got %d (%q), want 1", got, r.header.Values("Set-Cookie"))
	}
	c, err := http.ParseSetCookie(r.header.Get("Set-Cookie"))
	if err != nil {
		t.Fatalf("parse Set-Cookie %q: %v", r.header.Get("Set-Cookie"), err)
	}
	if c.Name != name {
		t.Fatalf("cookie name: got %q, want %q", c.Name, name)
	}
	return c
}

// loginOK is the decoded body of a successful /login.
type loginOK struct {
	User        map[string]any `json:"user"`
	AccessToken string         `json:"access_token"`
	ExpiredAt   int64          `json:"expired_at"`
	refresh     string
}

// req describes one request; zero fields are left out.
type req struct {
	method      string // default POST
	path        string
	body        string
	contentType string // default application/json when body is set
	bearer      string
	refresh     string // refresh_token cookie value
	origin      string
	header      map[string]string
}

// do sends rq to the test server and reads the reply.
func (s *server) do(t *testing.T, rq req) reply {
	t.Helper()
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequestWithContext(t.Context(), method, s.url+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	switch {
	case rq.contentType != "":
		hr.Header.Set("Content-Type", rq.contentType)
	case rq.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	if rq.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+rq.bearer)
	}
	if rq.refresh != "" {
		hr.AddCookie(&http.Cookie{Name: "refresh_token", Value: rq.refresh})
	}
	if rq.origin != "" {
		hr.Header.Set("Origin", rq.origin)
	}
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	resp, err := s.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read reply of %s %s: %v", method, rq.path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// expectError asserts a SAMA HTTP error: the status and a text/plain body
// that is exactly the message.
func expectError(t *testing.T, r reply, status int, message string) {
	t.Helper()
	if r.status != status || r.body != message {
		t.Fatalf("got %d %q, want %d %q", r.status, r.body, status, message)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("error Content-Type: got %q, want text/plain", ct)
	}
}

// expectLogin asserts a successful /login reply and returns it with the new
// refresh token from its one cookie.
func (s *server) expectLogin(t *testing.T, r reply) loginOK {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("login: got %d %q, want 200", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("login Content-Type: got %q, want application/json", ct)
	}
	var ok loginOK
	if err := json.Unmarshal([]byte(r.body), &ok); err != nil {
		t.Fatalf("login body %q: %v", r.body, err)
	}
	if ok.User["_id"] == nil || ok.User["login"] == nil {
		t.Fatalf("login user: got %v, want _id and login", ok.User)
	}
	if strings.Count(ok.AccessToken, ".") != 2 {
		t.Fatalf("access_token: got %q, want a JWT", ok.AccessToken)
	}
	now := time.Now()
	exp := time.UnixMilli(ok.ExpiredAt)
	if exp.Before(now) || exp.After(now.Add(s.accessTTL+time.Minute)) {
		t.Fatalf("expired_at: got %v (%d ms), want within %v of now %v", exp, ok.ExpiredAt, s.accessTTL, now)
	}
	c := r.cookie(t, "refresh_token")
	if c.Value == "" {
		t.Fatalf("refresh_token cookie: got empty value")
	}
	ok.refresh = c.Value
	return ok
}

// passwordBody is a /login body for a password login on device dev.
func passwordBody(login, password, dev string) string {
	b, _ := json.Marshal(map[string]string{"login": login, "password": password, "device_id": dev})
	return string(b)
}
