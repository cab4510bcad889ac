package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// SQLSTATEs that samagate_check raises (migration 0013) when a rule of a
// conversation change fails inside a commit's pipeline.
const (
	codeNotFound = "SG404" // the conversation, or a member to remove, is not there
	codeFull     = "SG413" // more members than MaxMembers

	foreignKeyViolation = "23503"
)

// changeErr maps the error of a commit's statement: the codes of a change's
// rules to their store errors, anything else as mapErr does.
func changeErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeNotFound, foreignKeyViolation: // a row's conversation is gone (deleted meanwhile)
			return fmt.Errorf("%w: %s", store.ErrNotFound, pe.Message)
		case codeFull:
			return fmt.Errorf("%w: %s", store.ErrFull, pe.Message)
		case codeNotMember:
			return fmt.Errorf("%w: %s", store.ErrNotMember, pe.Message)
		case codeBlocked:
			return fmt.Errorf("%w: %s", store.ErrBlocked, pe.Message)
		}
	}
	return mapErr(err)
}

// The statements of a change, in the order store.ConversationChange gives.
// The commit holds the conversation's row lock already (lockConversations),
// so the counts below see every commit that changed its members before.
const (
	conversationExists = `SELECT samagate_check(EXISTS (SELECT 1 FROM conversations WHERE id = $1), '` + codeNotFound + `')`
	setFields          = `UPDATE conversations SET name = COALESCE($2, name), description = COALESCE($3, description) WHERE id = $1`
	addMembers         = `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
		SELECT $1, u.user_id, u.role, u.joined_at, currval('commit_seq') << 16
		FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u (user_id, role, joined_at)`
	removeMembers = `WITH gone AS (DELETE FROM participants WHERE conversation_id = $1 AND user_id = ANY($2) RETURNING 1)
		SELECT samagate_check((SELECT COUNT(*) FROM gone) = $3, '` + codeNotFound + `')`
	setRoles = `UPDATE participants p SET role = r.role FROM unnest($2::text[], $3::text[]) AS r (user_id, role)
		WHERE p.conversation_id = $1 AND p.user_id = r.user_id
		AND p.user_id <> (SELECT owner_id FROM conversations WHERE id = $1)`
	// handOwner and markOwner make store.Heir (the same order) owner of a
	// group whose owner is no longer a member.
	handOwner = `UPDATE conversations SET owner_id = (SELECT p.user_id FROM participants p
			WHERE p.conversation_id = conversations.id
			ORDER BY CASE p.role WHEN 'admin' THEN 0 ELSE 1 END, p.joined_pos, p.user_id LIMIT 1)
		WHERE id = $1 AND type <> 'u'
		AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = $1 AND p.user_id = conversations.owner_id)
		AND EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = $1)`
	markOwner = `UPDATE participants SET role = 'owner' WHERE conversation_id = $1 AND role <> 'owner'
		AND user_id = (SELECT owner_id FROM conversations WHERE id = $1 AND type <> 'u')`
	checkSize = `SELECT samagate_check((SELECT COUNT(*) FROM participants WHERE conversation_id = $1) <= $2, '` + codeFull + `')`
	dropEmpty = `DELETE FROM conversations WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM participants WHERE conversation_id = $1)`
)

// change queues the statements of c, and its outcome for when the commit is
// done.
func (p *pipeline) change(c *store.ConversationChange) error {
	cid := c.ConversationID
	p.exec("find conversation", conversationExists, cid)
	if c.Name != nil || c.Description != nil {
		p.exec("set fields", setFields, cid, c.Name, c.Description)
	}
	if len(c.Add) > 0 {
		users, roles, joined := participantArrays(c.Add)
		p.exec("add members", addMembers, cid, users, roles, joined)
	}
	if len(c.Remove) > 0 {
		gone := sqlrow.Distinct(c.Remove)
		p.exec("remove members", removeMembers, cid, gone, int64(len(gone)))
	}
	if len(c.Roles) > 0 {
		users, roles, err := roleArrays(c.Roles)
		if err != nil {
			return err
		}
		p.exec("set roles", setRoles, cid, users, roles)
	}
	p.exec("hand ownership on", handOwner, cid)
	p.exec("hand ownership on", markOwner, cid)
	if c.MaxMembers > 0 {
		p.exec("check size", checkSize, cid, int64(c.MaxMembers))
	}
	if len(c.Remove) > 0 {
		p.exec("delete emptied conversation", dropEmpty, cid)
	}
	var owner string
	deleted := true
	p.query("read owner", func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			deleted = false
			if err := rows.Scan(&owner); err != nil {
				return err
			}
		}
		return rows.Err()
	}, `SELECT owner_id FROM conversations WHERE id = $1`, cid)
	p.outcomes = append(p.outcomes, func() { c.Deleted, c.OwnerID = deleted, owner })
	return nil
}

// roleArrays splits roles into sorted arrays of users and their roles,
// which must be admin or member.
func roleArrays(roles map[string]string) (users, rs []string, err error) {
	for uid, role := range roles {
		if role != store.RoleAdmin && role != store.RoleMember {
			return nil, nil, fmt.Errorf("set role of %s: role %q is not admin or member", uid, role)
		}
		users = append(users, uid)
	}
	slices.Sort(users)
	for _, uid := range users {
		rs = append(rs, roles[uid])
	}
	return users, rs, nil
}

// RemoveParticipant implements store.Conversations in one transaction:
// removal, ownership hand-off and the count, in one round trip.
func (s *DB) RemoveParticipant(ctx context.Context, conversationID, userID string) (int, error) {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM participants WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID)
	b.Queue(handOwner, conversationID)
	b.Queue(markOwner, conversationID)
	b.Queue(`SELECT COUNT(*) FROM participants WHERE conversation_id = $1`, conversationID)
	br := s.pool.SendBatch(ctx, b)
	n, err := readRemoval(br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("remove participant: %w", err)
	}
	return n, nil
}

// readRemoval reads RemoveParticipant's results. A non-member is
// store.ErrNotFound; the implicit transaction of the pipeline then commits
// the no-ops after it.
func readRemoval(br pgx.BatchResults) (int, error) {
	tag, err := br.Exec()
	if err != nil {
		return 0, err
	}
	if tag.RowsAffected() == 0 {
		return 0, store.ErrNotFound
	}
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return 0, err
		}
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// conversationMembers is ConversationMembers' query: the caller's own row
// selects the conversations, the other rows are their members.
const conversationMembers = `SELECT p.conversation_id, p.user_id FROM conversations c
	JOIN participants me ON me.conversation_id = c.id AND me.user_id = $1
	JOIN participants p ON p.conversation_id = c.id
	WHERE c.org_id = $2 AND c.id = ANY($3)
	ORDER BY p.conversation_id, p.user_id DESC`

// ConversationMembers implements store.Conversations in one query.
func (s *DB) ConversationMembers(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, conversationMembers, userID, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("conversation members: %w", err)
	}
	defer rows.Close()
	return sqlrow.MemberIDs(rows)
}
