package sqlite

import (
	"context"
	"fmt"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// SigningKeys implements store.Keys.
func (s *DB) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.query(ctx, `SELECT seq, kid, secret, created_at FROM signing_keys ORDER BY seq DESC`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	out := []store.SigningKey{}
	for rows.Next() {
		var k store.SigningKey
		var at int64
		if err := rows.Scan(&k.Seq, &k.Kid, &k.Secret, &at); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		k.CreatedAt = sqlrow.FromMS(at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddSigningKey implements store.Keys.
func (s *DB) AddSigningKey(ctx context.Context, k *store.SigningKey) error {
	if _, err := s.exec(ctx, `INSERT INTO signing_keys (seq, kid, secret, created_at) VALUES (?,?,?,?)`,
		k.Seq, k.Kid, k.Secret, sqlrow.MS(k.CreatedAt)); err != nil {
		return fmt.Errorf("add signing key: %w", mapErr(err))
	}
	return nil
}

// DeleteSigningKey implements store.Keys.
func (s *DB) DeleteSigningKey(ctx context.Context, kid string) error {
	if _, err := s.exec(ctx, `DELETE FROM signing_keys WHERE kid = ?`, kid); err != nil {
		return fmt.Errorf("delete signing key: %w", err)
	}
	return nil
}
