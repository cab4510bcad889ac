package httpauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sessionList decodes GET /sessions.
type sessionList struct {
	Sessions []struct {
		ID         string `json:"id"`
		DeviceID   string `json:"device_id"`
		Platform   string `json:"platform"`
		AppName    string `json:"app_name"`
		AppVersion string `json:"app_version"`
		Provider   string `json:"provider"`
		Address    string `json:"address"`
		LastUsedAt string `json:"last_used_at"`
		Current    bool   `json:"current"`
	} `json:"sessions"`
}

func (s *server) listSessions(t *testing.T, token string) sessionList {
	t.Helper()
	r := s.do(t, req{method: http.MethodGet, path: "/sessions", bearer: token})
	if r.status != http.StatusOK {
		t.Fatalf("GET /sessions: got %d %q", r.status, r.body)
	}
	var l sessionList
	if err := json.Unmarshal([]byte(r.body), &l); err != nil {
		t.Fatalf("GET /sessions body %q: %v", r.body, err)
	}
	return l
}

// TestSessionsListAndRevoke: each login is a session with the client it
// reported (or its User-Agent); the caller's is marked current; revoking one
// ends it and only it.
func TestSessionsListAndRevoke(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	web := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web"),
		header: map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"}}))
	s.clock.Advance(time.Minute)
	phone := s.expectLogin(t, s.do(t, req{path: "/login",
		body: `{"login":"alice","password":"secret1","device_id":"phone","platform":"ios","platform_version":"17.1","app_name":"chat","app_version":"2.4.0"}`}))

	l := s.listSessions(t, web.AccessToken)
	if len(l.Sessions) != 2 {
		t.Fatalf("sessions: got %+v, want 2", l)
	}
	w, p := l.Sessions[0], l.Sessions[1]
	if w.DeviceID != "web" { // same last-used time (listing touched web): either order
		w, p = p, w
	}
	if p.DeviceID != "phone" || p.Platform != "ios" || p.AppName != "chat" || p.AppVersion != "2.4.0" || p.Provider != "password" || p.Current {
		t.Fatalf("phone session: got %+v", p)
	}
	if w.DeviceID != "web" || w.Platform != "linux" || w.AppName != "Mozilla" || !w.Current || w.Address == "" {
		t.Fatalf("web session: got %+v", w)
	}

	r := s.do(t, req{method: http.MethodDelete, path: "/sessions/" + p.ID, bearer: web.AccessToken})
	if r.status != http.StatusOK || r.body != `{"success":true}` {
		t.Fatalf("DELETE: got %d %q", r.status, r.body)
	}
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/sessions", bearer: phone.AccessToken}), 401, "Authorization token expired")
	if l := s.listSessions(t, web.AccessToken); len(l.Sessions) != 1 || !l.Sessions[0].Current {
		t.Fatalf("after revoke: got %+v, want the web session only", l)
	}
	// Twice, or someone else's, or a made-up id: 404.
	expectError(t, s.do(t, req{method: http.MethodDelete, path: "/sessions/" + p.ID, bearer: web.AccessToken}), 404, "Session not found.")
	s.createUser(t, "bob", "secret2")
	bob := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("bob", "secret2", "b")}))
	expectError(t, s.do(t, req{method: http.MethodDelete, path: "/sessions/" + w.ID, bearer: bob.AccessToken}), 404, "Session not found.")
	expectError(t, s.do(t, req{method: http.MethodDelete, path: "/sessions/nope", bearer: web.AccessToken}), 404, "Session not found.")
	expectError(t, s.do(t, req{method: http.MethodPost, path: "/sessions", bearer: web.AccessToken}), 404, "Route not found")
}

// TestCurrentSession: GET /sessions/current and /me return the user and the
// session; the 401s tell a missing, invalid or expired token and a deleted
// user apart.
func TestCurrentSession(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}))
	for _, path := range []string{"/sessions/current", "/me"} {
		r := s.do(t, req{method: http.MethodGet, path: path, bearer: ok.AccessToken})
		var got struct {
			User    map[string]any `json:"user"`
			Session struct {
				DeviceID string `json:"device_id"`
				Current  bool   `json:"current"`
			} `json:"session"`
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil || got.User["login"] != "alice" ||
			got.Session.DeviceID != "web" || !got.Session.Current {
			t.Fatalf("GET %s: got %d %s", path, r.status, r.body)
		}
		if _, leaked := got.User["password_hash"]; leaked {
			t.Fatalf("GET %s leaked a hash: %s", path, r.body)
		}
	}
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/me"}), 401, "Missing authentication credentials.")
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/me", bearer: "not.a.token"}), 401, "Authorization token invalid")
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/me", bearer: ok.refresh}), 401, "Authorization token invalid")

	s.clock.Advance(s.accessTTL + time.Second)
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/me", bearer: ok.AccessToken}), 401, "Authorization token expired")

	// (expectLogin checks expired_at against the real clock, which this
	// test moved past; the token is checked by the next calls instead.)
	var fresh loginOK
	if err := json.Unmarshal([]byte(s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}).body), &fresh); err != nil {
		t.Fatal(err)
	}
	p, _, err := s.svc.Bearer(context.Background(), fresh.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.DeleteUser(context.Background(), *p); err != nil {
		t.Fatal(err)
	}
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/me", bearer: fresh.AccessToken}), 401, "User not found")
}

// TestLogoutScopes: scope "others" ends every session but the caller's,
// "all" (or ?global=true) ends every one and clears the cookie; a bad scope
// is a 422 naming the field.
func TestLogoutScopes(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	login := func(dev string) loginOK {
		return s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", dev)}))
	}
	a, b, c := login("a"), login("b"), login("c")

	r := s.do(t, req{path: "/logout", bearer: a.AccessToken, body: `{"scope":"bogus"}`})
	if r.status != 422 {
		t.Fatalf("bad scope: got %d %q, want 422", r.status, r.body)
	}
	r = s.do(t, req{path: "/logout", bearer: a.AccessToken, body: `{"scope":"others"}`})
	if r.status != 200 || r.body != `{"success":true,"ended":2}` || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("others: got %d %q %v", r.status, r.body, r.header.Values("Set-Cookie"))
	}
	for _, x := range []loginOK{b, c} {
		expectError(t, s.do(t, req{method: http.MethodGet, path: "/me", bearer: x.AccessToken}), 401, "Authorization token expired")
	}
	if l := s.listSessions(t, a.AccessToken); len(l.Sessions) != 1 || !l.Sessions[0].Current {
		t.Fatalf("after others: got %+v", l)
	}

	d := login("d")
	r = s.do(t, req{path: "/logout?global=true", bearer: d.AccessToken})
	if r.status != 200 || r.body != `{"success":true,"ended":2}` {
		t.Fatalf("global: got %d %q", r.status, r.body)
	}
	if c := r.cookie(t, "refresh_token"); c.MaxAge >= 0 {
		t.Fatalf("global logout kept the cookie: %v", r.header.Values("Set-Cookie"))
	}
	for _, x := range []loginOK{a, d} {
		expectError(t, s.do(t, req{method: http.MethodGet, path: "/me", bearer: x.AccessToken}), 401, "Authorization token expired")
	}
}

// TestCheckToken: Kuzzle's check-token tells valid, expired, invalid and
// user-gone apart; using a token moves its session's last-used time.
func TestCheckToken(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "web")}))
	check := func(path, token, want string) {
		t.Helper()
		r := s.do(t, req{path: path, body: `{"token":"` + token + `"}`})
		if r.status != 200 || !strings.HasPrefix(r.body, want) {
			t.Fatalf("%s: got %d %q, want %s...", path, r.status, r.body, want)
		}
	}
	check("/check-token", ok.AccessToken, `{"valid":true,"expires_at":`)
	check("/_checkToken", "junk", `{"valid":false,"state":"Invalid token"}`)
	check("/check-token", ok.refresh, `{"valid":false,"state":"Invalid token"}`)
	if r := s.do(t, req{path: "/check-token", body: `{}`}); r.status != 422 {
		t.Fatalf("no token: got %d %q", r.status, r.body)
	}

	before := s.listSessions(t, ok.AccessToken).Sessions[0]
	s.clock.Advance(2 * time.Minute)
	s.do(t, req{method: http.MethodGet, path: "/me", bearer: ok.AccessToken})
	after := s.listSessions(t, ok.AccessToken).Sessions[0]
	if after.LastUsedAt == before.LastUsedAt {
		t.Fatalf("last_used_at did not move: %q", after.LastUsedAt)
	}
	s.clock.Advance(s.accessTTL)
	check("/check-token", ok.AccessToken, `{"valid":false,"state":"Token expired"}`)
}
