package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

func avatarArg(u *store.User) any {
	if len(u.AvatarObject) == 0 {
		return nil
	}
	return string(u.AvatarObject)
}

// CreateUser implements store.Users.
func (s *DB) CreateUser(ctx context.Context, u *store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (id, org_id, login, email, phone, first_name, last_name,
		avatar_object, password_hash, recent_activity, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.OrgID, u.Login, sqlrow.Nullable(u.Email), sqlrow.Nullable(u.Phone), u.FirstName, u.LastName,
		avatarArg(u), u.PasswordHash, u.RecentActivity, sqlrow.MS(u.CreatedAt), sqlrow.MS(u.UpdatedAt))
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByID implements store.Users.
func (s *DB) UserByID(ctx context.Context, orgID, id string) (*store.User, error) {
	return mapScan(sqlrow.User(s.queryRow(ctx, `SELECT `+sqlrow.UserCols+` FROM users WHERE org_id = ? AND id = ?`, orgID, id)))
}

// UserByLogin implements store.Users: login first, then e-mail, both by
// samagate_fold (the indexes of migration 0012).
func (s *DB) UserByLogin(ctx context.Context, orgID, login string) (*store.User, error) {
	return mapScan(sqlrow.User(s.queryRow(ctx, `SELECT `+sqlrow.UserCols+` FROM users
		WHERE org_id = ?1 AND (samagate_fold(login) = samagate_fold(?2)
			OR (email IS NOT NULL AND samagate_fold(email) = samagate_fold(?2)))
		ORDER BY samagate_fold(login) = samagate_fold(?2) DESC LIMIT 1`, orgID, login)))
}

// UserTaken implements store.Users.
func (s *DB) UserTaken(ctx context.Context, orgID, exceptID, login, email, phone string) (bool, error) {
	var taken bool
	err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE org_id = ?1 AND id <> ?2 AND (
			(?3 <> '' AND samagate_fold(login) = samagate_fold(?3))
			OR (?4 <> '' AND email IS NOT NULL AND samagate_fold(email) = samagate_fold(?4))
			OR (?5 <> '' AND phone IS NOT NULL AND samagate_fold(phone) = samagate_fold(?5))))`,
		orgID, exceptID, login, email, phone).Scan(&taken)
	if err != nil {
		return false, fmt.Errorf("user taken: %w", err)
	}
	return taken, nil
}

// UpdateUser implements store.Users.
func (s *DB) UpdateUser(ctx context.Context, u *store.User) error {
	res, err := s.exec(ctx, `UPDATE users SET login = ?, email = ?, phone = ?, first_name = ?, last_name = ?,
		avatar_object = ?, password_hash = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		u.Login, sqlrow.Nullable(u.Email), sqlrow.Nullable(u.Phone), u.FirstName, u.LastName, avatarArg(u),
		u.PasswordHash, sqlrow.MS(u.UpdatedAt), u.OrgID, u.ID)
	if err := mapErr(err); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return affected(res, "update user")
}

// DeleteUser implements store.Users; sessions and tokens go by cascade.
func (s *DB) DeleteUser(ctx context.Context, orgID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM users WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return affected(res, "delete user")
}

// likePrefix escapes LIKE wildcards so user input matches literally.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

// SearchUsers implements store.Users: case-insensitive (samagate_fold)
// prefix on login, first or last name; SAMA's order (first_name desc,
// last_name, login).
func (s *DB) SearchUsers(ctx context.Context, orgID string, q store.UserQuery) ([]store.User, error) {
	like := likePrefix(sqlrow.Fold(q.Prefix))
	sqlq := `SELECT ` + sqlrow.UserCols + ` FROM users WHERE org_id = ?
		AND (samagate_fold(login) LIKE ? ESCAPE '\' OR samagate_fold(first_name) LIKE ? ESCAPE '\'
			OR samagate_fold(last_name) LIKE ? ESCAPE '\')`
	args := []any{orgID, like, like, like}
	if len(q.ExcludeIDs) > 0 {
		sqlq += ` AND id NOT IN (?` + strings.Repeat(",?", len(q.ExcludeIDs)-1) + `)`
		for _, id := range q.ExcludeIDs {
			args = append(args, id)
		}
	}
	if !q.UpdatedAfter.IsZero() {
		sqlq += ` AND updated_at > ?`
		args = append(args, sqlrow.MS(q.UpdatedAfter))
	}
	sqlq += ` ORDER BY first_name DESC, last_name, login LIMIT ?`
	args = append(args, q.Limit)
	return s.queryUsers(ctx, false, sqlq, args...)
}

// UsersByIDs implements store.Users.
func (s *DB) UsersByIDs(ctx context.Context, orgID string, ids []string) ([]store.User, error) {
	if len(ids) == 0 {
		return []store.User{}, nil
	}
	args := []any{orgID}
	for _, id := range ids {
		args = append(args, id)
	}
	return s.queryUsers(ctx, false, `SELECT `+sqlrow.UserCols+` FROM users WHERE org_id = ? AND id IN (?`+
		strings.Repeat(",?", len(ids)-1)+`) ORDER BY id DESC`, args...)
}

// queryUsers runs a SELECT of sqlrow.UserCols and scans every row;
// prepared when its text is fixed.
func (s *DB) queryUsers(ctx context.Context, fixed bool, q string, args ...any) ([]store.User, error) {
	rows, err := s.rows(ctx, fixed, q, args...)
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
	return out, rows.Err()
}

// SetRecentActivity implements store.Users.
func (s *DB) SetRecentActivity(ctx context.Context, activity map[string]int64) error {
	if len(activity) == 0 {
		return nil
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("set recent activity: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for id, unix := range activity {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET recent_activity = ? WHERE id = ?`, unix, id); err != nil {
			return fmt.Errorf("set recent activity: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set recent activity: %w", err)
	}
	return nil
}

// Organization implements store.Organizations.
func (s *DB) Organization(ctx context.Context, id string) (*store.Organization, error) {
	var o store.Organization
	var c, u int64
	err := s.queryRow(ctx, `SELECT id, name, created_at, updated_at FROM organizations WHERE id = ?`, id).
		Scan(&o.ID, &o.Name, &c, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	o.CreatedAt, o.UpdatedAt = sqlrow.FromMS(c), sqlrow.FromMS(u)
	return &o, nil
}

// CreateOrganization implements store.Organizations.
func (s *DB) CreateOrganization(ctx context.Context, o *store.Organization) error {
	_, err := s.exec(ctx, `INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?,?,?,?)`,
		o.ID, o.Name, sqlrow.MS(o.CreatedAt), sqlrow.MS(o.UpdatedAt))
	if err := mapErr(err); err != nil {
		return fmt.Errorf("create organization: %w", err)
	}
	return nil
}

func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// UsersByIdentifier implements store.Users.
func (s *DB) UsersByIdentifier(ctx context.Context, ident string, limit int) ([]store.User, error) {
	return s.queryUsers(ctx, true, `SELECT `+sqlrow.UserCols+` FROM users
		WHERE samagate_fold(login) = samagate_fold(?1)
			OR (email IS NOT NULL AND samagate_fold(email) = samagate_fold(?1))
		ORDER BY org_id LIMIT ?2`, ident, limit)
}

// SetLastLogin implements store.Users.
func (s *DB) SetLastLogin(ctx context.Context, userID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, sqlrow.MS(at), userID); err != nil {
		return fmt.Errorf("set last login: %w", err)
	}
	return nil
}
