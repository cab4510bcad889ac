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
	err := s.queryRow(ctx, `SELECT secret, enabled, last_step FROM totp WHERE user_id = ?`, userID).
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
		return s.removeTOTP(ctx, userID)
	}
	enabled := 0
	if t.Enabled {
		enabled = 1
	}
	if _, err := s.exec(ctx, `INSERT INTO totp (user_id, secret, enabled, last_step) VALUES (?,?,?,?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled = excluded.enabled, last_step = excluded.last_step`,
		userID, t.Secret, enabled, t.LastStep); err != nil {
		return fmt.Errorf("set totp: %w", mapErr(err))
	}
	return nil
}

// removeTOTP deletes the TOTP and the recovery codes in one transaction.
func (s *DB) removeTOTP(ctx context.Context, userID string) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("remove totp: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{`DELETE FROM totp WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("remove totp: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove totp: %w", err)
	}
	return nil
}

// ConfirmTOTP implements store.SecondFactors: enable, then replace the
// codes, in one transaction.
func (s *DB) ConfirmTOTP(ctx context.Context, userID, secret string, step int64, codes []store.RecoveryCode) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE totp SET enabled = 1, last_step = ? WHERE user_id = ? AND secret = ? AND enabled = 0`,
		step, userID, secret)
	if err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	}
	if err := affected(res, "confirm totp"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, selector, hash) VALUES (?,?,?)`,
			userID, c.Selector, c.Hash); err != nil {
			return fmt.Errorf("confirm totp: %w", mapErr(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	}
	return nil
}

// UseTOTPStep implements store.SecondFactors.
func (s *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.exec(ctx, `UPDATE totp SET last_step = ?1 WHERE user_id = ?2 AND last_step < ?1`, step, userID)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	return n == 1, nil
}

// RecoveryCode implements store.SecondFactors.
func (s *DB) RecoveryCode(ctx context.Context, userID, selector string) (string, error) {
	var h string
	err := s.queryRow(ctx, `SELECT hash FROM recovery_codes WHERE user_id = ? AND selector = ? LIMIT 1`,
		userID, selector).Scan(&h)
	if err != nil {
		return "", fmt.Errorf("recovery code: %w", mapErr(err))
	}
	return h, nil
}

// UseRecoveryCode implements store.SecondFactors.
func (s *DB) UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error) {
	res, err := s.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	return n == 1, nil
}
