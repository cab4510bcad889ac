package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/samagate/samagate/web"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// get runs one request through web.Handler and returns the recorded reply.
func get(t *testing.T, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestIndex(t *testing.T) {
	rec := get(t, http.MethodGet, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{`id="app"`, `src="/app.js"`, `href="/style.css"`, `id="login-btn"`, `id="composer"`} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}

// TestNoExternalResources guards the "no CDN, no network fonts" rule: the
// demo must work on an offline or air-gapped gateway.
func TestNoExternalResources(t *testing.T) {
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		body := get(t, http.MethodGet, p).Body.String()
		for _, bad := range []string{"http://", "https://", "//fonts.", "@import"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s references %q", p, bad)
			}
		}
	}
}

func TestAssets(t *testing.T) {
	tests := []struct {
		path, ctPrefix, contains string
	}{
		{"/app.js", "text/javascript", "WebSocket"},
		{"/style.css", "text/css", ".msg"},
		{"/index.html", "text/html", `id="app"`}, // served directly, no redirect to /
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, http.MethodGet, tt.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tt.path, rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.ctPrefix) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.ctPrefix)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing X-Content-Type-Options: nosniff")
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	for _, p := range []string{"/missing.js", "/nope", "/static/app.js", "/../web.go", "/web.go"} {
		if rec := get(t, http.MethodGet, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
}

func TestMethods(t *testing.T) {
	rec := get(t, http.MethodHead, "/app.js")
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /app.js = %d with %d body bytes, want 200 and none", rec.Code, rec.Body.Len())
	}
	rec = get(t, http.MethodPost, "/")
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d Allow=%q, want 405 GET, HEAD", rec.Code, rec.Header().Get("Allow"))
	}
}

// TestServer exercises the handler over a real HTTP server, as a browser
// would reach it.
func TestServer(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/app.js")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "javascript") || len(b) == 0 {
		t.Errorf("GET /app.js = %d %q (%d bytes)", res.StatusCode, res.Header.Get("Content-Type"), len(b))
	}
	srv.Client().CloseIdleConnections()
}
