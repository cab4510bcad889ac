package httpauth_test

import (
	"net/http"
	"strings"
	"testing"
)

// expectCORS asserts the credentialed CORS headers for origin.
func expectCORS(t *testing.T, r reply, origin string) {
	t.Helper()
	want := map[string]string{
		"Access-Control-Allow-Origin":      origin,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST, PUT, DELETE, OPTIONS",
		"Access-Control-Allow-Headers":     "Content-Type, Authorization, API-Key, admin-api-key",
		"Vary":                             "Origin",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Fatalf("%s: got %q, want %q", k, got, v)
		}
	}
}

// expectNoCORS asserts that no Access-Control-* header was sent.
func expectNoCORS(t *testing.T, r reply) {
	t.Helper()
	for k := range r.header {
		if len(k) > 15 && k[:15] == "Access-Control-" {
			t.Fatalf("got header %s: %q, want no CORS headers", k, r.header.Get(k))
		}
	}
}

func TestCORSLoopbackByDefault(t *testing.T) {
	s := newServer(t, nil) // zero Config: same origin and loopback origins, echoed
	s.createUser(t, "alice", "secret1")
	const origin = "http://localhost:5173"

	pre := s.do(t, req{method: http.MethodOptions, path: "/login", origin: origin,
		header: map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"}})
	if pre.status != http.StatusNoContent || pre.body != "" {
		t.Fatalf("preflight: got %d %q, want 204 and no body", pre.status, pre.body)
	}
	expectCORS(t, pre, origin)
	if got := pre.header.Get("Access-Control-Max-Age"); got != "600" {
		t.Fatalf("Access-Control-Max-Age: got %q, want 600", got)
	}

	ok := s.do(t, req{path: "/login", origin: origin, body: passwordBody("alice", "secret1", "d1")})
	s.expectLogin(t, ok)
	expectCORS(t, ok, origin)

	// The web client shows the text of an error, which it can read only
	// with CORS headers on the error reply too.
	bad := s.do(t, req{path: "/login", origin: origin, body: passwordBody("alice", "wrong", "d1")})
	expectError(t, bad, 401, "Incorrect username or password.")
	expectCORS(t, bad, origin)

	// A request without Origin gets no CORS headers; OPTIONS is still 204.
	plain := s.do(t, req{method: http.MethodOptions, path: "/anything"})
	if plain.status != http.StatusNoContent {
		t.Fatalf("OPTIONS without Origin: got %d, want 204", plain.status)
	}
	expectNoCORS(t, plain)
}

// TestCORSDefaultRefuses: with no list, an attacker's page (any other
// site, or a sandboxed frame's "null") gets no CORS headers on a
// credentialed login, so the browser hides the access token from it; the
// server's own origin and loopback origins on any port do.
func TestCORSDefaultRefuses(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	tests := []struct {
		origin  string
		allowed bool
	}{
		{"https://evil.example", false},
		{"null", false},
		{"http://localhost.evil.example", false},
		{"http://127.0.0.1.evil.example", false},
		{"file://", false},
		{"http://localhost", true},
		{"https://app.localhost:8443", true},
		{"http://127.0.0.2:3000", true},
		{"http://[::1]:5173", true},
		{s.url, true}, // the demo page's own origin
	}
	refused := 0
	for _, tt := range tests {
		pre := s.do(t, req{method: http.MethodOptions, path: "/login", origin: tt.origin,
			header: map[string]string{"Access-Control-Request-Method": "POST"}})
		post := s.do(t, req{path: "/login", origin: tt.origin, body: passwordBody("alice", "secret1", "d1")})
		if !tt.allowed {
			expectError(t, pre, 403, "Forbidden.")
			expectNoCORS(t, pre)
			expectNoCORS(t, post)
			refused++
			continue
		}
		if pre.status != http.StatusNoContent {
			t.Fatalf("%s: preflight got %d %q, want 204", tt.origin, pre.status, pre.body)
		}
		expectCORS(t, post, tt.origin)
	}
	t.Logf("default CORS: %d hostile origins (null included) got no credentialed CORS, %d local ones did", refused, len(tests)-refused)
	if !strings.Contains(s.log.String(), "no CORS origins set") {
		t.Fatalf("start-up log: got %q, want the warning about unset CORS origins", s.log.String())
	}
}

func TestCORSAllowList(t *testing.T) {
	s := newServer(t, func(o *options) { o.http.AllowedOrigins = []string{"https://chat.example.com"} })
	s.createUser(t, "alice", "secret1")

	tests := []struct {
		name    string
		origin  string
		allowed bool
	}{
		{"listed", "https://chat.example.com", true},
		{"other host", "https://evil.example.com", false},
		{"other scheme", "http://chat.example.com", false},
		{"loopback, not listed", "http://localhost:5173", false},
		{"null", "null", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre := s.do(t, req{method: http.MethodOptions, path: "/login", origin: tt.origin,
				header: map[string]string{"Access-Control-Request-Method": "POST"}})
			post := s.do(t, req{path: "/login", origin: tt.origin, body: `{"device_id":"d1"}`})
			expectError(t, post, 401, "Missing authentication credentials.")
			if tt.allowed {
				if pre.status != http.StatusNoContent {
					t.Fatalf("preflight: got %d %q, want 204", pre.status, pre.body)
				}
				expectCORS(t, pre, tt.origin)
				expectCORS(t, post, tt.origin)
				return
			}
			expectError(t, pre, 403, "Forbidden.")
			expectNoCORS(t, pre)
			expectNoCORS(t, post)
		})
	}
}

func TestCORSWildcardInList(t *testing.T) {
	s := newServer(t, func(o *options) { o.http.AllowedOrigins = []string{"https://a.example", "*"} })
	r := s.do(t, req{method: http.MethodOptions, path: "/logout", origin: "https://b.example"})
	if r.status != http.StatusNoContent {
		t.Fatalf("preflight: got %d %q, want 204", r.status, r.body)
	}
	expectCORS(t, r, "https://b.example")
	if r := s.do(t, req{method: http.MethodOptions, path: "/logout", origin: "null"}); r.status != http.StatusForbidden {
		t.Fatalf("null with *: got %d, want 403", r.status)
	}
}
