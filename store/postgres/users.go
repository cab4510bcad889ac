package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// CreateUser implements store.Users.
func (s *DB) CreateUser(ctx context.Context, u *store.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (id, org_id, login, email, phone, first_name, last_name,
		avatar_object, password_hash, recent_activity, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		u.ID, u.OrgID, u.Login, sqlrow.Nullable(u.Email), sqlrow.Nullable(u.Phone), u.FirstName, u.LastName,
		sqlrow.RawOrNil(u.AvatarObject), u.PasswordHash, u.RecentActivity, sqlrow.MS(u.CreatedAt), sqlrow.MS(u.UpdatedAt))
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByID implements store.Users.
func (s *DB) UserByID(ctx context.Context, orgID, id string) (*store.User, error) {
	return mapScan(sqlrow.User(s.pool.QueryRow(ctx, `SELECT `+sqlrow.UserCols+` FROM users WHERE org_id = $1 AND id = $2`, orgID, id)))
}

// UserByLogin implements store.Users: a login match wins over an e-mail
// one, both by samagate_fold (the indexes of migration 0012).
func (s *DB) UserByLogin(ctx context.Context, orgID, login string) (*store.User, error) {
	return mapScan(sqlrow.User(s.pool.QueryRow(ctx, `SELECT `+sqlrow.UserCols+` FROM users
		WHERE org_id = $1 AND (samagate_fold(login) = samagate_fold($2)
			OR (email IS NOT NULL AND samagate_fold(email) = samagate_fold($2)))
		ORDER BY samagate_fold(login) = samagate_fold($2) DESC LIMIT 1`, orgID, login)))
}

// UserTaken implements store.Users.
func (s *DB) UserTaken(ctx context.Context, orgID, exceptID, login, email, phone string) (bool, error) {
	var taken bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND id <> $2 AND (
			($3::text <> '' AND samagate_fold(login) = samagate_fold($3::text))
			OR ($4::text <> '' AND email IS NOT NULL AND samagate_fold(email) = samagate_fold($4::text))
			OR ($5::text <> '' AND phone IS NOT NULL AND samagate_fold(phone) = samagate_fold($5::text))))`,
		orgID, exceptID, login, email, phone).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("user taken: %w", err)
	}
	return taken, nil
}

// UpdateUser implements store.Users.
func (s *DB) UpdateUser(ctx context.Context, u *store.User) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET login = $1, email = $2, phone = $3, first_name = $4, last_name = $5,
		avatar_object = $6, password_hash = $7, updated_at = $8 WHERE org_id = $9 AND id = $10`,
		u.Login, sqlrow.Nullable(u.Email), sqlrow.Nullable(u.Phone), u.FirstName, u.LastName, sqlrow.RawOrNil(u.AvatarObject),
		u.PasswordHash, sqlrow.MS(u.UpdatedAt), u.OrgID, u.ID)
	if err := mapErr(err); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return affected(tag, "update user")
}

// DeleteUser implements store.Users; sessions and tokens go by cascade.
func (s *DB) DeleteUser(ctx context.Context, orgID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return affected(tag, "delete user")
}

// likePrefix escapes LIKE wildcards so user input matches literally.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// SearchUsers implements store.Users: case-insensitive (samagate_fold)
// prefix on login, first or last name; SAMA's order (first_name desc,
// last_name, login), byte-wise like SQLite's.
func (s *DB) SearchUsers(ctx context.Context, orgID string, q store.UserQuery) ([]store.User, error) {
	sqlq := `SELECT ` + sqlrow.UserCols + ` FROM users WHERE org_id = $1
		AND (samagate_fold(login) LIKE $2 ESCAPE '\' OR samagate_fold(first_name) LIKE $2 ESCAPE '\'
			OR samagate_fold(last_name) LIKE $2 ESCAPE '\')`
	args := []any{orgID, likePrefix(sqlrow.Fold(q.Prefix))}
	if len(q.ExcludeIDs) > 0 {
		args = append(args, q.ExcludeIDs)
		sqlq += ` AND id <> ALL($` + strconv.Itoa(len(args)) + `)`
	}
	if !q.UpdatedAfter.IsZero() {
		args = append(args, sqlrow.MS(q.UpdatedAfter))
		sqlq += ` AND updated_at > $` + strconv.Itoa(len(args))
	}
	args = append(args, limitArg(q.Limit))
	sqlq += ` ORDER BY first_name COLLATE "C" DESC, last_name COLLATE "C", login COLLATE "C" LIMIT $` + strconv.Itoa(len(args))
	return s.queryUsers(ctx, sqlq, args...)
}

// UsersByIDs implements store.Users.
func (s *DB) UsersByIDs(ctx context.Context, orgID string, ids []string) ([]store.User, error) {
	if len(ids) == 0 {
		return []store.User{}, nil
	}
	return s.queryUsers(ctx, `SELECT `+sqlrow.UserCols+` FROM users WHERE org_id = $1 AND id = ANY($2) ORDER BY id DESC`, orgID, ids)
}

func (s *DB) queryUsers(ctx context.Context, q string, args ...any) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query users: %w", err)
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := mapScan(sqlrow.User(rows))
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query users: %w", err)
	}
	return out, nil
}

// SetRecentActivity implements store.Users, in one statement.
func (s *DB) SetRecentActivity(ctx context.Context, activity map[string]int64) error {
	if len(activity) == 0 {
		return nil
	}
	ids := make([]string, 0, len(activity))
	unix := make([]int64, 0, len(activity))
	for id, t := range activity {
		ids, unix = append(ids, id), append(unix, t)
	}
	_, err := s.pool.Exec(ctx, `UPDATE users u SET recent_activity = a.t
		FROM unnest($1::text[], $2::bigint[]) AS a(id, t) WHERE u.id = a.id`, ids, unix)
	if err != nil {
		return fmt.Errorf("set recent activity: %w", err)
	}
	return nil
}

// Organization implements store.Organizations.
func (s *DB) Organization(ctx context.Context, id string) (*store.Organization, error) {
	var o store.Organization
	var c, u int64
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at, updated_at FROM organizations WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &c, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	o.CreatedAt, o.UpdatedAt = sqlrow.FromMS(c), sqlrow.FromMS(u)
	return &o, nil
}

// CreateOrganization implements store.Organizations.
func (s *DB) CreateOrganization(ctx context.Context, o *store.Organization) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO organizations (id, name, created_at, updated_at) VALUES ($1,$2,$3,$4)`,
		o.ID, o.Name, sqlrow.MS(o.CreatedAt), sqlrow.MS(o.UpdatedAt))
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create organization: %w", err)
	}
	return nil
}

// UsersByIdentifier implements store.Users.
func (s *DB) UsersByIdentifier(ctx context.Context, ident string, limit int) ([]store.User, error) {
	return s.queryUsers(ctx, `SELECT `+sqlrow.UserCols+` FROM users
		WHERE samagate_fold(login) = samagate_fold($1)
			OR (email IS NOT NULL AND samagate_fold(email) = samagate_fold($1))
		ORDER BY org_id LIMIT $2`, ident, limit)
}

// SetLastLogin implements store.Users.
func (s *DB) SetLastLogin(ctx context.Context, userID string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, sqlrow.MS(at), userID); err != nil {
		return fmt.Errorf("set last login: %w", err)
	}
	return nil
}
