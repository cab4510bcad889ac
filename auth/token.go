package auth

import (
	"crypto/ed25519"
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

// issueAccess signs an access token for p that lives ttl, with the newest
// key of the configured algorithm.
func (s *Service) issueAccess(p Principal, ttl time.Duration) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(ttl)
	k := s.keys.accessKey()
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
	signed, err := signToken(c, k)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return signed, exp, nil
}

// signToken signs claims with k (HS256 or EdDSA, by the key's kind) and
// names the key in the kid header. Access and selection tokens both go
// through it.
func signToken(c jwt.Claims, k key) (string, error) {
	var (
		method  jwt.SigningMethod = jwt.SigningMethodHS256
		signKey any               = k.Secret
	)
	if k.alg() == AlgEdDSA {
		method, signKey = jwt.SigningMethodEdDSA, ed25519.PrivateKey(k.Secret)
	}
	t := jwt.NewWithClaims(method, c)
	t.Header["kid"] = k.Kid
	return t.SignedString(signKey)
}

// parseToken verifies a token of ours into c: one of algs (never none), the
// key by kid, whose kind must be the token's alg (an HS256 token cannot name
// an Ed25519 key; a kid this node does not know reloads the keys: another
// node may have rotated), iss, aud and exp. Expired tokens give
// ErrTokenExpired, anything else ErrIncorrectToken.
func (s *Service) parseToken(token string, c jwt.Claims, algs ...string) error {
	_, _, err := s.parseTokenKey(token, c, algs...)
	return err
}

// parseTokenKey is parseToken that also tells the key that signed the
// token.
func (s *Service) parseTokenKey(token string, c jwt.Claims, algs ...string) (kid, alg string, err error) {
	_, err = jwt.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		alg = t.Method.Alg()
		return s.keys.verifyKey(kid, alg)
	},
		jwt.WithValidMethods(algs),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", "", protocol.ErrTokenExpired
	case err != nil:
		return "", "", protocol.ErrIncorrectToken
	}
	return kid, alg, nil
}

// parseAccess verifies an access token (HS256 or EdDSA; see parseToken)
// and its type; a token verified lately is answered from the token cache.
func (s *Service) parseAccess(token string) (*accessClaims, error) {
	if c, ok := s.tokens.get(token, s.cfg.Now(), s.keys); ok {
		return c, nil
	}
	var c accessClaims
	kid, alg, err := s.parseTokenKey(token, &c, AlgHS256, AlgEdDSA)
	if err != nil {
		return nil, err
	}
	if c.Type != "access" || c.SID == "" || c.UID == "" {
		return nil, protocol.ErrIncorrectToken
	}
	s.tokens.put(token, &c, kid, alg)
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
