package sqlite

import (
	"context"
	"fmt"
	"slices"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// changeOutcome is what a committed store.ConversationChange reports.
type changeOutcome struct {
	deleted bool
	owner   string
}

// applyChange applies one store.ConversationChange inside the transaction
// of commit seq, step by step in the order the type documents.
func applyChange(ctx context.Context, tx *wtx, seq int64, c *store.ConversationChange) (changeOutcome, error) {
	cid := c.ConversationID
	if err := conversationExists(ctx, tx, cid); err != nil {
		return changeOutcome{}, err
	}
	if err := setFields(ctx, tx, cid, c.Name, c.Description); err != nil {
		return changeOutcome{}, err
	}
	if err := addMembers(ctx, tx, cid, c.Add, store.Pos(seq, 0)); err != nil {
		return changeOutcome{}, err
	}
	if err := removeMembers(ctx, tx, cid, c.Remove); err != nil {
		return changeOutcome{}, err
	}
	if err := setRoles(ctx, tx, cid, c.Roles); err != nil {
		return changeOutcome{}, err
	}
	if err := handOwnership(ctx, tx, cid); err != nil {
		return changeOutcome{}, err
	}
	n, err := countMembers(ctx, tx, cid)
	if err != nil {
		return changeOutcome{}, err
	}
	if c.MaxMembers > 0 && n > c.MaxMembers {
		return changeOutcome{}, fmt.Errorf("conversation %s: %d members, at most %d: %w", cid, n, c.MaxMembers, store.ErrFull)
	}
	if len(c.Remove) > 0 && n == 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE id = ?`, cid); err != nil {
			return changeOutcome{}, fmt.Errorf("delete emptied conversation: %w", err)
		}
		return changeOutcome{deleted: true}, nil
	}
	var out changeOutcome
	if err := tx.QueryRowContext(ctx, `SELECT owner_id FROM conversations WHERE id = ?`, cid).Scan(&out.owner); err != nil {
		return changeOutcome{}, fmt.Errorf("read owner: %w", err)
	}
	return out, nil
}

// conversationExists fails with store.ErrNotFound when cid is gone (it was
// deleted since the change was planned).
func conversationExists(ctx context.Context, tx *wtx, cid string) error {
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = ?`, cid).Scan(&one); err != nil {
		return fmt.Errorf("conversation %s: %w", cid, mapErr(err))
	}
	return nil
}

// setFields sets the name and the description that are not nil.
func setFields(ctx context.Context, tx *wtx, cid string, name, description *string) error {
	if name == nil && description == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET name = COALESCE(?, name), description = COALESCE(?, description)
		WHERE id = ?`, name, description, cid); err != nil {
		return fmt.Errorf("set fields: %w", err)
	}
	return nil
}

// addMembers inserts new members joined at pos; an existing member is
// store.ErrConflict.
func addMembers(ctx context.Context, tx *wtx, cid string, ps []store.Participant, pos int64) error {
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
			VALUES (?,?,?,?,?)`, cid, p.UserID, p.Role, sqlrow.MS(p.JoinedAt), pos); err != nil {
			return fmt.Errorf("add member %s: %w", p.UserID, mapErr(err))
		}
	}
	return nil
}

// removeMembers deletes members; one that is not a member is
// store.ErrNotFound.
func removeMembers(ctx context.Context, tx *wtx, cid string, userIDs []string) error {
	for _, uid := range sqlrow.Distinct(userIDs) {
		res, err := tx.ExecContext(ctx, `DELETE FROM participants WHERE conversation_id = ? AND user_id = ?`, cid, uid)
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if err := affected(res, "remove member "+uid); err != nil {
			return err
		}
	}
	return nil
}

// setRoles sets members' roles, the owner's excepted; non-members are
// ignored.
func setRoles(ctx context.Context, tx *wtx, cid string, roles map[string]string) error {
	users := make([]string, 0, len(roles))
	for uid, role := range roles {
		if role != store.RoleAdmin && role != store.RoleMember {
			return fmt.Errorf("set role of %s: role %q is not admin or member", uid, role)
		}
		users = append(users, uid)
	}
	slices.Sort(users)
	for _, uid := range users {
		if _, err := tx.ExecContext(ctx, `UPDATE participants SET role = ? WHERE conversation_id = ? AND user_id = ?
			AND user_id <> (SELECT owner_id FROM conversations WHERE id = ?)`, roles[uid], cid, uid, cid); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
	}
	return nil
}

// handOwnership makes store.Heir of the members owner of a group whose
// owner is no longer a member (the same order in SQL).
func handOwnership(ctx context.Context, tx *wtx, cid string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET owner_id = (SELECT p.user_id FROM participants p
			WHERE p.conversation_id = conversations.id
			ORDER BY CASE p.role WHEN 'admin' THEN 0 ELSE 1 END, p.joined_pos, p.user_id LIMIT 1)
		WHERE id = ?1 AND type <> 'u'
		AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = ?1 AND p.user_id = conversations.owner_id)
		AND EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = ?1)`, cid); err != nil {
		return fmt.Errorf("hand ownership on: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE participants SET role = 'owner' WHERE conversation_id = ?1 AND role <> 'owner'
		AND user_id = (SELECT owner_id FROM conversations WHERE id = ?1 AND type <> 'u')`, cid); err != nil {
		return fmt.Errorf("hand ownership on: %w", err)
	}
	return nil
}

// countMembers counts the members of cid.
func countMembers(ctx context.Context, tx *wtx, cid string) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM participants WHERE conversation_id = ?`, cid).Scan(&n); err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	return n, nil
}

// RemoveParticipant implements store.Conversations in one transaction:
// removal, ownership hand-off and the count.
func (s *DB) RemoveParticipant(ctx context.Context, conversationID, userID string) (int, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("remove participant: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := removeMembers(ctx, tx, conversationID, []string{userID}); err != nil {
		return 0, fmt.Errorf("remove participant: %w", err)
	}
	if err := handOwnership(ctx, tx, conversationID); err != nil {
		return 0, err
	}
	n, err := countMembers(ctx, tx, conversationID)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("remove participant: %w", err)
	}
	return n, nil
}
