package httpauth

import (
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
)

func TestClientAddr(t *testing.T) {
	tests := []struct {
		name  string
		trust bool
		xff   string
		want  string
	}{
		{"peer", false, "", "192.0.2.1"},
		{"proxy header ignored by default", false, "203.0.113.9", "192.0.2.1"},
		{"trusted proxy header: the entry the proxy appended", true, "203.0.113.9", "203.0.113.9"},
		{"entries the client sent before it are ignored", true, "198.51.100.66, 203.0.113.9", "203.0.113.9"},
		{"trusted but absent", true, "", "192.0.2.1"},
		{"trusted but empty last entry", true, "10.0.0.1, ", "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(nil, Config{TrustProxyHeaders: tt.trust}, zerolog.Nop())
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = "192.0.2.1:4321"
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := h.clientAddr(r); got != tt.want {
				t.Fatalf("clientAddr: got %q, want %q", got, tt.want)
			}
		})
	}
}
