package httpauth_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	s := newServer(t, func(o *options) { o.http.Hostname = "node-7" })
	r := s.do(t, req{method: http.MethodGet, path: "/health"})
	if r.status != http.StatusOK || r.body != `{"status":"ok","hostname":"node-7"}` {
		t.Fatalf("health: got %d %q, want 200 {\"status\":\"ok\",\"hostname\":\"node-7\"}", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("health Content-Type: got %q, want application/json", ct)
	}
}

func TestRouteNotFound(t *testing.T) {
	s := newServer(t, nil)
	tests := []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/login"},
		{http.MethodPost, "/health"},
		{http.MethodPost, "/nope"},
		{http.MethodPut, "/login"},
		{http.MethodDelete, "/logout"},
		{http.MethodPost, "/login/"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := s.do(t, req{method: tt.method, path: tt.path, origin: "http://localhost:5173"})
			expectError(t, r, 404, "Route not found")
			expectCORS(t, r, "http://localhost:5173")
		})
	}
}

func TestFallback(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("page " + r.URL.Path))
	})
	s := newServer(t, func(o *options) { o.http.Fallback = page })

	if r := s.do(t, req{method: http.MethodGet, path: "/"}); r.status != http.StatusOK || r.body != "page /" {
		t.Fatalf("GET /: got %d %q, want 200 %q", r.status, r.body, "page /")
	}
	// Routes still win, and non-GET requests never reach the fallback.
	if r := s.do(t, req{method: http.MethodGet, path: "/health"}); r.status != http.StatusOK || r.body == "page /health" {
		t.Fatalf("GET /health with fallback: got %d %q, want the health reply", r.status, r.body)
	}
	expectError(t, s.do(t, req{method: http.MethodPost, path: "/"}), 404, "Route not found")
}

func TestInternalErrorHidden(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	if err := s.db.Close(); err != nil { // every store call now fails
		t.Fatalf("close db: %v", err)
	}
	r := s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")})
	expectError(t, r, 500, "Internal server error.")
	logged := s.log.String()
	if !strings.Contains(logged, `"level":"error"`) || !strings.Contains(logged, "database is closed") {
		t.Fatalf("log: got %q, want the internal error logged", logged)
	}
	// Client errors are not logged.
	before := len(s.log.String())
	expectError(t, s.do(t, req{path: "/login", body: `{}`}), 422, "'device_id' is required.")
	if after := len(s.log.String()); after != before {
		t.Fatalf("log after a 422: got %q, want nothing new", s.log.String()[before:])
	}
}

// TestErrorsAsJSON: SAMA's text/plain error stays the default; a client
// asking for JSON gets the wire error with its field-level errors.
func TestErrorsAsJSON(t *testing.T) {
	s := newServer(t, nil)
	r := s.do(t, req{path: "/login", body: `{"login":"a","password":"b"}`})
	expectError(t, r, 422, "'device_id' is required.")
	r = s.do(t, req{path: "/login", body: `{"login":"a","password":"b"}`, header: map[string]string{"Accept": "application/json"}})
	if r.status != 422 || r.header.Get("Content-Type") != "application/json" ||
		r.body != `{"status":422,"message":"'device_id' is required.","errors":{"device_id":["'device_id' is required."]}}` {
		t.Fatalf("JSON error: got %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = s.do(t, req{path: "/nowhere", header: map[string]string{"Accept": "application/json"}})
	if r.status != 404 || r.body != `{"status":404,"message":"Route not found"}` {
		t.Fatalf("JSON 404: got %d %q", r.status, r.body)
	}
}
