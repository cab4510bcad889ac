package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
