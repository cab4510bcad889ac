package totp

import (
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the RFC 6238 Appendix B SHA1 key, base32-encoded for the API.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestCodeRFC6238Vectors(t *testing.T) {
	cfg := Config{Digits: 8}
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := Code(rfcSecret, time.Unix(tc.unix, 0), cfg)
		if err != nil {
			t.Fatalf("T=%d: %v", tc.unix, err)
		}
		if got != tc.want {
			t.Errorf("T=%d: got %s, want %s", tc.unix, got, tc.want)
		}
	}
}

func TestCodeErrors(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for name, tc := range map[string]struct {
		secret string
		cfg    Config
	}{
		"bad base32":   {"not base32!", Config{}},
		"empty secret": {"", Config{}},
		"digits 5":     {rfcSecret, Config{Digits: 5}},
		"digits 11":    {rfcSecret, Config{Digits: 11}},
		"period 1.5s":  {rfcSecret, Config{Period: 1500 * time.Millisecond}},
	} {
		if _, err := Code(tc.secret, now, tc.cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Code(rfcSecret, time.Unix(-100, 0), Config{}); err == nil {
		t.Error("pre-epoch time: no error")
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two secrets are equal")
	}
	if a != strings.ToUpper(a) || strings.Contains(a, "=") || len(a) != 32 {
		t.Errorf("secret %q: want 32 upper-case base32 characters, no padding", a)
	}
	key, err := decodeSecret(a)
	if err != nil || len(key) != 20 {
		t.Errorf("decode %q: %d bytes, %v", a, len(key), err)
	}
	// Lower case and spaces, as a user might type it, still work.
	if _, err := Code(strings.ToLower(a[:4])+" "+a[4:], time.Now(), Config{}); err != nil {
		t.Errorf("typed secret: %v", err)
	}
}

func TestWithDefaults(t *testing.T) {
	got := Config{}.WithDefaults()
	want := Config{Issuer: "samagate", Digits: 6, Period: 30 * time.Second, Skew: 1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if c := (Config{Skew: -1}).WithDefaults(); c.Skew != 0 {
		t.Errorf("negative skew: got %d, want 0", c.Skew)
	}
	custom := Config{Issuer: "x", Digits: 8, Period: time.Minute, Skew: 2}
	if c := custom.WithDefaults(); c != custom {
		t.Errorf("custom config changed: %+v", c)
	}
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := Code(secret, at, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerify(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000015, 0) // mid-step
	cur := now.Unix() / 30
	at := func(steps int) string { return codeAt(t, secret, now.Add(time.Duration(steps)*30*time.Second)) }

	for _, tc := range []struct {
		name     string
		code     string
		lastStep int64
		want     int64
		ok       bool
	}{
		{"current", at(0), 0, cur, true},
		{"previous step", at(-1), 0, cur - 1, true},
		{"next step", at(1), 0, cur + 1, true},
		{"two back", at(-2), 0, 0, false},
		{"two ahead", at(2), 0, 0, false},
		{"replay of same step", at(0), cur, 0, false},
		{"older after newer", at(-1), cur, 0, false},
		{"newer after older", at(1), cur, cur + 1, true},
		{"spaces around", "  " + at(0) + "\t", 0, cur, true},
		{"space in middle", at(0)[:3] + " " + at(0)[3:], 0, cur, true},
		{"too short", at(0)[:5], 0, 0, false},
		{"too long", at(0) + "0", 0, 0, false},
		{"letters", "12a456", 0, 0, false},
		{"empty", "", 0, 0, false},
		{"spaces only", "      ", 0, 0, false},
		{"unicode digits", "١٢٣٤٥٦", 0, 0, false},
	} {
		step, ok := Verify(secret, tc.code, now, tc.lastStep, Config{})
		if ok != tc.ok || step != tc.want {
			t.Errorf("%s (%q): got (%d, %v), want (%d, %v)", tc.name, tc.code, step, ok, tc.want, tc.ok)
		}
	}
}

func TestVerifyConfig(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000015, 0)
	prev := codeAt(t, secret, now.Add(-30*time.Second))
	if _, ok := Verify(secret, prev, now, 0, Config{Skew: -1}); ok {
		t.Error("skew -1 accepted the previous step")
	}
	if _, ok := Verify(secret, codeAt(t, secret, now), now, 0, Config{Skew: -1}); !ok {
		t.Error("skew -1 rejected the current step")
	}
	if _, ok := Verify(secret, codeAt(t, secret, now), now, 0, Config{Skew: 11}); ok {
		t.Error("skew above 10 accepted")
	}
	if _, ok := Verify("", "123456", now, 0, Config{}); ok {
		t.Error("empty secret accepted")
	}
	rfc := Config{Digits: 8}
	if step, ok := Verify(rfcSecret, "0708 1804", time.Unix(1111111109, 0), 0, rfc); !ok || step != 1111111109/30 {
		t.Errorf("8-digit RFC code: got (%d, %v)", step, ok)
	}
}

func FuzzVerify(f *testing.F) {
	for _, s := range []string{"", "123456", "123 456", " 000000 ", "12a456", "１２３４５６", "\x00\xff", "9999999999"} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, code string) {
		step, ok := Verify(rfcSecret, code, now, 0, Config{})
		if ok {
			if want, _ := Code(rfcSecret, time.Unix(step*30, 0), Config{}); normalizeCode(code) != want {
				t.Errorf("accepted %q for step %d, code there is %s", code, step, want)
			}
		}
	})
}

// normalizeCode mirrors Verify's tolerance of spaces for the fuzz check.
func normalizeCode(code string) string { return strings.ReplaceAll(strings.TrimSpace(code), " ", "") }

func TestURL(t *testing.T) {
	secret := "JBSWY3DPEHPK3PXP"
	for _, tc := range []struct {
		account, label string
	}{
		{"alice", "samagate:alice"},
		{"Alice Smith: ops@example.com", "samagate:Alice Smith: ops@example.com"},
	} {
		raw := URL(secret, tc.account, Config{})
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("parse %q: %v", raw, err)
		}
		if u.Scheme != "otpauth" || u.Host != "totp" {
			t.Errorf("%q: scheme %q host %q", raw, u.Scheme, u.Host)
		}
		if got := strings.TrimPrefix(u.Path, "/"); got != tc.label {
			t.Errorf("%q: label %q, want %q", raw, got, tc.label)
		}
		// The separator must be the only raw ':' in the label.
		if rawLabel := strings.TrimPrefix(u.EscapedPath(), "/"); strings.Count(rawLabel, ":") != 1 {
			t.Errorf("%q: label %q has more than one raw ':'", raw, rawLabel)
		}
		if strings.ContainsAny(strings.SplitN(raw, "?", 2)[0], " @") {
			t.Errorf("%q: space or @ not escaped in label", raw)
		}
		q := u.Query()
		for k, want := range map[string]string{"secret": secret, "issuer": "samagate", "algorithm": "SHA1", "digits": "6", "period": "30"} {
			if got := q.Get(k); got != want {
				t.Errorf("%q: %s = %q, want %q", raw, k, got, want)
			}
		}
	}
	raw := URL("jbsw y3dp", "bob", Config{Issuer: "Acme Co", Digits: 8, Period: time.Minute})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/Acme Co:bob" || q.Get("issuer") != "Acme Co" || q.Get("secret") != "JBSWY3DP" ||
		q.Get("digits") != "8" || q.Get("period") != "60" || strings.Contains(raw, "+") {
		t.Errorf("custom config URL %q", raw)
	}
}
