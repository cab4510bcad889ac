package auth

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// memKeyStore is a KeyStore in memory.
type memKeyStore struct{ rows []store.SigningKey }

func (m *memKeyStore) SigningKeys(context.Context) ([]store.SigningKey, error) {
	out := make([]store.SigningKey, len(m.rows))
	for i, r := range m.rows { // highest Seq first
		out[len(m.rows)-1-i] = r
	}
	return out, nil
}

func (m *memKeyStore) AddSigningKey(_ context.Context, k *store.SigningKey) error {
	for _, r := range m.rows {
		if r.Seq == k.Seq || r.Kid == k.Kid {
			return store.ErrConflict
		}
	}
	m.rows = append(m.rows, *k)
	return nil
}

func (m *memKeyStore) DeleteSigningKey(_ context.Context, kid string) error {
	m.rows = slices.DeleteFunc(m.rows, func(r store.SigningKey) bool { return r.Kid == kid })
	return nil
}

// TestReloadThrottle: unknown kids reload the keys at most once per
// reloadEvery.
func TestReloadThrottle(t *testing.T) {
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	var reloads atomic.Int32
	now := time.Unix(1_700_000_000, 0)
	keys.now = func() time.Time { return now }
	keys.reload = func(context.Context) ([]key, error) {
		reloads.Add(1)
		return keys.snapshot(), nil
	}
	for range 5 {
		if _, err := keys.verifyKey("nope", AlgHS256); err == nil {
			t.Fatal("unknown kid verified")
		}
	}
	if n := reloads.Load(); n != 1 {
		t.Fatalf("reloads within the window: got %d, want 1", n)
	}
	now = now.Add(reloadEvery)
	if _, err := keys.verifyKey("nope", AlgHS256); err == nil {
		t.Fatal("unknown kid verified")
	}
	if n := reloads.Load(); n != 2 {
		t.Fatalf("reloads after the window: got %d, want 2", n)
	}
	if _, err := keys.verifyKey(keys.signing().Kid, AlgHS256); err != nil || reloads.Load() != 2 {
		t.Fatalf("known kid: got %v after %d reloads, want no reload", err, reloads.Load())
	}
}

// TestKeyKinds: with EdDSA the internal tokens keep an HS256 secret;
// verifyKey never hands out an Ed25519 key as an HMAC secret; a store row is an
// Ed25519 key only with the kid prefix and a valid private key.
func TestKeyKinds(t *testing.T) {
	keys, err := NewKeys(WithAlg(AlgEdDSA))
	if err != nil {
		t.Fatal(err)
	}
	hs, ed := keys.signing(), keys.accessKey()
	if hs.alg() != AlgHS256 || len(hs.Secret) != 32 || ed.alg() != AlgEdDSA {
		t.Fatalf("keys: got %s/%d and %s", hs.alg(), len(hs.Secret), ed.alg())
	}
	if s, err := keys.verifyKey(hs.Kid, AlgHS256); err != nil || string(s.([]byte)) != string(hs.Secret) {
		t.Fatalf("the HS256 secret is lost: %v", err)
	}
	if _, err := keys.verifyKey(ed.Kid, AlgHS256); err == nil {
		t.Fatal("ed25519 key verified HS256")
	}
	if _, err := keys.verifyKey(hs.Kid, AlgEdDSA); err == nil {
		t.Fatal("HS256 secret verified EdDSA")
	}

	ks := &memKeyStore{rows: []store.SigningKey{
		{Seq: 1, Kid: "ed-lookalike", Secret: make([]byte, 32)}, // an old HS256 kid that happens to start with ed-
		{Seq: 2, Kid: ed.Kid, Secret: ed.Secret},
	}}
	ks.rows[0].Secret[0] = 1
	got, err := LoadOrCreateStoreKeys(context.Background(), ks, WithAlg(AlgEdDSA))
	if err != nil {
		t.Fatal(err)
	}
	if got.signing().Kid != "ed-lookalike" || got.accessKey().Kid != ed.Kid || len(ks.rows) != 2 {
		t.Fatalf("kinds from the store: got HS %s, EdDSA %s, %d rows", got.signing().Kid, got.accessKey().Kid, len(ks.rows))
	}
	bad := &memKeyStore{rows: []store.SigningKey{{Seq: 1, Kid: "short", Secret: []byte{1}}}}
	if _, err := LoadOrCreateStoreKeys(context.Background(), bad); err == nil {
		t.Fatal("short secret: want an error")
	}
	rot, err := RotateStoreKeys(context.Background(), ks, WithAlg(AlgEdDSA))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.rows) != 4 || ks.rows[3].Seq != 4 || rot.accessKey().Kid != ks.rows[3].Kid || rot.signing().Kid != ks.rows[2].Kid {
		t.Fatalf("rotation: got %d rows, signing %s/%s", len(ks.rows), rot.accessKey().Kid, rot.signing().Kid)
	}
}
