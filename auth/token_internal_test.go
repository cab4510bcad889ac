package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/protocol"
)

// TestParseAccessClaims: a token signed with our own key is still refused
// when its issuer, audience, type or expiry is wrong.
func TestParseAccessClaims(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: Config{}.withDefaults(), keys: keys}
	k := keys.signing()
	good := func() accessClaims {
		return accessClaims{UID: "u", NativeID: "u", SID: "s", DeviceID: "d", Type: "access",
			RegisteredClaims: jwt.RegisteredClaims{Issuer: "samagate", Audience: jwt.ClaimStrings{"samagate"},
				ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}
	}
	sign := func(c accessClaims, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["kid"] = kid
		out, err := tok.SignedString(k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if _, err := s.parseAccess(sign(good(), k.Kid)); err != nil {
		t.Fatalf("good token: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*accessClaims)
		kid  string
		want error
	}{
		{"issuer", func(c *accessClaims) { c.Issuer = "evil" }, k.Kid, protocol.ErrIncorrectToken},
		{"audience", func(c *accessClaims) { c.Audience = jwt.ClaimStrings{"other"} }, k.Kid, protocol.ErrIncorrectToken},
		{"type refresh", func(c *accessClaims) { c.Type = "refresh" }, k.Kid, protocol.ErrIncorrectToken},
		{"no session", func(c *accessClaims) { c.SID = "" }, k.Kid, protocol.ErrIncorrectToken},
		{"no expiry", func(c *accessClaims) { c.ExpiresAt = nil }, k.Kid, protocol.ErrIncorrectToken},
		{"unknown kid", func(*accessClaims) {}, "nope", protocol.ErrIncorrectToken},
		{"expired", func(c *accessClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }, k.Kid, protocol.ErrTokenExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mod(&c)
			if _, err := s.parseAccess(sign(c, tc.kid)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
