package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
)

// The keys of a cluster, kept in its shared database.

// KeyStore is where a cluster keeps its signing keys (implemented by the
// store backends).
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	AddSigningKey(ctx context.Context, k *store.SigningKey) error
	DeleteSigningKey(ctx context.Context, kid string) error
}

// storeAttempts bounds the rounds of adding keys while other nodes add
// theirs.
const storeAttempts = 4

// LoadOrCreateStoreKeys reads the signing keys shared by every node of a
// cluster from the database, creating the missing ones (the first start, or
// the first start with a new WithAlg). Nodes starting at once race on the
// same key numbers; the store lets one win and all read the winner, so
// every node signs with the same key. The keys reload themselves from ks
// when a token names an unknown kid, at most once per 10 s.
func LoadOrCreateStoreKeys(ctx context.Context, ks KeyStore, opts ...KeyOption) (*Keys, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	for range storeAttempts {
		list, err := loadStoreKeys(ctx, ks)
		if err != nil {
			return nil, err
		}
		add, err := missingKeys(list, o.alg)
		if err != nil {
			return nil, err
		}
		if len(add) == 0 {
			reload := func(ctx context.Context) ([]key, error) { return loadStoreKeys(ctx, ks) }
			return newKeySet(list, o, reload, storeRemover(ks)), nil
		}
		if err := addStoreKeys(ctx, ks, list, add); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("create signing key: %w", err)
		}
	}
	return nil, errors.New("create signing key: the store keeps changing")
}

// RotateStoreKeys adds fresh keys with the next numbers (a new access-token
// key and, with EdDSA, a new HS256 secret too): they sign from now on on
// this node, and on the others once a token with the new kid makes them
// reload. When another node rotates at the same moment its keys win and
// are returned instead.
func RotateStoreKeys(ctx context.Context, ks KeyStore, opts ...KeyOption) (*Keys, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	list, err := loadStoreKeys(ctx, ks)
	if err != nil {
		return nil, err
	}
	fresh, err := freshKeys(o.alg)
	if err != nil {
		return nil, err
	}
	if err := addStoreKeys(ctx, ks, list, fresh); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("rotate signing key: %w", err)
	}
	return LoadOrCreateStoreKeys(ctx, ks, opts...)
}

// storeRemover deletes retired keys from the store: the other nodes stop
// verifying them by the same rule, and forget them at their next reload.
func storeRemover(ks KeyStore) func(context.Context, []string) error {
	return func(ctx context.Context, kids []string) error {
		for _, kid := range kids {
			if err := ks.DeleteSigningKey(ctx, kid); err != nil {
				return err
			}
		}
		return nil
	}
}

// addStoreKeys stores add (newest first) after the keys of list, oldest
// first, so add[0] gets the highest number.
func addStoreKeys(ctx context.Context, ks KeyStore, list, add []key) error {
	top := 0
	for _, k := range list {
		top = max(top, k.seq)
	}
	now := time.Now().UTC()
	for i := len(add) - 1; i >= 0; i-- {
		top++
		sk := &store.SigningKey{Seq: top, Kid: add[i].Kid, Secret: add[i].Secret, CreatedAt: now}
		add[i].Created = now
		if err := ks.AddSigningKey(ctx, sk); err != nil {
			return err
		}
	}
	return nil
}

// loadStoreKeys reads every key of ks, newest first.
func loadStoreKeys(ctx context.Context, ks KeyStore) ([]key, error) {
	rows, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	list := make([]key, 0, len(rows))
	for _, r := range rows {
		k := key{Kid: r.Kid, Secret: r.Secret, Created: r.CreatedAt, seq: r.Seq}
		if strings.HasPrefix(r.Kid, edKidPrefix) && validEd25519(r.Secret) {
			k.Alg = AlgEdDSA
		}
		if err := k.check(); err != nil {
			return nil, err
		}
		list = append(list, k)
	}
	return list, nil
}
