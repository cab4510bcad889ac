package httpauth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/httpauth"
	"github.com/samagate/samagate/store/sqlite"
)

// newEdServer is newServer with EdDSA access tokens.
func newEdServer(t *testing.T) *server {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	keys, err := auth.NewKeys(auth.WithAlg(auth.AlgEdDSA))
	if err != nil {
		t.Fatalf("new keys: %v", err)
	}
	svc, err := auth.New(db, keys, auth.Config{Hash: auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}}, zerolog.Nop())
	if err != nil {
		t.Fatalf("new auth: %v", err)
	}
	ts := httptest.NewServer(httpauth.New(svc, httpauth.Config{}, zerolog.Nop()))
	t.Cleanup(ts.Close)
	client := ts.Client()
	t.Cleanup(client.CloseIdleConnections)
	return &server{url: ts.URL, client: client, svc: svc, db: db, accessTTL: 3 * time.Hour}
}

// TestJWKS: GET /.well-known/jwks.json serves the Ed25519 public key,
// cacheable, and that document alone verifies an access token from /login.
func TestJWKS(t *testing.T) {
	s := newEdServer(t)
	s.createUser(t, "alice", "secret")
	ok := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("alice", "secret", "d")}))

	r := s.do(t, req{method: http.MethodGet, path: "/.well-known/jwks.json"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" ||
		r.header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("jwks: got %d %q %q %s", r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"), r.body)
	}
	if strings.Contains(r.body, `"k"`) || strings.Contains(r.body, `"d"`) || strings.Contains(r.body, "HS256") {
		t.Fatalf("jwks leaks private material: %s", r.body)
	}
	verifyEdDSA(t, r.body, ok.AccessToken)

	if h := s.do(t, req{method: http.MethodHead, path: "/.well-known/jwks.json"}); h.status != http.StatusOK || h.body != "" {
		t.Fatalf("HEAD: got %d %q", h.status, h.body)
	}
	expectError(t, s.do(t, req{path: "/.well-known/jwks.json"}), http.StatusNotFound, "Route not found")
}

// TestJWKSWithoutEdDSA: with HS256 keys only there is nothing to publish.
func TestJWKSWithoutEdDSA(t *testing.T) {
	s := newServer(t, nil)
	expectError(t, s.do(t, req{method: http.MethodGet, path: "/.well-known/jwks.json"}), http.StatusNotFound, "Route not found")
	if got := s.svc.JWKS(context.Background()); len(got.Keys) != 0 {
		t.Fatalf("JWKS: got %+v, want none", got)
	}
}

// verifyEdDSA checks token's signature with nothing but the JWKS document,
// as a service without samagate's code would.
func verifyEdDSA(t *testing.T, jwks, token string) {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
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
		tampered := []byte(parts[0] + "." + parts[1] + "x")
		if ed25519.Verify(ed25519.PublicKey(x), tampered, sig) {
			t.Fatal("signature verifies a tampered token")
		}
		return
	}
	t.Fatalf("kid %s not in the JWKS %s", hdr.Kid, jwks)
}
