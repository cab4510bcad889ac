package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// CreateSession implements store.Sessions.
func (s *DB) CreateSession(ctx context.Context, x *store.Session) error {
	c := x.Client
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id, user_id, org_id, device_id, addr, user_agent,
		created_at, last_used_at, expires_at, revoked_at, platform, platform_version, app_name, app_version,
		provider) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
		x.ID, x.UserID, x.OrgID, x.DeviceID, x.Addr, x.UserAgent, sqlrow.MS(x.CreatedAt), sqlrow.MS(x.LastUsedAt),
		sqlrow.MS(x.ExpiresAt), sqlrow.MS(x.RevokedAt), c.Platform, c.PlatformVersion, c.AppName, c.AppVersion, c.Provider)
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session implements store.Sessions.
func (s *DB) Session(ctx context.Context, id string) (*store.Session, error) {
	return mapScan(sqlrow.Session(s.pool.QueryRow(ctx, `SELECT `+sqlrow.SessionCols+` FROM sessions WHERE id = $1`, id)))
}

// TouchSession implements store.Sessions.
func (s *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET last_used_at = $1 WHERE id = $2`, sqlrow.MS(at), id)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return affected(tag, "touch session")
}

// RevokeSession implements store.Sessions; the first revocation time stays.
func (s *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, sqlrow.MS(at), id); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeSessions implements store.Sessions.
func (s *DB) RevokeSessions(ctx context.Context, userID, deviceID string, at time.Time) (int, error) {
	q := `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`
	args := []any{sqlrow.MS(at), userID}
	if deviceID != "" {
		q += ` AND device_id = $3`
		args = append(args, deviceID)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// CreateRefreshToken implements store.Sessions.
func (s *DB) CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, used_at, replaced_by)
		VALUES ($1,$2,$3,$4,$5,$6)`, t.Hash, t.SessionID, sqlrow.MS(t.CreatedAt), sqlrow.MS(t.ExpiresAt), sqlrow.MS(t.UsedAt), t.ReplacedBy)
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

// RefreshToken implements store.Sessions.
func (s *DB) RefreshToken(ctx context.Context, hash string) (*store.RefreshToken, error) {
	var t store.RefreshToken
	var c, e, u int64
	err := s.pool.QueryRow(ctx, `SELECT hash, session_id, created_at, expires_at, used_at, replaced_by
		FROM refresh_tokens WHERE hash = $1`, hash).Scan(&t.Hash, &t.SessionID, &c, &e, &u, &t.ReplacedBy)
	if err != nil {
		return nil, mapErr(err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = sqlrow.FromMS(c), sqlrow.FromMS(e), sqlrow.FromMS(u)
	return &t, nil
}

// RotateRefreshToken implements store.Sessions in one statement: the
// successor is inserted only if the conditional update marked the old token
// used. A concurrent rotation of the same token waits on its row lock and
// then no longer matches used_at = 0, so a token is rotated at most once.
func (s *DB) RotateRefreshToken(ctx context.Context, hash string, next *store.RefreshToken, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `WITH used AS (
			UPDATE refresh_tokens SET used_at = $1, replaced_by = $2 WHERE hash = $3 AND used_at = 0 RETURNING hash
		)
		INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at, used_at, replaced_by)
		SELECT $2::text, $4::text, $5::bigint, $6::bigint, 0, '' FROM used`,
		sqlrow.MS(at), next.Hash, hash, next.SessionID, sqlrow.MS(next.CreatedAt), sqlrow.MS(next.ExpiresAt))
	if err != nil {
		return false, fmt.Errorf("rotate refresh token: %w", mapErr(err))
	}
	return tag.RowsAffected() == 1, nil
}

// LiveDevices implements store.Sessions.
func (s *DB) LiveDevices(ctx context.Context, userID string, now time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT device_id FROM sessions
		WHERE user_id = $1 AND revoked_at = 0 AND expires_at > $2 ORDER BY device_id`, userID, sqlrow.MS(now))
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("live devices: %w", err)
	}
	return out, nil
}

// UserSessions implements store.Sessions.
func (s *DB) UserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.SessionCols+` FROM sessions
		WHERE user_id = $1 AND revoked_at = 0 AND expires_at > $2 ORDER BY last_used_at DESC, id DESC`, userID, sqlrow.MS(now))
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user sessions: %w", err)
	}
	return out, nil
}

// RevokeOtherSessions implements store.Sessions.
func (s *DB) RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0 AND expires_at > $1 AND id <> $3`,
		sqlrow.MS(at), userID, exceptID)
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// UseOnce implements store.Sessions: the primary key lets one insert win.
func (s *DB) UseOnce(ctx context.Context, id string, expires time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO used_tokens (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		id, sqlrow.MS(expires))
	if err != nil {
		return false, fmt.Errorf("use token: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PruneSessions implements store.Sessions in one transaction of small
// steps; a session's refresh tokens go with it (ON DELETE CASCADE).
func (s *DB) PruneSessions(ctx context.Context, now time.Time, keepUsed int) (int, error) {
	at := sqlrow.MS(now)
	total := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, step := range []struct {
			name, sql string
			arg       any
		}{
			{"ended sessions", `DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at <> 0`, at},
			{"expired refresh tokens", `DELETE FROM refresh_tokens WHERE expires_at <= $1`, at},
			{"used refresh tokens", `DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM (
				SELECT hash, ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY used_at DESC, hash DESC) AS n
				FROM refresh_tokens WHERE used_at <> 0) r WHERE n > $1)`, keepUsed},
			{"used single-use tokens", `DELETE FROM used_tokens WHERE expires_at <= $1`, at},
		} {
			tag, err := tx.Exec(ctx, step.sql, step.arg)
			if err != nil {
				return fmt.Errorf("prune %s: %w", step.name, err)
			}
			total += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
