package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// CreateSession implements store.Sessions.
func (s *DB) CreateSession(ctx context.Context, x *store.Session) error {
	c := x.Client
	_, err := s.exec(ctx, `INSERT INTO sessions (id, user_id, org_id, device_id, addr, user_agent,
		created_at, last_used_at, expires_at, revoked_at, platform, platform_version, app_name, app_version,
		provider) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.UserID, x.OrgID, x.DeviceID, x.Addr, x.UserAgent, sqlrow.MS(x.CreatedAt), sqlrow.MS(x.LastUsedAt),
		sqlrow.MS(x.ExpiresAt), sqlrow.MS(x.RevokedAt), c.Platform, c.PlatformVersion, c.AppName, c.AppVersion, c.Provider)
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session implements store.Sessions.
func (s *DB) Session(ctx context.Context, id string) (*store.Session, error) {
	return mapScan(sqlrow.Session(s.queryRow(ctx, `SELECT `+sqlrow.SessionCols+` FROM sessions WHERE id = ?`, id)))
}

// TouchSession implements store.Sessions.
func (s *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE sessions SET last_used_at = ? WHERE id = ?`, sqlrow.MS(at), id)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return affected(res, "touch session")
}

// RevokeSession implements store.Sessions.
func (s *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, sqlrow.MS(at), id); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeSessions implements store.Sessions.
func (s *DB) RevokeSessions(ctx context.Context, userID, deviceID string, at time.Time) (int, error) {
	q := `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0`
	args := []any{sqlrow.MS(at), userID}
	if deviceID != "" {
		q += ` AND device_id = ?`
		args = append(args, deviceID)
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CreateRefreshToken implements store.Sessions.
func (s *DB) CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error {
	_, err := s.exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, used_at, replaced_by)
		VALUES (?,?,?,?,?,?)`, t.Hash, t.SessionID, sqlrow.MS(t.CreatedAt), sqlrow.MS(t.ExpiresAt), sqlrow.MS(t.UsedAt), t.ReplacedBy)
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// RefreshToken implements store.Sessions.
func (s *DB) RefreshToken(ctx context.Context, hash string) (*store.RefreshToken, error) {
	var t store.RefreshToken
	var c, e, u int64
	err := s.queryRow(ctx, `SELECT hash, session_id, created_at, expires_at, used_at, replaced_by
		FROM refresh_tokens WHERE hash = ?`, hash).Scan(&t.Hash, &t.SessionID, &c, &e, &u, &t.ReplacedBy)
	if err != nil {
		return nil, mapErr(err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = sqlrow.FromMS(c), sqlrow.FromMS(e), sqlrow.FromMS(u)
	return &t, nil
}

// RotateRefreshToken implements store.Sessions in one transaction: the
// conditional update makes a concurrent second rotation of the same token
// lose, so a token is rotated at most once.
func (s *DB) RotateRefreshToken(ctx context.Context, hash string, next *store.RefreshToken, at time.Time) (bool, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return false, fmt.Errorf("rotate refresh token: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE hash = ? AND used_at = 0`,
		sqlrow.MS(at), next.Hash, hash)
	if err != nil {
		return false, fmt.Errorf("rotate refresh token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, used_at, replaced_by)
		VALUES (?,?,?,?,0,'')`, next.Hash, next.SessionID, sqlrow.MS(next.CreatedAt), sqlrow.MS(next.ExpiresAt)); err != nil {
		return false, fmt.Errorf("rotate refresh token: %w", mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("rotate refresh token: %w", err)
	}
	return true, nil
}

// LiveDevices implements store.Sessions.
func (s *DB) LiveDevices(ctx context.Context, userID string, now time.Time) ([]string, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT device_id FROM sessions
		WHERE user_id = ? AND revoked_at = 0 AND expires_at > ? ORDER BY device_id`, userID, sqlrow.MS(now))
	if err != nil {
		return nil, fmt.Errorf("live devices: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("live devices: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// UserSessions implements store.Sessions.
func (s *DB) UserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.SessionCols+` FROM sessions
		WHERE user_id = ? AND revoked_at = 0 AND expires_at > ? ORDER BY last_used_at DESC, id DESC`, userID, sqlrow.MS(now))
	if err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	defer rows.Close()
	out := []store.Session{}
	for rows.Next() {
		x, err := mapScan(sqlrow.Session(rows))
		if err != nil {
			return nil, fmt.Errorf("user sessions: %w", err)
		}
		out = append(out, *x)
	}
	return out, rows.Err()
}

// RevokeOtherSessions implements store.Sessions.
func (s *DB) RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error) {
	res, err := s.exec(ctx, `UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at = 0 AND expires_at > ?1 AND id <> ?3`,
		sqlrow.MS(at), userID, exceptID)
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// UseOnce implements store.Sessions: the primary key lets one insert win.
func (s *DB) UseOnce(ctx context.Context, id string, expires time.Time) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO used_tokens (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
		id, sqlrow.MS(expires))
	if err != nil {
		return false, fmt.Errorf("use token: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use token: %w", err)
	}
	return n == 1, nil
}

// PruneSessions implements store.Sessions in one transaction of small
// steps; a session's refresh tokens go with it (ON DELETE CASCADE).
func (s *DB) PruneSessions(ctx context.Context, now time.Time, keepUsed int) (int, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	at := sqlrow.MS(now)
	total := 0
	for _, step := range []struct {
		name, sql string
		arg       any
	}{
		{"ended sessions", `DELETE FROM sessions WHERE expires_at <= ? OR revoked_at <> 0`, at},
		{"expired refresh tokens", `DELETE FROM refresh_tokens WHERE expires_at <= ?`, at},
		{"used refresh tokens", `DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM (
			SELECT hash, ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY used_at DESC, hash DESC) AS n
			FROM refresh_tokens WHERE used_at <> 0) WHERE n > ?)`, keepUsed},
		{"used single-use tokens", `DELETE FROM used_tokens WHERE expires_at <= ?`, at},
	} {
		res, err := tx.ExecContext(ctx, step.sql, step.arg)
		if err != nil {
			return 0, fmt.Errorf("prune %s: %w", step.name, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return total, nil
}
