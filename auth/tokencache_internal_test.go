package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/protocol"
)

// TestTokenCache: a token verified once is answered from the cache, as a
// copy; a token differing in one byte is checked in full and refused; the
// cached token is refused once it expires and once its key is retired,
// exactly as without the cache.
func TestTokenCache(t *testing.T) {
	keys, old, cur, now := rotatedFileKeys(t, t.TempDir())
	*now = cur.Created.Add(30 * time.Minute)
	cfg := Config{}.withDefaults()
	cfg.Now = func() time.Time { return *now }
	s := &Service{cfg: cfg, keys: keys, tokens: newTokenCache()}
	sign := func(k key, exp time.Time) string {
		c := accessClaims{UID: "u", SID: "s", DeviceID: "d", Type: "access",
			RegisteredClaims: jwt.RegisteredClaims{Issuer: cfg.Issuer, Audience: jwt.ClaimStrings{cfg.Audience},
				ExpiresAt: jwt.NewNumericDate(exp)}}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"] = k.Kid
		out, err := tok.SignedString(k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	tok := sign(old, now.Add(2*time.Hour))
	c, err := s.parseAccess(tok)
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, ok := s.tokens.m[tok]; !ok {
		t.Fatal("a verified token was not kept")
	}
	c.UID = "changed by the caller"
	if c, err = s.parseAccess(tok); err != nil || c.UID != "u" {
		t.Fatalf("second use: %+v, %v; want the claims as signed", c, err)
	}
	forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[tok[len(tok)-2:] != "AA"]
	if _, err := s.parseAccess(forged); !errors.Is(err, protocol.ErrIncorrectToken) {
		t.Fatalf("a token differing in its signature: %v, want ErrIncorrectToken", err)
	}

	// The old key is retired once its successor is older than the longest
	// token lifetime (plus skew): its cached token goes with it.
	*now = cur.Created.Add(time.Hour + retireSkew + time.Second)
	if _, err := s.parseAccess(tok); !errors.Is(err, protocol.ErrIncorrectToken) {
		t.Fatalf("cached token of a retired key: %v, want ErrIncorrectToken", err)
	}

	short := sign(cur, now.Add(time.Minute))
	if _, err := s.parseAccess(short); err != nil {
		t.Fatalf("token of the current key: %v", err)
	}
	*now = now.Add(time.Minute)
	if _, err := s.parseAccess(short); !errors.Is(err, protocol.ErrTokenExpired) {
		t.Fatalf("cached token at its expiry: %v, want ErrTokenExpired", err)
	}

	// Bounded.
	for i := range tokenCacheSize + 10 {
		s.tokens.put(string(rune(i))+"x", &accessClaims{}, cur.Kid, AlgHS256)
	}
	if n := len(s.tokens.m); n > tokenCacheSize {
		t.Fatalf("%d tokens kept, bound %d", n, tokenCacheSize)
	}
}

// BenchmarkParseAccess: an access token checked in full (signature,
// header and claims decoded) and answered from the token cache.
func BenchmarkParseAccess(b *testing.B) {
	keys, err := NewKeys()
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{}.withDefaults()
	k := keys.signing()
	c := accessClaims{UID: "01J0000000000000000000000", SID: "01J0000000000000000000001", DeviceID: "web-1", Type: "access",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: cfg.Issuer, Audience: jwt.ClaimStrings{cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = k.Kid
	signed, err := tok.SignedString(k.Secret)
	if err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{false, true} {
		name := map[bool]string{false: "full", true: "cached"}[cached]
		b.Run(name, func(b *testing.B) {
			s := &Service{cfg: cfg, keys: keys}
			if cached {
				s.tokens = newTokenCache()
			}
			for b.Loop() {
				if _, err := s.parseAccess(signed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
