package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// AddContacts implements store.Contacts. SQLite runs one write
// transaction at a time, so the count and the inserts cannot interleave
// with another batch of the same owner. Its statements run on the
// transaction's own connection, unprepared: preparing one for the pool
// would wait for a free connection while every other one may be held by a
// transaction waiting for this one's lock.
func (s *DB) AddContacts(ctx context.Context, ownerID string, cs []store.Contact, max int) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("add contacts: %w", err)
		}
	}()
	wtx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = wtx.Rollback() }()
	tx := wtx.Tx
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, ownerID).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	if max > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts WHERE owner_id = ?`, ownerID).Scan(&n); err != nil {
			return err
		}
		if n+len(cs) > max {
			return store.ErrLimit
		}
	}
	for i := range cs {
		c := &cs[i]
		if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, org_id, owner_id, first_name, last_name, company,
			email, phone, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			c.ID, c.OrgID, ownerID, sqlrow.Nullable(c.FirstName), sqlrow.Nullable(c.LastName), sqlrow.Nullable(c.Company),
			sqlrow.Entries(c.Email), sqlrow.Entries(c.Phone), sqlrow.MS(c.CreatedAt), sqlrow.MS(c.UpdatedAt)); err != nil {
			return mapErr(err)
		}
	}
	return tx.Commit()
}

// UpdateContact implements store.Contacts.
func (s *DB) UpdateContact(ctx context.Context, ownerID, id string, u store.ContactUpdate) (*store.Contact, error) {
	s.writes.Add(1)
	c, err := mapScan(sqlrow.Contact(s.queryRow(ctx, `UPDATE contacts SET first_name = COALESCE(?3, first_name),
		last_name = COALESCE(?4, last_name), company = COALESCE(?5, company), email = COALESCE(?6, email),
		phone = COALESCE(?7, phone), updated_at = ?8 WHERE owner_id = ?1 AND id = ?2 RETURNING `+sqlrow.ContactCols,
		ownerID, id, sqlrow.StringPtr(u.FirstName), sqlrow.StringPtr(u.LastName), sqlrow.StringPtr(u.Company),
		sqlrow.EntriesPtr(u.Email), sqlrow.EntriesPtr(u.Phone), sqlrow.MS(u.UpdatedAt))))
	if err != nil {
		return nil, fmt.Errorf("update contact: %w", err)
	}
	return c, nil
}

// DeleteContact implements store.Contacts.
func (s *DB) DeleteContact(ctx context.Context, ownerID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM contacts WHERE owner_id = ? AND id = ?`, ownerID, id)
	if err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	return affected(res, "delete contact")
}

// ListContacts implements store.Contacts.
func (s *DB) ListContacts(ctx context.Context, ownerID string, q store.ContactQuery) ([]store.Contact, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.ContactCols+` FROM contacts WHERE owner_id = ?1
		AND (?2 = 0 OR updated_at > ?2) AND (?3 = 0 OR updated_at < ?3)
		ORDER BY updated_at DESC, seq DESC LIMIT ?4`,
		ownerID, sqlrow.MS(q.UpdatedAfter), sqlrow.MS(q.UpdatedBefore), q.Limit)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	var out []store.Contact
	for rows.Next() {
		c, err := sqlrow.Contact(rows)
		if err != nil {
			return nil, fmt.Errorf("list contacts: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return out, nil
}

// matchChunk bounds the keys of one IN list.
const matchChunk = 500

// ContactMatches implements store.Contacts, through the users' unique
// e-mail and phone indexes (migration 0012).
func (s *DB) ContactMatches(ctx context.Context, orgID string, emails, phones []string) (byEmail, byPhone map[string]string, err error) {
	if byEmail, err = s.matchColumn(ctx, orgID, "email", emails); err != nil {
		return nil, nil, err
	}
	if byPhone, err = s.matchColumn(ctx, orgID, "phone", phones); err != nil {
		return nil, nil, err
	}
	return byEmail, byPhone, nil
}

// matchColumn maps each key of keys held by a user of orgID in col (email
// or phone) to that user's id.
func (s *DB) matchColumn(ctx context.Context, orgID, col string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for len(keys) > 0 {
		n := min(len(keys), matchChunk)
		part := keys[:n]
		keys = keys[n:]
		args := make([]any, 0, n+1)
		args = append(args, orgID)
		for _, k := range part {
			args = append(args, k)
		}
		q := `SELECT id, samagate_fold(` + col + `) FROM users WHERE org_id = ? AND ` + col + ` IS NOT NULL
			AND samagate_fold(` + col + `) IN (?` + strings.Repeat(",?", n-1) + `)`
		rows, err := s.rows(ctx, false, q, args...)
		if err != nil {
			return nil, fmt.Errorf("match contacts: %w", err)
		}
		for rows.Next() {
			var id, key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return nil, fmt.Errorf("match contacts: %w", err)
			}
			out[key] = id
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("match contacts: %w", err)
		}
	}
	return out, nil
}
