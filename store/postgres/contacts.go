package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// AddContacts implements store.Contacts. The owner's row is locked (FOR NO
// KEY UPDATE, which foreign-key checks of other writers do not wait for),
// so concurrent batches of one owner on any node count one after another
// and the cap holds.
func (s *DB) AddContacts(ctx context.Context, ownerID string, cs []store.Contact, max int) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, ownerID).Scan(&one); err != nil {
			return mapErr(err)
		}
		if max > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contacts WHERE owner_id = $1`, ownerID).Scan(&n); err != nil {
				return err
			}
			if n+len(cs) > max {
				return store.ErrLimit
			}
		}
		b := &pgx.Batch{}
		for i := range cs {
			c := &cs[i]
			b.Queue(`INSERT INTO contacts (id, org_id, owner_id, first_name, last_name, company,
				email, phone, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
				c.ID, c.OrgID, ownerID, sqlrow.Nullable(c.FirstName), sqlrow.Nullable(c.LastName), sqlrow.Nullable(c.Company),
				sqlrow.Entries(c.Email), sqlrow.Entries(c.Phone), sqlrow.MS(c.CreatedAt), sqlrow.MS(c.UpdatedAt))
		}
		return mapErr(tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return fmt.Errorf("add contacts: %w", err)
	}
	return nil
}

// UpdateContact implements store.Contacts.
func (s *DB) UpdateContact(ctx context.Context, ownerID, id string, u store.ContactUpdate) (*store.Contact, error) {
	c, err := mapScan(sqlrow.Contact(s.pool.QueryRow(ctx, `UPDATE contacts SET first_name = COALESCE($3, first_name),
		last_name = COALESCE($4, last_name), company = COALESCE($5, company), email = COALESCE($6, email),
		phone = COALESCE($7, phone), updated_at = $8 WHERE owner_id = $1 AND id = $2 RETURNING `+sqlrow.ContactCols,
		ownerID, id, sqlrow.StringPtr(u.FirstName), sqlrow.StringPtr(u.LastName), sqlrow.StringPtr(u.Company),
		sqlrow.EntriesPtr(u.Email), sqlrow.EntriesPtr(u.Phone), sqlrow.MS(u.UpdatedAt))))
	if err != nil {
		return nil, fmt.Errorf("update contact: %w", err)
	}
	return c, nil
}

// DeleteContact implements store.Contacts.
func (s *DB) DeleteContact(ctx context.Context, ownerID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM contacts WHERE owner_id = $1 AND id = $2`, ownerID, id)
	if err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	return affected(tag, "delete contact")
}

// ListContacts implements store.Contacts.
func (s *DB) ListContacts(ctx context.Context, ownerID string, q store.ContactQuery) ([]store.Contact, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.ContactCols+` FROM contacts WHERE owner_id = $1
		AND ($2::bigint = 0 OR updated_at > $2::bigint) AND ($3::bigint = 0 OR updated_at < $3::bigint)
		ORDER BY updated_at DESC, seq DESC LIMIT $4`,
		ownerID, sqlrow.MS(q.UpdatedAfter), sqlrow.MS(q.UpdatedBefore), limitArg(q.Limit))
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

// ContactMatches implements store.Contacts, through the users' unique
// e-mail and phone indexes (migration 0012).
func (s *DB) ContactMatches(ctx context.Context, orgID string, emails, phones []string) (byEmail, byPhone map[string]string, err error) {
	if byEmail, err = s.matchColumn(ctx, `SELECT id, samagate_fold(email) FROM users
		WHERE org_id = $1 AND email IS NOT NULL AND samagate_fold(email) = ANY($2::text[])`, orgID, emails); err != nil {
		return nil, nil, err
	}
	if byPhone, err = s.matchColumn(ctx, `SELECT id, samagate_fold(phone) FROM users
		WHERE org_id = $1 AND phone IS NOT NULL AND samagate_fold(phone) = ANY($2::text[])`, orgID, phones); err != nil {
		return nil, nil, err
	}
	return byEmail, byPhone, nil
}

func (s *DB) matchColumn(ctx context.Context, q, orgID string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, q, orgID, keys)
	if err != nil {
		return nil, fmt.Errorf("match contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, fmt.Errorf("match contacts: %w", err)
		}
		out[key] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("match contacts: %w", err)
	}
	return out, nil
}
