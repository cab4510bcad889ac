package httpauth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/auth"
)

// TestLoginExpiresIn: a login may ask for its access token's lifetime
// (number = ms, string = duration, body or query); the reply carries ttl
// beside expired_at; over the maximum it is capped; malformed is a 422.
func TestLoginExpiresIn(t *testing.T) {
	s := newServer(t, func(o *options) { o.auth.AccessTTLMax = 48 * time.Hour })
	s.createUser(t, "alice", "secret1")
	cases := []struct {
		name, path, extra string
		want              time.Duration
	}{
		{"default", "/login", ``, s.accessTTL},
		{"number of ms", "/login", `,"expiresIn":5400000`, 90 * time.Minute},
		{"string hours", "/login", `,"expiresIn":"12h"`, 12 * time.Hour},
		{"string days", "/login", `,"expiresIn":"1d"`, 24 * time.Hour},
		{"compound", "/login", `,"expiresIn":"1d12h"`, 36 * time.Hour},
		{"minutes in the query", "/login?expiresIn=90m", ``, 90 * time.Minute},
		{"ms in the query", "/login?expiresIn=60000", ``, time.Minute},
		{"over the cap", "/login", `,"expiresIn":"7d"`, 48 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := `{"login":"alice","password":"secret1","device_id":"d"` + c.extra + `}`
			before := s.clock.Now()
			r := s.do(t, req{path: c.path, body: body})
			var got struct {
				ExpiredAt int64 `json:"expired_at"`
				TTL       int64 `json:"ttl"`
			}
			if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil {
				t.Fatalf("got %d %q", r.status, r.body)
			}
			if got.TTL != c.want.Milliseconds() {
				t.Fatalf("ttl: got %d ms, want %d", got.TTL, c.want.Milliseconds())
			}
			if exp := time.UnixMilli(got.ExpiredAt); exp.Sub(before) < c.want-time.Second || exp.Sub(before) > c.want+time.Second {
				t.Fatalf("expired_at %v is not ttl after %v", exp, before)
			}
		})
	}
	for _, bad := range []string{`"soon"`, `0`, `-5`, `1.5`, `"5x"`, `"h12"`, `true`, `"12h "`, `{}`} {
		r := s.do(t, req{path: "/login", body: `{"login":"alice","password":"secret1","device_id":"d","expiresIn":` + bad + `}`})
		if r.status != 422 || !strings.Contains(r.body, "expiresIn") {
			t.Fatalf("expiresIn %s: got %d %q, want 422 naming expiresIn", bad, r.status, r.body)
		}
	}
	expectError(t, s.do(t, req{path: "/login?expiresIn=forever", body: passwordBody("alice", "secret1", "d")}), 422,
		`'expiresIn' must be a positive number of milliseconds or a duration like "12h", "7d", "90m"`)
}

// TestLoginResume: {"resume": <access token>} logs in again like a Bearer
// header (Rocket.Chat); a refresh token is never accepted as an access token.
func TestLoginResume(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d")}))
	again := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d","resume":"` + ok.AccessToken + `"}`}))
	if again.User["login"] != "alice" {
		t.Fatalf("resume: got %v", again.User)
	}
	expectError(t, s.do(t, req{path: "/login", body: `{"device_id":"d","resume":"` + ok.refresh + `"}`}), 422, "Incorrect token.")
}

func TestParseExpiresIn(t *testing.T) {
	good := map[any]time.Duration{float64(1): time.Millisecond, "500ms": 500 * time.Millisecond, "2w": 14 * 24 * time.Hour,
		"1h30m": 90 * time.Minute, "45s": 45 * time.Second}
	for in, want := range good {
		if got, err := auth.ParseExpiresIn(in); err != nil || got != want {
			t.Errorf("%v: got %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := auth.ParseExpiresIn("1500"); err != nil || got != 1500*time.Millisecond {
		t.Errorf("a numeric string (query) is milliseconds: got %v, %v", got, err)
	}
	for _, in := range []any{"", "0s", "1y", "1h-", "-1h", float64(-1), nil, []any{}, "99999999999h"} {
		if _, err := auth.ParseExpiresIn(in); err == nil {
			t.Errorf("%#v: got no error", in)
		}
	}
	if _, err := auth.ParseExpiresIn(http.MethodGet); err == nil {
		t.Error("GET parsed as a duration")
	}
}
