package httpauth_test

import (
	"net/http"
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

func TestCORSAnyOrigin(t *testing.T) {
	s := newServer(t, nil) // zero Config: any origin, echoed
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
}
