package files_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/store"
)

// TestLocalURLs attacks the local backend's signed URLs: expired, for
// another file, for another method, with a changed size or type, a
// mistyped or oversized body, a second upload, and paths a client steers.
func TestLocalURLs(t *testing.T) {
	clock := clocktest.New()
	l, c := newLocal(t, clock.Now)
	key, other := store.NewID(), store.NewID()
	data := []byte("hello")
	up, _ := l.UploadURL(ctx, key, "text/plain", 5, time.Minute)
	down, _ := l.DownloadURL(ctx, key, time.Minute)

	cases := []struct {
		name, method, url, ctype string
		body                     string
		want                     int
	}{
		{"mistyped", http.MethodPut, up, "text/html", "hello", http.StatusUnsupportedMediaType},
		{"no type", http.MethodPut, up, "", "hello", http.StatusUnsupportedMediaType},
		{"oversized", http.MethodPut, up, "text/plain", "hello!", http.StatusRequestEntityTooLarge},
		{"short", http.MethodPut, up, "text/plain", "hell", http.StatusBadRequest},
		{"foreign id", http.MethodPut, strings.Replace(up, key, other, 1), "text/plain", "hello", http.StatusForbidden},
		{"size changed", http.MethodPut, strings.Replace(up, "size=5", "size=6", 1), "text/plain", "hello!", http.StatusForbidden},
		{"type changed", http.MethodPut, strings.Replace(up, "type=text%2Fplain", "type=text%2Fhtml", 1), "text/html", "hello", http.StatusForbidden},
		{"upload URL used to download", http.MethodGet, up, "", "", http.StatusForbidden},
		{"download URL used to upload", http.MethodPut, down, "text/plain", "hello", http.StatusForbidden},
		{"no signature", http.MethodGet, strings.Split(down, "?")[0], "", "", http.StatusForbidden},
		{"traversal", http.MethodGet, strings.Replace(down, key, "..%2Furl.key", 1), "", "", http.StatusNotFound},
		{"key file", http.MethodGet, strings.Replace(down, key, "url.key", 1), "", "", http.StatusNotFound},
		{"not uploaded", http.MethodGet, down, "", "", http.StatusNotFound},
		{"ok", http.MethodPut, up, "text/plain; charset=utf-8", "hello", http.StatusOK},
		{"second upload", http.MethodPut, up, "text/plain", "HELLO", http.StatusConflict},
		{"foreign download", http.MethodGet, strings.Replace(down, key, other, 1), "", "", http.StatusForbidden},
	}
	for _, tc := range cases {
		code, b := do(t, c, tc.method, tc.url, tc.ctype, []byte(tc.body))
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.want)
		}
	}
	if code, b := do(t, c, http.MethodGet, down, "", nil); code != http.StatusOK || string(b) != string(data) {
		t.Fatalf("download: %d %q", code, b)
	}
	clock.Advance(time.Minute + time.Second)
	if code, _ := do(t, c, http.MethodGet, down, "", nil); code != http.StatusForbidden {
		t.Fatalf("expired download URL: %d, want 403", code)
	}
	fresh, _ := l.UploadURL(ctx, other, "text/plain", 5, time.Minute)
	clock.Advance(2 * time.Minute)
	if code, _ := do(t, c, http.MethodPut, fresh, "text/plain", data); code != http.StatusForbidden {
		t.Fatalf("expired upload URL: %d, want 403", code)
	}
}

// TestLocalServesInert: a download is never an active document of the
// gateway's origin.
func TestLocalServesInert(t *testing.T) {
	l, c := newLocal(t, nil)
	key := store.NewID()
	page := []byte("<script>alert(1)</script>")
	up, _ := l.UploadURL(ctx, key, "text/html", int64(len(page)), time.Minute)
	if code, b := do(t, c, http.MethodPut, up, "text/html", page); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, b)
	}
	down, _ := l.DownloadURL(ctx, key, time.Minute)
	resp, err := c.Get(down)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
		h.Get("Content-Disposition") != "attachment" {
		t.Fatalf("headers %v: want nosniff, a sandbox CSP and attachment", h)
	}
}
