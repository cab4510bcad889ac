package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/protocol"
)

// accessClaims keep SAMA's payload (_id, native_id, login: clients decode it
// without verifying) and add the session binding.
type accessClaims struct {
	UID      string `json:"_id"`
	NativeID string `json:"native_id"`
	Login    string `json:"login"`
	OrgID    string `json:"organization_id"`
	SID      string `json:"sid"`
	DeviceID string `json:"device_id"`
	Type     string `json:"type"`
	jwt.RegisteredClaims
}

// issueAccess signs an access token for p that lives ttl.
func (s *Service) issueAccess(p Principal, ttl time.Duration) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(ttl)
	k := s.keys.signing()
	c := accessClaims{
		UID: p.UserID, NativeID: p.UserID, Login: p.Login, OrgID: p.OrgID,
		SID: p.SessionID, DeviceID: p.DeviceID, Type: "access",
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			Subject:   p.UserID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = k.Kid
	signed, err := t.SignedString(k.Secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

// parseAccess verifies signature (HS256 only, key by kid), iss, aud, exp
// and type. Expired tokens give ErrTokenExpired, anything else
// ErrIncorrectToken.
func (s *Service) parseAccess(token string) (*accessClaims, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		secret, ok := s.keys.byKid(kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return secret, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, protocol.ErrTokenExpired
	case err != nil:
		return nil, protocol.ErrIncorrectToken
	case c.Type != "access" || c.SID == "" || c.UID == "":
		return nil, protocol.ErrIncorrectToken
	}
	return &c, nil
}

// newRefreshToken returns an opaque token and the hash stored for it.
func newRefreshToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate refresh token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
