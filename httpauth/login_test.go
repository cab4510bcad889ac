package httpauth_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoginPassword(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")

	r := s.do(t, req{path: "/login", body: `{"organization_id":"default","device_id":"4144437576","login":"alice","password":"secret1"}`})
	ok := s.expectLogin(t, r)
	if got := ok.User["login"]; got != "alice" {
		t.Fatalf("user.login: got %v, want alice", got)
	}
	if ok.User["_id"] != ok.User["native_id"] {
		t.Fatalf("user: got _id %v native_id %v, want equal", ok.User["_id"], ok.User["native_id"])
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control: got %q, want no-store", got)
	}

	c := r.cookie(t, "refresh_token")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cookie attributes: got HttpOnly=%v Secure=%v SameSite=%v Path=%q, want true true Lax /",
			c.HttpOnly, c.Secure, c.SameSite, c.Path)
	}
	if want := int(s.refreshTTL / time.Second); c.MaxAge <= 0 || c.MaxAge > want {
		t.Fatalf("cookie Max-Age: got %d, want in (0, %d]", c.MaxAge, want)
	}
	if raw := r.header.Get("Set-Cookie"); !strings.Contains(raw, "SameSite=Lax") || !strings.Contains(raw, "HttpOnly") ||
		!strings.Contains(raw, "Path=/") || !strings.Contains(raw, "; Secure") {
		t.Fatalf("Set-Cookie: got %q, want Path=/, HttpOnly, Secure and SameSite=Lax", raw)
	}
}

func TestLoginInsecureCookie(t *testing.T) {
	s := newServer(t, func(o *options) { o.http.InsecureCookie = true; o.http.CookieDomain = "example.com" })
	s.createUser(t, "alice", "secret1")
	r := s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")})
	s.expectLogin(t, r)
	c := r.cookie(t, "refresh_token")
	if c.Secure {
		t.Fatalf("cookie Secure: got true, want false with InsecureCookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "example.com" {
		t.Fatalf("cookie: got HttpOnly=%v SameSite=%v Domain=%q, want true Lax example.com", c.HttpOnly, c.SameSite, c.Domain)
	}
}

func TestLoginNumericDeviceID(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")

	// The numeric device_id must be stored as the same string on every path
	// (SAMA bug 11): a cookie login and a logout with the string form work.
	first := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"login":"alice","password":"secret1","device_id":4144437576}`}))
	again := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"4144437576"}`, refresh: first.refresh}))
	third := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":4144437576}`, bearer: again.AccessToken}))
	r := s.do(t, req{path: "/logout", bearer: third.AccessToken, refresh: third.refresh})
	if r.status != http.StatusOK {
		t.Fatalf("logout after numeric device_id: got %d %q, want 200", r.status, r.body)
	}
}

func TestLoginErrors(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}))

	tests := []struct {
		name    string
		rq      req
		status  int
		message string
	}{
		{"missing device_id", req{body: `{"login":"alice","password":"secret1"}`}, 422, "'device_id' is required."},
		{"empty device_id", req{body: `{"device_id":"","login":"alice","password":"secret1"}`}, 422, "'device_id' is required."},
		{"null device_id", req{body: `{"device_id":null,"login":"alice","password":"secret1"}`}, 422, "'device_id' is required."},
		{"no body", req{}, 422, "'device_id' is required."},
		{"device_id checked before credentials", req{body: `{}`, bearer: ok.AccessToken}, 422, "'device_id' is required."},
		{"missing credentials", req{body: `{"device_id":"d1"}`}, 401, "Missing authentication credentials."},
		{"login without password", req{body: `{"device_id":"d1","login":"alice"}`}, 401, "Missing authentication credentials."},
		{"non-bearer authorization", req{body: `{"device_id":"d1"}`, header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "Missing authentication credentials."},
		{"wrong password", req{body: passwordBody("alice", "wrong", "d1")}, 401, "Incorrect username or password."},
		{"unknown user", req{body: passwordBody("nobody", "secret1", "d1")}, 401, "Incorrect username or password."},
		{"malformed JSON", req{body: `{"device_id":"d1",`}, 400, "Bad request - invalid data format"},
		{"JSON not an object", req{body: `["d1"]`}, 400, "Bad request - invalid data format"},
		{"login of the wrong type", req{body: `{"device_id":"d1","login":5,"password":"x"}`}, 422, "'login' has an incorrect type."},
		{"oversized body", req{body: `{"device_id":"d1","login":"` + strings.Repeat("a", 70<<10) + `"}`}, 413, "Request too large."},
		{"wrong content type is an empty body", req{body: passwordBody("alice", "secret1", "d1"), contentType: "text/plain"}, 422, "'device_id' is required."},
		{"form content type is an empty body", req{body: "device_id=d1&login=alice&password=secret1", contentType: "application/x-www-form-urlencoded"}, 422, "'device_id' is required."},
		{"garbage bearer", req{body: `{"device_id":"d1"}`, bearer: "not-a-token"}, 422, "Incorrect token."},
		{"garbage cookie", req{body: `{"device_id":"d1"}`, refresh: "not-a-token"}, 422, "The token has expired."},
		{"bearer of another device", req{body: `{"device_id":"d2"}`, bearer: ok.AccessToken}, 422, "Incorrect token."},
		{"cookie of another device", req{body: `{"device_id":"d2"}`, refresh: ok.refresh}, 422, "Incorrect token."},
		{"refresh token as bearer", req{body: `{"device_id":"d1"}`, bearer: ok.refresh}, 422, "Incorrect token."},
		{"long device_id", req{body: `{"device_id":"` + strings.Repeat("d", 256) + `","login":"alice","password":"secret1"}`}, 422, "'device_id' max length 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.path = "/login"
			r := s.do(t, tt.rq)
			expectError(t, r, tt.status, tt.message)
			if got := r.header.Values("Set-Cookie"); len(got) != 0 {
				t.Fatalf("Set-Cookie on error: got %q, want none", got)
			}
		})
	}
}

func TestLoginBearer(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	first := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}))

	// The web client re-logs in with the stored access token and no password.
	again := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"organization_id":"default","device_id":"d1"}`, bearer: first.AccessToken}))
	if again.User["_id"] != first.User["_id"] {
		t.Fatalf("bearer login user: got %v, want %v", again.User["_id"], first.User["_id"])
	}
	if again.refresh == first.refresh {
		t.Fatalf("bearer login refresh token: got the old one, want a rotated one")
	}
	// The Bearer header wins over a cookie (here a garbage one).
	s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, bearer: again.AccessToken, refresh: "garbage"}))
	// Password wins over the Bearer header.
	s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1"), bearer: "garbage"}))
}

func TestLoginRefreshRotation(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	first := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}))

	second := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: first.refresh}))
	if second.refresh == first.refresh {
		t.Fatalf("refresh login: got the same refresh token, want a rotated one")
	}
	// Within the grace window (two tabs refreshing at once) the used token
	// still logs in.
	s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: first.refresh}))
	third := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: second.refresh}))

	// After the grace window a used token is a replay: rejected, and the
	// whole family is revoked, so even the newest token and its access token fail.
	s.clock.Advance(s.refreshGrace + time.Second)
	expectError(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: first.refresh}), 422, "The token has expired.")
	expectError(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: third.refresh}), 422, "The token has expired.")
	expectError(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, bearer: third.AccessToken}), 422, "The token has expired.")
}

func TestLoginRefreshNewTokenWorks(t *testing.T) {
	s := newServer(t, nil)
	s.createUser(t, "alice", "secret1")
	first := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}))
	second := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: first.refresh}))

	s.clock.Advance(s.refreshGrace + time.Second)
	// The rotated token keeps working past the grace window of the old one.
	third := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, refresh: second.refresh}))
	// Its access token is a valid Bearer for the device.
	s.expectLogin(t, s.do(t, req{path: "/login", body: `{"device_id":"d1"}`, bearer: third.AccessToken}))
}

func TestLoginThrottled(t *testing.T) {
	s := newServer(t, func(o *options) { throttleAfter(o, 3) })
	s.createUser(t, "alice", "secret1")

	var r reply
	for i := range 10 {
		r = s.do(t, req{path: "/login", body: passwordBody("alice", "wrong", "d1")})
		if r.status == http.StatusTooManyRequests {
			break
		}
		expectError(t, r, 401, "Incorrect username or password.")
		if i == 9 {
			t.Fatalf("no 429 after %d failed logins", i+1)
		}
	}
	expectError(t, r, 429, "Too many attempts. Try again later.")
	sec, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || sec < 1 || sec > 90 {
		t.Fatalf("Retry-After: got %q, want whole seconds in [1, 90] (the block)", r.header.Get("Retry-After"))
	}
	// Even the right password waits now.
	expectError(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}), 429, "Too many attempts. Try again later.")
	// An account that does not exist is answered the same way: the 429
	// does not tell whether it exists.
	for range 3 {
		expectError(t, s.do(t, req{path: "/login", body: passwordBody("nobody", "wrong", "d1")}), 401, "Incorrect username or password.")
	}
	expectError(t, s.do(t, req{path: "/login", body: passwordBody("nobody", "wrong", "d1")}), 429, "Too many attempts. Try again later.")
	// The block lifts after its time.
	s.clock.Advance(91 * time.Second)
	if r := s.do(t, req{path: "/login", body: passwordBody("alice", "secret1", "d1")}); r.status != http.StatusOK {
		t.Fatalf("after the block: got %d %q, want 200", r.status, r.body)
	}
}
