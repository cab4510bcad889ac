package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The keys of a single node, kept in a file beside its SQLite database.

// LoadOrCreateKeys reads dir/signing-keys.json, creating it (mode 0600) with
// fresh keys on first start, so restarts keep issued tokens valid. A key of
// the WithAlg algorithm is added (and the file rewritten) when missing.
func LoadOrCreateKeys(dir string, opts ...KeyOption) (*Keys, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	list, err := readKeyFile(dir)
	if err != nil {
		return nil, err
	}
	add, err := missingKeys(list, o.alg)
	if err != nil {
		return nil, err
	}
	stamped := stampCreated(list, time.Now())
	if len(add) > 0 || stamped {
		list = append(add, list...)
		if err := writeKeyFile(dir, list); err != nil {
			return nil, err
		}
	}
	return newKeySet(list, o, nil, fileRemover(dir)), nil
}

// fileRemover deletes retired keys from dir's key file.
func fileRemover(dir string) func(context.Context, []string) error {
	return func(_ context.Context, kids []string) error {
		list, err := readKeyFile(dir)
		if err != nil {
			return err
		}
		list = slices.DeleteFunc(list, func(k key) bool { return slices.Contains(kids, k.Kid) })
		return writeKeyFile(dir, list)
	}
}

// RotateKeys puts fresh keys in front of dir/signing-keys.json (a new
// access-token key and, with EdDSA, a new HS256 secret too) and rewrites
// the file: the new keys sign from now on, the old ones still verify the
// tokens they signed.
func RotateKeys(dir string, opts ...KeyOption) (*Keys, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	list, err := readKeyFile(dir)
	if err != nil {
		return nil, err
	}
	fresh, err := freshKeys(o.alg)
	if err != nil {
		return nil, err
	}
	stampCreated(list, time.Now())
	list = append(fresh, list...)
	if err := writeKeyFile(dir, list); err != nil {
		return nil, err
	}
	return newKeySet(list, o, nil, fileRemover(dir)), nil
}

// readKeyFile returns the keys of dir's key file, or none when there is no
// file yet.
func readKeyFile(dir string) ([]key, error) {
	data, err := os.ReadFile(filepath.Join(dir, keysFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", keysFile, err)
	}
	var list []key
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("read %s: %w", keysFile, err)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("read %s: no usable key", keysFile)
	}
	for _, k := range list {
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("read %s: %w", keysFile, err)
		}
	}
	return list, nil
}

// writeKeyFile replaces dir's key file atomically, readable by the owner
// only.
func writeKeyFile(dir string, list []key) error {
	data, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode %s: %w", keysFile, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key dir: %w", err)
	}
	path := filepath.Join(dir, keysFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", keysFile, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", keysFile, err)
	}
	return nil
}
