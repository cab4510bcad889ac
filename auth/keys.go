package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/samagate/samagate/store"
)

// Keys are the HS256 signing keys, each with a kid. The first signs; all
// verify (rotation adds a key in front, old ones verify until their tokens
// expire).
type Keys struct {
	list []key
}

type key struct {
	Kid    string `json:"kid"`
	Secret []byte `json:"secret"`
}

// keysFile is where LoadOrCreateKeys keeps the keys.
const keysFile = "signing-keys.json"

// NewKeys returns one fresh random key.
func NewKeys() (*Keys, error) {
	k, err := newKey()
	if err != nil {
		return nil, err
	}
	return &Keys{list: []key{k}}, nil
}

func newKey() (key, error) {
	secret := make([]byte, 32)
	kid := make([]byte, 6)
	if _, err := rand.Read(secret); err != nil {
		return key{}, fmt.Errorf("generate key: %w", err)
	}
	if _, err := rand.Read(kid); err != nil {
		return key{}, fmt.Errorf("generate kid: %w", err)
	}
	return key{Kid: base64.RawURLEncoding.EncodeToString(kid), Secret: secret}, nil
}

// LoadOrCreateKeys reads dir/signing-keys.json, creating it (mode 0600) with
// a fresh key on first start, so restarts keep issued tokens valid.
func LoadOrCreateKeys(dir string) (*Keys, error) {
	path := filepath.Join(dir, keysFile)
	data, err := os.ReadFile(path)
	if err == nil {
		var list []key
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("read %s: %w", keysFile, err)
		}
		if len(list) == 0 || len(list[0].Secret) < 32 {
			return nil, fmt.Errorf("read %s: no usable key", keysFile)
		}
		return &Keys{list: list}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", keysFile, err)
	}
	k, err := NewKeys()
	if err != nil {
		return nil, err
	}
	data, err = json.Marshal(k.list)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", keysFile, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write %s: %w", keysFile, err)
	}
	return k, nil
}

func (k *Keys) signing() key { return k.list[0] }

func (k *Keys) byKid(kid string) ([]byte, bool) {
	for _, x := range k.list {
		if x.Kid == kid {
			return x.Secret, true
		}
	}
	return nil, false
}

// KeyStore is where a cluster keeps its signing keys (implemented by the
// store backends).
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	AddSigningKey(ctx context.Context, k *store.SigningKey) error
}

// LoadOrCreateStoreKeys reads the signing keys shared by every node of a
// cluster from the database, creating the first one when there is none.
// Nodes starting at once race on key number 1; the store lets one win and
// all read the winner, so every node signs with the same key.
func LoadOrCreateStoreKeys(ctx context.Context, ks KeyStore) (*Keys, error) {
	list, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if len(list) == 0 {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		sk := &store.SigningKey{Seq: 1, Kid: k.Kid, Secret: k.Secret, CreatedAt: time.Now().UTC()}
		if err := ks.AddSigningKey(ctx, sk); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("create signing key: %w", err)
		}
		if list, err = ks.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
	}
	out := &Keys{}
	for _, k := range list {
		if len(k.Secret) < 32 {
			return nil, fmt.Errorf("signing key %s: secret too short", k.Kid)
		}
		out.list = append(out.list, key{Kid: k.Kid, Secret: k.Secret})
	}
	if len(out.list) == 0 {
		return nil, errors.New("load signing keys: none stored")
	}
	return out, nil
}
