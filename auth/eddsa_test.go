package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/protocol"
)

// edEnv is an env whose access tokens are EdDSA, keys in a file.
func edEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	return envOn(t, openDB(t, dir), keysOf(t)(auth.LoadOrCreateKeys(dir, auth.WithAlg(auth.AlgEdDSA))), clocktest.New())
}

// resign copies token's claims into a token of method m signed with k,
// with header kid.
func resign(t *testing.T, token string, m jwt.SigningMethod, k any, kid string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	out := jwt.NewWithClaims(m, tok.Claims)
	out.Header["kid"] = kid
	s, err := out.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verifyWithJWKS checks token's EdDSA signature using nothing but a JWKS
// document, as a service without samagate's code would: find the key by
// kid, decode x, ed25519.Verify the signing input.
func verifyWithJWKS(t *testing.T, jwks []byte, token string) {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("jwks %s: %v", jwks, err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: want three parts", token)
	}
	var hdr struct{ Alg, Kid string }
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("token header %q: %v", parts[0], err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k["kid"] != hdr.Kid {
			continue
		}
		if hdr.Alg != "EdDSA" || k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" {
			t.Fatalf("key %v for a token of alg %s", k, hdr.Alg)
		}
		x, err := base64.RawURLEncoding.DecodeString(k["x"])
		if err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("x %q: %v", k["x"], err)
		}
		if !ed25519.Verify(ed25519.PublicKey(x), []byte(parts[0]+"."+parts[1]), sig) {
			t.Fatal("signature does not verify with the JWKS key")
		}
		return
	}
	t.Fatalf("kid %s not in the JWKS %s", hdr.Kid, jwks)
}

// TestEdDSATokens: EdDSA access tokens sign and verify; a token naming the
// Ed25519 key with another alg (HS256 keyed with the public key, none), or
// signed by another Ed25519 key, is refused.
func TestEdDSATokens(t *testing.T) {
	e := edEnv(t)
	u := e.user(t, "alice")
	g := e.login(t, "alice", "d")
	alg, kid := header(t, g.AccessToken)
	if alg != auth.AlgEdDSA || !strings.HasPrefix(kid, "ed-") {
		t.Fatalf("header: got alg %s kid %s, want EdDSA ed-...", alg, kid)
	}
	if p, err := e.svc.Authenticate(ctx, g.AccessToken, "d"); err != nil || p.UserID != u.ID {
		t.Fatalf("authenticate: got %+v, %v", p, err)
	}
	if _, err := e.svc.LoginAccess(ctx, g.AccessToken, "d", "", ""); err != nil {
		t.Fatalf("bearer re-login: %v", err)
	}
	set := e.svc.JWKS(ctx)
	if len(set.Keys) != 1 || set.Keys[0].Kid != kid {
		t.Fatalf("jwks: got %+v, want the one key %s", set, kid)
	}
	pub, err := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"HS256 keyed with the public key": resign(t, g.AccessToken, jwt.SigningMethodHS256, pub, kid),
		"alg none":                        resign(t, g.AccessToken, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid),
		"other ed25519 key":               resign(t, g.AccessToken, jwt.SigningMethodEdDSA, other, kid),
		"unknown kid":                     resign(t, g.AccessToken, jwt.SigningMethodEdDSA, other, "ed-nope"),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.Authenticate(ctx, tok, "d")
			wantErr(t, name, err, protocol.ErrIncorrectToken)
		})
	}
}

// TestEdDSAOverHS256File: switching an existing key file to EdDSA keeps
// its HS256 tokens valid; the JWKS never shows the HS256 secret.
func TestEdDSAOverHS256File(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	clk := clocktest.New()
	hs := envOn(t, db, keysOf(t)(auth.LoadOrCreateKeys(dir)), clk)
	if got := hs.svc.JWKS(ctx); len(got.Keys) != 0 {
		t.Fatalf("HS256-only jwks: got %+v, want no key", got)
	}
	hs.user(t, "alice")
	old := hs.login(t, "alice", "d1")

	ed := envOn(t, db, keysOf(t)(auth.LoadOrCreateKeys(dir, auth.WithAlg(auth.AlgEdDSA))), clk)
	if _, err := ed.svc.Authenticate(ctx, old.AccessToken, "d1"); err != nil {
		t.Fatalf("HS256 token after the switch: %v", err)
	}
	g := ed.login(t, "alice", "d2")
	if alg, _ := header(t, g.AccessToken); alg != auth.AlgEdDSA {
		t.Fatalf("alg after the switch: got %s", alg)
	}
	b, err := json.Marshal(ed.svc.JWKS(ctx))
	if err != nil {
		t.Fatal(err)
	}
	verifyWithJWKS(t, b, g.AccessToken)
	again := keysOf(t)(auth.LoadOrCreateKeys(dir, auth.WithAlg(auth.AlgEdDSA)))
	if _, kid := header(t, g.AccessToken); again.AccessKid() != kid {
		t.Fatalf("restart: signs with %s, want %s", again.AccessKid(), kid)
	}
}

func TestBadAlg(t *testing.T) {
	if _, err := auth.NewKeys(auth.WithAlg("RS256")); err == nil {
		t.Fatal("RS256 keys: want an error")
	}
}
