package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Signing algorithms of access tokens (--jwt-alg).
const (
	// AlgHS256 signs with a shared secret: only samagate can verify.
	AlgHS256 = "HS256"
	// AlgEdDSA signs with an Ed25519 private key whose public half is served
	// at /.well-known/jwks.json, so other services can verify tokens.
	AlgEdDSA = "EdDSA"
)

// edKidPrefix starts the kid of every Ed25519 key. The store's signing_keys
// rows have no algorithm column, so a row is an Ed25519 key when its kid has
// this prefix and its secret is a valid 64-byte Ed25519 private key (seed
// followed by public key); anything else is an HS256 secret. The key file
// says it with an explicit "alg" field as well.
const edKidPrefix = "ed-"

// reloadEvery bounds how often an unknown kid reloads the keys from the
// store, so forged kids cannot turn into a query per token.
const reloadEvery = 10 * time.Second

// reloadTimeout bounds one reload from the store.
const reloadTimeout = 5 * time.Second

// defaultTokenLifetime is the longest token lifetime keys assume until a
// Service tells them its own (AccessTTLMax's default).
const defaultTokenLifetime = 30 * 24 * time.Hour

// retireSkew is added to the longest token lifetime before a superseded
// key is retired, for clocks that disagree a little.
const retireSkew = time.Minute

// Keys are the signing keys, newest first, each with a kid. Access tokens
// are signed with the newest key of the configured algorithm; every key
// verifies, so rotation (a new key in front) keeps tokens signed with older
// keys valid until they expire. There is always an HS256 secret as well:
// it signs short-lived internal tokens (selection tokens) even when access
// tokens are EdDSA. Keys loaded from a store reload themselves when a token
// names a kid they do not know (another node rotated). Keys may also trust
// one external issuer (WithExternalIssuer). Safe for concurrent use.
type Keys struct {
	// immutable after construction
	alg      string                                         // algorithm of access tokens
	reload   func(ctx context.Context) ([]key, error)       // nil: the keys never change
	external *jwksVerifier                                  // nil: no external issuer
	now      func() time.Time                               // clock of reload throttling and retirement
	remove   func(ctx context.Context, kids []string) error // deletes retired keys from their storage

	lifetime atomic.Int64 // longest token lifetime in ns (setMaxTokenLifetime)

	mu   sync.RWMutex // guards list
	list []key        // newest first; replaced whole, never modified in place

	reloadMu   sync.Mutex // one reload at a time; guards lastReload
	lastReload time.Time
}

// key is one signing key. Alg "" (older key files) means HS256.
type key struct {
	Kid     string    `json:"kid"`
	Secret  []byte    `json:"secret"` // HS256: the secret; EdDSA: the 64-byte private key
	Alg     string    `json:"alg,omitempty"`
	Created time.Time `json:"created"` // zero in older key files until loaded once
	seq     int       // store order; 0 for the key file
}

// keysFile is where LoadOrCreateKeys keeps the keys.
const keysFile = "signing-keys.json"

// KeyOption configures keys as they are loaded.
type KeyOption func(*keyOptions)

type keyOptions struct {
	alg      string
	external ExternalIssuer
}

// WithAlg sets the algorithm access tokens are signed with: AlgHS256 (the
// default, also for "") or AlgEdDSA. A key of that algorithm is created
// when none exists yet.
func WithAlg(alg string) KeyOption {
	return func(o *keyOptions) { o.alg = alg }
}

// WithExternalIssuer makes the keys trust tokens of another issuer, checked
// against its JWKS (see Service.ExternalPrincipal). The zero value trusts
// nobody.
func WithExternalIssuer(e ExternalIssuer) KeyOption {
	return func(o *keyOptions) { o.external = e }
}

func buildOptions(opts []KeyOption) (keyOptions, error) {
	var o keyOptions
	for _, f := range opts {
		f(&o)
	}
	switch o.alg {
	case "", AlgHS256:
		o.alg = AlgHS256
	case AlgEdDSA:
	default:
		return o, fmt.Errorf("jwt alg %q: want %s or %s", o.alg, AlgHS256, AlgEdDSA)
	}
	if err := o.external.validate(); err != nil {
		return o, err
	}
	return o, nil
}

// newKeySet builds Keys over list (already complete for o.alg); remove
// deletes retired keys from where they are kept (nil: memory only).
func newKeySet(list []key, o keyOptions, reload func(context.Context) ([]key, error),
	remove func(context.Context, []string) error) *Keys {
	k := &Keys{alg: o.alg, reload: reload, remove: remove, list: list, now: time.Now}
	k.lifetime.Store(int64(defaultTokenLifetime))
	if o.external.JWKSURL != "" {
		k.external = newJWKSVerifier(o.external)
	}
	return k
}

// NewKeys returns fresh random keys kept only in memory (tests, one-off
// tools): an HS256 secret, plus an Ed25519 key with WithAlg(AlgEdDSA).
func NewKeys(opts ...KeyOption) (*Keys, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	list, err := freshKeys(o.alg)
	if err != nil {
		return nil, err
	}
	return newKeySet(list, o, nil, nil), nil
}

// freshKeys returns a new key of every kind alg needs, newest first: the
// access-token key, and the HS256 secret of internal tokens.
func freshKeys(alg string) ([]key, error) {
	hs, err := newKey(AlgHS256)
	if err != nil {
		return nil, err
	}
	if alg != AlgEdDSA {
		return []key{hs}, nil
	}
	ed, err := newKey(AlgEdDSA)
	if err != nil {
		return nil, err
	}
	return []key{ed, hs}, nil
}

// missingKeys returns new keys for what list lacks (an HS256 secret; an
// Ed25519 key with AlgEdDSA), newest first.
func missingKeys(list []key, alg string) ([]key, error) {
	var out []key
	if alg == AlgEdDSA && !hasAlg(list, AlgEdDSA) {
		k, err := newKey(AlgEdDSA)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if !hasAlg(list, AlgHS256) {
		k, err := newKey(AlgHS256)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func hasAlg(list []key, alg string) bool {
	for _, k := range list {
		if k.alg() == alg {
			return true
		}
	}
	return false
}

func newKey(alg string) (key, error) {
	kid := make([]byte, 6)
	if _, err := rand.Read(kid); err != nil {
		return key{}, fmt.Errorf("generate kid: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(kid)
	if alg == AlgEdDSA {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return key{}, fmt.Errorf("generate ed25519 key: %w", err)
		}
		return key{Kid: edKidPrefix + id, Secret: priv, Alg: AlgEdDSA, Created: time.Now().UTC()}, nil
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return key{}, fmt.Errorf("generate key: %w", err)
	}
	return key{Kid: id, Secret: secret, Created: time.Now().UTC()}, nil
}

// alg is the key's algorithm, HS256 when unmarked.
func (k key) alg() string {
	if k.Alg == "" {
		return AlgHS256
	}
	return k.Alg
}

// check refuses keys that cannot sign safely.
func (k key) check() error {
	switch k.alg() {
	case AlgHS256:
		if len(k.Secret) < 32 {
			return fmt.Errorf("signing key %s: secret too short", k.Kid)
		}
	case AlgEdDSA:
		if !validEd25519(k.Secret) {
			return fmt.Errorf("signing key %s: not an ed25519 private key", k.Kid)
		}
	default:
		return fmt.Errorf("signing key %s: unknown alg %q", k.Kid, k.Alg)
	}
	if k.Kid == "" {
		return errors.New("signing key without kid")
	}
	return nil
}

// validEd25519 tells whether b is an Ed25519 private key: a seed followed
// by the public key derived from it.
func validEd25519(b []byte) bool {
	if len(b) != ed25519.PrivateKeySize {
		return false
	}
	return bytes.Equal(ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]), b)
}

// snapshot returns the current keys; the slice is never modified.
func (k *Keys) snapshot() []key {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.list
}

// newest returns the newest key of alg; one always exists.
func (k *Keys) newest(alg string) key {
	for _, x := range k.snapshot() {
		if x.alg() == alg {
			return x
		}
	}
	panic("auth: no " + alg + " signing key") // the loaders guarantee one
}

// signing returns the newest HS256 secret, which signs internal tokens.
func (k *Keys) signing() key { return k.newest(AlgHS256) }

// accessKey returns the key that signs access tokens.
func (k *Keys) accessKey() key { return k.newest(k.alg) }

// AccessKid is the kid new access tokens are signed with (logged after a
// rotation).
func (k *Keys) AccessKid() string { return k.accessKey().Kid }

// verifyKey returns the key that verifies a token of alg signed by kid: the
// HS256 secret or the Ed25519 public key. The key's own algorithm must be
// alg, so a token cannot pick how its signature is checked; a retired key
// verifies nothing.
func (k *Keys) verifyKey(kid, alg string) (any, error) {
	x, ok := k.lookup(kid)
	switch {
	case !ok:
		return nil, errors.New("unknown kid")
	case k.retired(k.snapshot(), x):
		return nil, fmt.Errorf("kid %s is retired", kid)
	case x.alg() != alg:
		return nil, fmt.Errorf("kid %s is not an %s key", kid, alg)
	case alg == AlgEdDSA:
		return ed25519.PrivateKey(x.Secret).Public(), nil
	default:
		return x.Secret, nil
	}
}

// usable reports whether kid is a key this node knows (without reloading),
// of alg, and not retired: what verifyKey would accept now.
func (k *Keys) usable(kid, alg string) bool {
	list := k.snapshot()
	x, ok := find(list, kid)
	return ok && x.alg() == alg && !k.retired(list, x)
}

// lookup finds kid, reloading the keys once when it is unknown.
func (k *Keys) lookup(kid string) (key, bool) {
	if x, ok := find(k.snapshot(), kid); ok {
		return x, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
	defer cancel()
	_ = k.refresh(ctx) // on failure the current keys stay; the token is refused
	return find(k.snapshot(), kid)
}

func find(list []key, kid string) (key, bool) {
	if kid == "" {
		return key{}, false
	}
	for _, x := range list {
		if x.Kid == kid {
			return x, true
		}
	}
	return key{}, false
}

// refresh reloads the keys from the store unless that happened less than
// reloadEvery ago (or they have no store). A reloaded set missing the key
// kinds this node signs with is refused.
func (k *Keys) refresh(ctx context.Context) error {
	if k.reload == nil {
		return nil
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	now := k.now()
	if !k.lastReload.IsZero() && now.Sub(k.lastReload) < reloadEvery {
		return nil
	}
	k.lastReload = now
	list, err := k.reload(ctx)
	if err != nil {
		return err
	}
	if !hasAlg(list, AlgHS256) || !hasAlg(list, k.alg) {
		return errors.New("reload signing keys: a kind of key is gone")
	}
	k.mu.Lock()
	k.list = list
	k.mu.Unlock()
	return nil
}
