package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/protocol"
)

// idp is an external identity provider: a JWKS endpoint and the private
// keys behind it.
type idp struct {
	srv     *httptest.Server
	fetches atomic.Int32
	mu      sync.Mutex // guards set
	set     auth.JWKSet
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.set)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) publish(k auth.JWK) {
	p.mu.Lock()
	p.set.Keys = append(p.set.Keys, k)
	p.mu.Unlock()
}

func (p *idp) addEd(t *testing.T, kid string) ed25519.PrivateKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.publish(auth.JWK{Kty: "OKP", Crv: "Ed25519", Kid: kid, Use: "sig", Alg: "EdDSA", X: base64.RawURLEncoding.EncodeToString(pub)})
	return priv
}

func (p *idp) addRSA(t *testing.T, kid string) *rsa.PrivateKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.publish(auth.JWK{Kty: "RSA", Kid: kid, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(priv.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(priv.E)).Bytes())})
	return priv
}

// extToken signs claims (iss idp, aud samagate-ext, exp in an hour, sub
// sub; mod may change them) with m and k under kid.
func extToken(t *testing.T, e *env, m jwt.SigningMethod, k any, kid, sub string, mod func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{"iss": "idp", "aud": "samagate-ext", "sub": sub,
		"iat": e.clk.Now().Unix(), "exp": e.clk.Now().Add(time.Hour).Unix()}
	if mod != nil {
		mod(c)
	}
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authenticate authenticates as websocket connect does.
func authenticate(e *env, token, device string) (*auth.Principal, error) {
	return e.svc.Authenticate(ctx, token, device) // what websocket connect calls
}

// TestExternalIssuer: tokens of a trusted issuer, signed with an Ed25519 or
// RSA key of its JWKS and with the right iss and aud, map to existing
// users; everything else is refused.
func TestExternalIssuer(t *testing.T) {
	p := newIDP(t)
	edKey := p.addEd(t, "ed1")
	rsaKey := p.addRSA(t, "rsa1")
	dir := t.TempDir()
	keys := keysOf(t)(auth.LoadOrCreateKeys(dir, auth.WithExternalIssuer(auth.ExternalIssuer{
		JWKSURL: p.srv.URL, Issuer: "idp", Audience: "samagate-ext", Client: p.srv.Client(),
	})))
	e := envOn(t, openDB(t, dir), keys, clocktest.New())
	u := e.user(t, "alice")
	own := e.login(t, "alice", "d")
	if e.svc.IsExternalToken(own.AccessToken) {
		t.Fatal("own token taken for external")
	}
	if _, err := authenticate(e, own.AccessToken, "d"); err != nil {
		t.Fatalf("own token: %v", err)
	}

	for name, tok := range map[string]string{
		"EdDSA": extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, nil),
		"RS256": extToken(t, e, jwt.SigningMethodRS256, rsaKey, "rsa1", u.ID, nil),
		"org":   extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, func(c jwt.MapClaims) { c["organization_id"] = "default" }),
		"aud[]": extToken(t, e, jwt.SigningMethodRS256, rsaKey, "rsa1", u.ID, func(c jwt.MapClaims) { c["aud"] = []string{"x", "samagate-ext"} }),
	} {
		got, err := authenticate(e, tok, "d2")
		if err != nil || got.UserID != u.ID || got.OrgID != "default" || got.DeviceID != "d2" || got.Login != "alice" || got.SessionID != "" {
			t.Fatalf("%s: got %+v, %v", name, got, err)
		}
	}
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("jwks fetches: got %d, want 1", n)
	}

	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	pubX := []byte(edKey.Public().(ed25519.PublicKey))
	cases := []struct {
		name string
		tok  string
		want error
	}{
		{"wrong aud", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, func(c jwt.MapClaims) { c["aud"] = "samagate" }), protocol.ErrIncorrectToken},
		{"no aud", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, func(c jwt.MapClaims) { delete(c, "aud") }), protocol.ErrIncorrectToken},
		{"wrong iss", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, func(c jwt.MapClaims) { c["iss"] = "evil" }), protocol.ErrIncorrectToken},
		{"expired", extToken(t, e, jwt.SigningMethodRS256, rsaKey, "rsa1", u.ID, func(c jwt.MapClaims) { c["exp"] = e.clk.Now().Add(-time.Minute).Unix() }), protocol.ErrTokenExpired},
		{"no exp", extToken(t, e, jwt.SigningMethodRS256, rsaKey, "rsa1", u.ID, func(c jwt.MapClaims) { delete(c, "exp") }), protocol.ErrIncorrectToken},
		{"unknown sub", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", "no-such-user", nil), protocol.ErrIncorrectToken},
		{"no sub", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", "", nil), protocol.ErrIncorrectToken},
		{"other org", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, func(c jwt.MapClaims) { c["organization_id"] = "nope" }), protocol.ErrIncorrectToken},
		{"other device", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", u.ID, func(c jwt.MapClaims) { c["device_id"] = "d9" }), protocol.ErrIncorrectToken},
		{"other key", extToken(t, e, jwt.SigningMethodEdDSA, otherEd, "ed1", u.ID, nil), protocol.ErrIncorrectToken},
		{"RS256 on the ed25519 kid", extToken(t, e, jwt.SigningMethodRS256, rsaKey, "ed1", u.ID, nil), protocol.ErrIncorrectToken},
		{"EdDSA on the rsa kid", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "rsa1", u.ID, nil), protocol.ErrIncorrectToken},
		{"HS256 keyed with the public key", extToken(t, e, jwt.SigningMethodHS256, pubX, "ed1", u.ID, nil), protocol.ErrIncorrectToken},
		{"alg none", extToken(t, e, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "ed1", u.ID, nil), protocol.ErrIncorrectToken},
		{"no kid", extToken(t, e, jwt.SigningMethodEdDSA, edKey, "", u.ID, nil), protocol.ErrIncorrectToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authenticate(e, tc.tok, "d2")
			wantErr(t, tc.name, err, tc.want)
			_, err = e.svc.ExternalPrincipal(ctx, tc.tok, "d2")
			wantErr(t, tc.name+" (ExternalPrincipal)", err, tc.want)
		})
	}

	// A key the issuer publishes later is fetched on its first token, but
	// unknown kids refetch at most once per 30 s.
	before := p.fetches.Load()
	newKey := p.addEd(t, "ed2")
	tok := extToken(t, e, jwt.SigningMethodEdDSA, newKey, "ed2", u.ID, nil)
	_, err := authenticate(e, tok, "d2")
	wantErr(t, "new kid within 30 s of the last fetch", err, protocol.ErrIncorrectToken)
	e.advance(30 * time.Second)
	if _, err := authenticate(e, tok, "d2"); err != nil {
		t.Fatalf("new kid 30 s later: %v", err)
	}
	for range 3 {
		_, err := authenticate(e, extToken(t, e, jwt.SigningMethodEdDSA, newKey, "ed-unknown", u.ID, nil), "d2")
		wantErr(t, "unknown kid", err, protocol.ErrIncorrectToken)
	}
	if n := p.fetches.Load(); n != before+1 {
		t.Fatalf("fetches: got %d, want %d", n, before+1)
	}
	e.advance(30 * time.Second)
	_, err = authenticate(e, extToken(t, e, jwt.SigningMethodEdDSA, newKey, "ed-unknown", u.ID, nil), "d2")
	wantErr(t, "unknown kid", err, protocol.ErrIncorrectToken)
	if n := p.fetches.Load(); n != before+2 {
		t.Fatalf("fetches 30 s later: got %d, want %d", n, before+2)
	}
}

// TestExternalIssuerConfig: half a configuration is an error, not a
// silently open or closed door.
func TestExternalIssuerConfig(t *testing.T) {
	for name, x := range map[string]auth.ExternalIssuer{
		"no url":      {Issuer: "idp", Audience: "a"},
		"no audience": {JWKSURL: "https://idp.example/jwks", Issuer: "idp"},
		"no issuer":   {JWKSURL: "https://idp.example/jwks", Audience: "a"},
		"not http":    {JWKSURL: "file:///etc/jwks", Issuer: "idp", Audience: "a"},
	} {
		if _, err := auth.NewKeys(auth.WithExternalIssuer(x)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := auth.NewKeys(auth.WithExternalIssuer(auth.ExternalIssuer{})); err != nil {
		t.Fatalf("none: %v", err)
	}
}

// TestExternalIssuerCreatesUsers: with CreateUsers, a trusted token whose
// sub names no user creates one on the first connect (login from
// preferred_username), and later tokens find the same user; the created
// user has no usable password.
func TestExternalIssuerCreatesUsers(t *testing.T) {
	p := newIDP(t)
	edKey := p.addEd(t, "ed1")
	dir := t.TempDir()
	keys := keysOf(t)(auth.LoadOrCreateKeys(dir, auth.WithExternalIssuer(auth.ExternalIssuer{
		JWKSURL: p.srv.URL, Issuer: "idp", Audience: "samagate-ext", Client: p.srv.Client(), CreateUsers: true,
	})))
	e := envOn(t, openDB(t, dir), keys, clocktest.New())
	e.user(t, "taken")
	named := func(sub, name string) string {
		return extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", sub, func(c jwt.MapClaims) {
			if name != "" {
				c["preferred_username"] = name
			}
		})
	}
	got, err := authenticate(e, named("idp-user-1", "carol"), "d")
	if err != nil || got.UserID != "idp-user-1" || got.Login != "carol" {
		t.Fatalf("first connect: got %+v, %v", got, err)
	}
	again, err := authenticate(e, named("idp-user-1", "carol"), "d2")
	if err != nil || again.UserID != "idp-user-1" {
		t.Fatalf("second connect: got %+v, %v", again, err)
	}
	if p, err := authenticate(e, named("idp-user-2", "taken"), "d"); err != nil || p.Login != "ext-idp-user-2" {
		t.Fatalf("taken preferred login: got %+v, %v", p, err)
	}
	if p, err := authenticate(e, named("idp-user-3", ""), "d"); err != nil || p.Login != "ext-idp-user-3" {
		t.Fatalf("no preferred login: got %+v, %v", p, err)
	}
	if _, err := authenticate(e, extToken(t, e, jwt.SigningMethodEdDSA, edKey, "ed1", "idp-user-4",
		func(c jwt.MapClaims) { c["organization_id"] = "nope" }), "d"); !errors.Is(err, protocol.ErrIncorrectToken) {
		t.Fatalf("unknown organization: got %v", err)
	}
}
