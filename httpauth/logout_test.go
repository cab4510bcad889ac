package httpauth_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestLogout(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}))

	r := s.do(t, req{path: "/logout", bearer: ok.AccessToken, refresh: ok.refresh})
	if r.status != http.StatusOK || r.body != `{"success":true}` {
		t.Fatalf("logout: got %d %q, want 200 {\"success\":true}", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("logout Content-Type: got %q, want application/json", ct)
	}
	c := r.cookie(t, "refresh_token")
	if raw := r.header.Get("Set-Cookie"); !strings.Contains(raw, "Max-Age=0") {
		t.Fatalf("Set-Cookie: got %q, want Max-Age=0", raw)
	}
	if c.Value != "" || c.MaxAge >= 0 || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cleared cookie: got %q, want an empty HttpOnly Secure SameSite=Lax Path=/ cookie with Max-Age=0", r.header.Get("Set-Cookie"))
	}

	// The session is gone: neither token logs in again.
	expectError(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, bearer: ok.AccessToken}), 422, "The token has expired.")
	if r := s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: ok.refresh}); r.status != 422 {
		t.Fatalf("refresh after logout: got %d %q, want 422", r.status, r.body)
	}
	// Logging out twice fails.
	expectError(t, s.do(t, req{path: "/logout", bearer: ok.AccessToken, refresh: ok.refresh}), 401, "Missing authentication credentials.")
}

func TestLogoutErrors(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	d1 := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}))
	d2 := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d2")}))

	tests := []struct {
		name    string
		rq      req
		status  int
		message string
	}{
		{"no access token", req{refresh: d1.refresh}, 401, "Missing authentication credentials."},
		{"garbage access token", req{bearer: "garbage", refresh: d1.refresh}, 401, "Missing authentication credentials."},
		{"refresh token as access token", req{bearer: d1.refresh, refresh: d1.refresh}, 401, "Missing authentication credentials."},
		{"no cookie", req{bearer: d1.AccessToken}, 422, "Incorrect token."},
		{"garbage cookie", req{bearer: d1.AccessToken, refresh: "garbage"}, 422, "Incorrect token."},
		{"cookie of another device", req{bearer: d1.AccessToken, refresh: d2.refresh}, 422, "Incorrect token."},
		{"GET is not a route", req{method: http.MethodGet, bearer: d1.AccessToken, refresh: d1.refresh}, 404, "Route not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.path = "/logout"
			r := s.do(t, tt.rq)
			expectError(t, r, tt.status, tt.message)
			if got := r.header.Values("Set-Cookie"); len(got) != 0 {
				t.Fatalf("Set-Cookie on error: got %q, want none", got)
			}
		})
	}
	// None of the failures ended a session.
	s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, bearer: d1.AccessToken}))
	s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d2"}`, bearer: d2.AccessToken}))
}
