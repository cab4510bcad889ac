package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// CreateConversation implements store.Conversations in one transaction.
// The write transaction keeps any commit out, so the conversation's
// last_pos and its members' joined_pos are the next commit's first
// position.
func (s *DB) CreateConversation(ctx context.Context, c *store.Conversation, ps []store.Participant) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var pos int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO conversations (id, org_id, type, name, description, owner_id, opponent_id,
		pair_key, created_at, updated_at, last_pos) VALUES (?,?,?,?,?,?,?,?,?,?,`+nextPos+`) RETURNING last_pos`,
		c.ID, c.OrgID, c.Type, c.Name, c.Description, c.OwnerID, c.OpponentID,
		sqlrow.Nullable(c.PairKey), sqlrow.MS(c.CreatedAt), sqlrow.MS(c.UpdatedAt)).Scan(&pos); err != nil {
		return fmt.Errorf("create conversation: %w", mapErr(err))
	}
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos) VALUES (?,?,?,?,?)`,
			c.ID, p.UserID, p.Role, sqlrow.MS(p.JoinedAt), pos); err != nil {
			return fmt.Errorf("add participant: %w", mapErr(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	c.LastPos = pos
	for i := range ps {
		ps[i].JoinedPos = pos
	}
	return nil
}

// Conversation implements store.Conversations.
func (s *DB) Conversation(ctx context.Context, orgID, id string) (*store.Conversation, error) {
	return mapScan(sqlrow.Conversation(s.queryRow(ctx, `SELECT `+sqlrow.ConversationCols+` FROM conversations c WHERE c.org_id = ? AND c.id = ?`, orgID, id)))
}

// PrivateConversation implements store.Conversations.
func (s *DB) PrivateConversation(ctx context.Context, orgID, pairKey string) (*store.Conversation, error) {
	return mapScan(sqlrow.Conversation(s.queryRow(ctx, `SELECT `+sqlrow.ConversationCols+` FROM conversations c WHERE c.org_id = ? AND c.pair_key = ?`, orgID, pairKey)))
}

// UpdateConversation implements store.Conversations.
func (s *DB) UpdateConversation(ctx context.Context, c *store.Conversation) error {
	res, err := s.exec(ctx, `UPDATE conversations SET name = ?, description = ?, owner_id = ?, opponent_id = ?,
		updated_at = ? WHERE org_id = ? AND id = ?`, c.Name, c.Description, c.OwnerID, c.OpponentID, sqlrow.MS(c.UpdatedAt), c.OrgID, c.ID)
	if err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	return affected(res, "update conversation")
}

// DeleteConversation implements store.Conversations; participants go by cascade.
func (s *DB) DeleteConversation(ctx context.Context, orgID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM conversations WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	}
	return affected(res, "delete conversation")
}

func scanParticipants(ctx context.Context, s *DB, q string, args ...any) ([]store.Participant, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query participants: %w", err)
	}
	defer rows.Close()
	out := []store.Participant{}
	for rows.Next() {
		p, err := sqlrow.Participant(rows)
		if err != nil {
			return nil, fmt.Errorf("scan participant: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Participants implements store.Conversations.
func (s *DB) Participants(ctx context.Context, conversationID string) ([]store.Participant, error) {
	return scanParticipants(ctx, s, `SELECT `+sqlrow.ParticipantCols+` FROM participants
		WHERE conversation_id = ? ORDER BY user_id DESC`, conversationID)
}

// Participant implements store.Conversations.
func (s *DB) Participant(ctx context.Context, conversationID, userID string) (*store.Participant, error) {
	ps, err := scanParticipants(ctx, s, `SELECT `+sqlrow.ParticipantCols+` FROM participants
		WHERE conversation_id = ? AND user_id = ?`, conversationID, userID)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, store.ErrNotFound
	}
	return &ps[0], nil
}

// AddParticipants implements store.Conversations in one transaction; the
// new members' joined_pos is the next commit's first position.
func (s *DB) AddParticipants(ctx context.Context, conversationID string, ps []store.Participant) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("add participants: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	added := map[int]int64{}
	for i, p := range ps {
		var pos int64
		err := tx.QueryRowContext(ctx, `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
			VALUES (?,?,?,?,`+nextPos+`) ON CONFLICT (conversation_id, user_id) DO NOTHING RETURNING joined_pos`,
			conversationID, p.UserID, p.Role, sqlrow.MS(p.JoinedAt)).Scan(&pos)
		switch err := mapErr(err); {
		case err == nil:
			added[i] = pos
		case !errors.Is(err, store.ErrNotFound): // ErrNotFound: already a member
			return fmt.Errorf("add participant: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add participants: %w", err)
	}
	for i, pos := range added {
		ps[i].JoinedPos = pos
	}
	return nil
}

// UserConversations implements store.Conversations: the filters apply to the
// conversation's activity (SAMA applied them to the caller's join time).
func (s *DB) UserConversations(ctx context.Context, orgID, userID string, q store.ConversationQuery) ([]store.Conversation, error) {
	sqlq := `SELECT ` + sqlrow.ConversationCols + ` FROM conversations c
		JOIN participants p ON p.conversation_id = c.id AND p.user_id = ? WHERE c.org_id = ?`
	args := []any{userID, orgID}
	if len(q.IDs) > 0 {
		sqlq += ` AND c.id IN (?` + strings.Repeat(",?", len(q.IDs)-1) + `)`
		for _, id := range q.IDs {
			args = append(args, id)
		}
	}
	if !q.UpdatedBefore.IsZero() {
		sqlq += ` AND c.updated_at < ?`
		args = append(args, sqlrow.MS(q.UpdatedBefore))
	}
	if !q.UpdatedAfter.IsZero() {
		sqlq += ` AND c.updated_at > ?`
		args = append(args, sqlrow.MS(q.UpdatedAfter))
	}
	sqlq += ` ORDER BY c.last_pos DESC, c.id DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, sqlq, args...) // built per call: unprepared
	if err != nil {
		return nil, fmt.Errorf("user conversations: %w", err)
	}
	defer rows.Close()
	out := []store.Conversation{}
	for rows.Next() {
		c, err := mapScan(sqlrow.Conversation(rows))
		if err != nil {
			return nil, fmt.Errorf("scan conversation: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// SearchConversations implements store.Conversations: the caller's
// conversations and the organization's channels.
func (s *DB) SearchConversations(ctx context.Context, orgID, userID, prefix string, updatedAfter time.Time, limit int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT c.id FROM conversations c
		WHERE c.org_id = ? AND c.name LIKE ? ESCAPE '\' AND c.updated_at > ?
		AND (c.type = 'c' OR EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = c.id AND p.user_id = ?))
		ORDER BY c.last_pos DESC, c.id DESC LIMIT ?`, orgID, likePrefix(prefix), sqlrow.MS(updatedAfter), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("search conversations: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan conversation id: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SetRole implements store.Conversations.
func (s *DB) SetRole(ctx context.Context, conversationID, userID, role string) error {
	res, err := s.exec(ctx, `UPDATE participants SET role = ? WHERE conversation_id = ? AND user_id = ?`, role, conversationID, userID)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return affected(res, "set role")
}

// ConversationMembers implements store.Conversations in one query: the
// caller's own row selects the conversations, the other rows are their
// members.
func (s *DB) ConversationMembers(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("conversation members: %w", err)
	}
	rows, err := s.query(ctx, `SELECT p.conversation_id, p.user_id FROM conversations c
		JOIN participants me ON me.conversation_id = c.id AND me.user_id = ?
		JOIN participants p ON p.conversation_id = c.id
		WHERE c.org_id = ? AND c.id IN (SELECT value FROM json_each(?))
		ORDER BY p.conversation_id, p.user_id DESC`, userID, orgID, string(list))
	if err != nil {
		return nil, fmt.Errorf("conversation members: %w", err)
	}
	defer rows.Close()
	return sqlrow.MemberIDs(rows)
}
