package sqlite

import (
	"context"
	"fmt"

	"github.com/samagate/samagate/store"
)

// TOTP implements store.SecondFactors.
func (s *DB) TOTP(ctx context.Context, userID string) (store.TOTP, error) {
	var t store.TOTP
	var enabled int
	err := s.db.QueryRowContext(ctx, `SELECT secret, enabled, last_step FROM totp WHERE user_id = ?`, userID).
		Scan(&t.Secret, &enabled, &t.LastStep)
	if err := mapErr(err); err == store.ErrNotFound {
		return store.TOTP{}, nil
	} else if err != nil {
		return store.TOTP{}, fmt.Errorf("load totp: %w", err)
	}
	t.Enabled = enabled == 1
	return t, nil
}

// SetTOTP implements store.SecondFactors.
func (s *DB) SetTOTP(ctx context.Context, userID string, t store.TOTP) error {
	if t == (store.TOTP{}) {
		for _, q := range []string{`DELETE FROM totp WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`} {
			if _, err := s.db.ExecContext(ctx, q, userID); err != nil {
				return fmt.Errorf("remove totp: %w", err)
			}
		}
		return nil
	}
	enabled := 0
	if t.Enabled {
		enabled = 1
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO totp (user_id, secret, enabled, last_step) VALUES (?,?,?,?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled = excluded.enabled, last_step = excluded.last_step`,
		userID, t.Secret, enabled, t.LastStep); err != nil {
		return fmt.Errorf("set totp: %w", mapErr(err))
	}
	return nil
}

// UseTOTPStep implements store.SecondFactors.
func (s *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE totp SET last_step = ?1 WHERE user_id = ?2 AND last_step < ?1`, step, userID)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	return n == 1, nil
}

// SetRecoveryCodes implements store.SecondFactors.
func (s *DB) SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("set recovery codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?,?)`, userID, h); err != nil {
			return fmt.Errorf("set recovery codes: %w", mapErr(err))
		}
	}
	return nil
}

// RecoveryCodes implements store.SecondFactors.
func (s *DB) RecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash FROM recovery_codes WHERE user_id = ? ORDER BY hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("recovery codes: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("recovery codes: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// UseRecoveryCode implements store.SecondFactors.
func (s *DB) UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	return n == 1, nil
}
