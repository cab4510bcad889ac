package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517): OKP/Ed25519 (X)
// or RSA (N, E).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKSet is a JSON Web Key Set, the body of /.well-known/jwks.json.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the public keys of every Ed25519 signing key, so other
// services can verify samagate's EdDSA access tokens themselves. HS256
// secrets are never part of it; without an Ed25519 key the set is empty.
// Keys shared through a store are reloaded first (at most once per 10 s),
// so a key another node rotated in is published without a restart.
func (s *Service) JWKS(ctx context.Context) JWKSet {
	if err := s.keys.refresh(ctx); err != nil {
		s.log.Warn().Err(err).Msg("reload signing keys for jwks")
	}
	set := JWKSet{Keys: []JWK{}}
	for _, k := range s.keys.snapshot() {
		if k.alg() != AlgEdDSA {
			continue
		}
		pub := ed25519.PrivateKey(k.Secret).Public().(ed25519.PublicKey)
		set.Keys = append(set.Keys, JWK{Kty: "OKP", Crv: "Ed25519", Kid: k.Kid, Use: "sig", Alg: AlgEdDSA,
			X: base64.RawURLEncoding.EncodeToString(pub)})
	}
	return set
}

// ExternalIssuer is another token issuer whose tokens samagate accepts
// (Centrifugo-style): an identity provider signs them with keys it
// publishes as a JWKS; samagate checks signature, iss, aud and exp and maps
// sub to an existing user.
type ExternalIssuer struct {
	// JWKSURL is where the issuer publishes its keys. Empty: no external
	// issuer.
	JWKSURL string
	// Issuer and Audience must be the tokens' iss and aud; both are
	// required with JWKSURL. Issuer must differ from samagate's own.
	Issuer, Audience string
	// Client fetches the JWKS. Default: a client with a 5 s timeout.
	Client *http.Client
	// CreateUsers makes a token whose sub names no user create one on its
	// first connect (login from preferred_username, else "ext-<sub>"; no
	// usable password). Off: such tokens are refused.
	CreateUsers bool
}

func (e ExternalIssuer) validate() error {
	if e.JWKSURL == "" {
		if e.Issuer != "" || e.Audience != "" {
			return errors.New("jwt external issuer: a jwks url is required")
		}
		return nil
	}
	u, err := url.Parse(e.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("jwt jwks url %q: want an http(s) url", e.JWKSURL)
	}
	if e.Issuer == "" || e.Audience == "" {
		return errors.New("jwt external issuer: issuer and audience are required with a jwks url")
	}
	return nil
}

const (
	// jwksTimeout bounds one fetch of an external JWKS.
	jwksTimeout = 5 * time.Second
	// jwksRefetchEvery bounds fetches caused by unknown kids, so forged
	// kids cannot make samagate hammer the issuer.
	jwksRefetchEvery = 30 * time.Second
	// jwksMaxAge is how long a fetched set is used before it is fetched
	// again, so a key the issuer withdrew stops being trusted.
	jwksMaxAge = 10 * time.Minute
	// maxJWKSBytes caps the size of a fetched set.
	maxJWKSBytes = 1 << 20
	// minRSABits refuses RSA keys too short to be safe.
	minRSABits = 2048
)

// jwksVerifier holds the keys of an external issuer, fetched from its JWKS
// on first use, on an unknown kid (at most once per 30 s) and when older
// than jwksMaxAge.
type jwksVerifier struct {
	cfg    ExternalIssuer // immutable
	client *http.Client   // immutable

	fetchMu   sync.Mutex // one fetch at a time; guards lastFetch
	lastFetch time.Time  // last attempt, by the service clock

	mu      sync.RWMutex // guards keys and fetched
	keys    map[string]any
	fetched time.Time
}

func newJWKSVerifier(cfg ExternalIssuer) *jwksVerifier {
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: jwksTimeout}
	}
	return &jwksVerifier{cfg: cfg, client: c}
}

// key returns the public key named kid for a token of alg (EdDSA or RS256),
// fetching the set again when kid is unknown or the set is old.
func (v *jwksVerifier) key(ctx context.Context, kid, alg string, now time.Time) (any, error) {
	k, ok, fresh := v.cached(kid, now)
	if !ok || !fresh {
		var err error
		if k, ok, err = v.refetch(ctx, kid, now); !ok {
			if err == nil {
				err = errors.New("unknown kid")
			}
			return nil, err
		}
	}
	switch k.(type) {
	case ed25519.PublicKey:
		if alg == AlgEdDSA {
			return k, nil
		}
	case *rsa.PublicKey:
		if alg == jwt.SigningMethodRS256.Alg() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("kid %s is not an %s key", kid, alg)
}

// refetch fetches the set again, unless that was tried less than
// jwksRefetchEvery ago, and looks kid up in it. A failed fetch keeps the
// previous set.
func (v *jwksVerifier) refetch(ctx context.Context, kid string, now time.Time) (any, bool, error) {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if k, ok, fresh := v.cached(kid, now); ok && fresh {
		return k, true, nil // another caller fetched meanwhile
	}
	var err error
	if v.lastFetch.IsZero() || now.Sub(v.lastFetch) >= jwksRefetchEvery {
		v.lastFetch = now
		var keys map[string]any
		if keys, err = v.fetch(ctx); err == nil {
			v.mu.Lock()
			v.keys, v.fetched = keys, now
			v.mu.Unlock()
		}
	}
	k, ok, _ := v.cached(kid, now)
	return k, ok, err
}

// cached looks kid up in the fetched set and tells whether the set is
// still fresh.
func (v *jwksVerifier) cached(kid string, now time.Time) (k any, ok, fresh bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	k, ok = v.keys[kid]
	return k, ok && kid != "", now.Sub(v.fetched) < jwksMaxAge
}

// fetch downloads the set and keeps the signing keys it can use.
func (v *jwksVerifier) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	var set JWKSet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	keys := make(map[string]any, len(set.Keys))
	for _, j := range set.Keys {
		if j.Kid == "" || (j.Use != "" && j.Use != "sig") {
			continue
		}
		if pub, err := j.publicKey(); err == nil {
			keys[j.Kid] = pub
		} // keys of other kinds or algorithms are not for us
	}
	return keys, nil
}

// publicKey decodes an Ed25519 (for EdDSA) or RSA (for RS256) key.
func (j JWK) publicKey() (any, error) {
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519" && (j.Alg == "" || j.Alg == AlgEdDSA || j.Alg == "Ed25519"):
		x, err := decodeB64URL(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("jwk: bad ed25519 x")
		}
		return ed25519.PublicKey(x), nil
	case j.Kty == "RSA" && (j.Alg == "" || j.Alg == jwt.SigningMethodRS256.Alg()):
		n, err := decodeB64URL(j.N)
		if err != nil {
			return nil, errors.New("jwk: bad rsa n")
		}
		e, err := decodeB64URL(j.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("jwk: bad rsa e")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < minRSABits || pub.E < 3 || pub.E%2 == 0 {
			return nil, errors.New("jwk: weak rsa key")
		}
		return pub, nil
	}
	return nil, fmt.Errorf("jwk: unsupported kty %q crv %q alg %q", j.Kty, j.Crv, j.Alg)
}

// decodeB64URL decodes base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// externalClaims are what samagate reads of an external token: sub is the
// user id; organization_id (default: the default organization) and
// device_id (when present, it must be the connecting device) are optional.
type externalClaims struct {
	OrgID             string `json:"organization_id"`
	DeviceID          string `json:"device_id"`
	PreferredUsername string `json:"preferred_username"`
	jwt.RegisteredClaims
}

// IsExternalToken tells whether token claims to come from the configured
// external issuer (its iss, unverified), so Authenticate hands it to
// ExternalPrincipal instead of checking it as samagate's own.
func (s *Service) IsExternalToken(token string) bool {
	v := s.keys.external
	if v == nil || v.cfg.Issuer == s.cfg.Issuer {
		return false
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return false
	}
	return c.Issuer == v.cfg.Issuer
}

// ExternalPrincipal verifies a token of the external issuer (EdDSA or RS256
// with a key of its JWKS; iss, aud and exp required) and returns the
// existing user its sub names, for deviceID. Such a principal has no
// samagate session: its SessionID is empty. An unknown user, a bad
// signature or bad claims give ErrIncorrectToken, an expired token
// ErrTokenExpired.
func (s *Service) ExternalPrincipal(ctx context.Context, token, deviceID string) (*Principal, error) {
	v := s.keys.external
	if v == nil {
		return nil, protocol.ErrIncorrectToken
	}
	if deviceID == "" {
		return nil, protocol.ErrDeviceIDRequired
	}
	now := s.now()
	var c externalClaims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, kid, t.Method.Alg(), now)
	},
		jwt.WithValidMethods([]string{AlgEdDSA, jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, protocol.ErrTokenExpired
	case err != nil:
		s.log.Debug().Err(err).Msg("external token refused")
		return nil, protocol.ErrIncorrectToken
	case c.Subject == "" || (c.DeviceID != "" && c.DeviceID != deviceID):
		return nil, protocol.ErrIncorrectToken
	}
	u, err := s.st.UserByID(ctx, orgOrDefault(c.OrgID), c.Subject)
	if errors.Is(err, store.ErrNotFound) && v.cfg.CreateUsers {
		u, err = s.createExternalUser(ctx, &c)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrIncorrectToken
	}
	if err != nil {
		return nil, fmt.Errorf("load user: %w", err)
	}
	return &Principal{UserID: u.ID, OrgID: u.OrgID, DeviceID: deviceID, Login: u.Login,
		ExpiresAt: c.ExpiresAt.Time, SessionExpiresAt: c.ExpiresAt.Time}, nil
}

// createExternalUser creates the samagate user of an external subject, with
// the subject as its id, so later tokens find it. Two first connects at
// once race on the id; the loser reads the winner's user.
func (s *Service) createExternalUser(ctx context.Context, c *externalClaims) (*store.User, error) {
	org := orgOrDefault(c.OrgID)
	if _, err := s.st.Organization(ctx, org); err != nil {
		return nil, err // ErrNotFound: refused like an unknown user
	}
	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		return nil, fmt.Errorf("external user password: %w", err)
	}
	hash, err := s.hash(ctx, hex.EncodeToString(random)[:40]) // never told to anyone: no password login
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	login := c.PreferredUsername
	if login == "" || checkLogin(login) != nil {
		login = "ext-" + c.Subject
	}
	u := &store.User{ID: c.Subject, OrgID: org, Login: login, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = s.st.CreateUser(ctx, u)
	if errors.Is(err, store.ErrConflict) && login != "ext-"+c.Subject {
		u.Login = "ext-" + c.Subject // the preferred login is taken
		err = s.st.CreateUser(ctx, u)
	}
	if errors.Is(err, store.ErrConflict) {
		return s.st.UserByID(ctx, org, c.Subject) // created meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("create external user: %w", err)
	}
	s.log.Info().Str("user", u.ID).Str("login", u.Login).Msg("user created for an external token")
	return u, nil
}
