package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// Message implements store.Messages.
func (s *DB) Message(ctx context.Context, conversationID, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.queryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = ? AND id = ?`, conversationID, id)))
}

// MessageByClientID implements store.Messages with the unique index that
// makes a client id land once.
func (s *DB) MessageByClientID(ctx context.Context, conversationID, from, clientID string) (*store.Message, error) {
	if clientID == "" {
		return nil, store.ErrNotFound
	}
	return mapScan(sqlrow.Message(s.queryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages
		WHERE conversation_id = ? AND from_id = ? AND client_id = ?`, conversationID, from, clientID)))
}

// ConversationMessages implements store.Messages.
func (s *DB) ConversationMessages(ctx context.Context, conversationID string, q store.MessageQuery) ([]store.Message, error) {
	sqlq := `SELECT ` + sqlrow.MessageCols + ` FROM messages WHERE conversation_id = ?`
	args := []any{conversationID}
	if q.ViewerID != "" {
		sqlq += ` AND id NOT IN (SELECT message_id FROM hidden_messages WHERE user_id = ?)`
		args = append(args, q.ViewerID)
	}
	if len(q.IDs) > 0 {
		in, ids := inList(q.IDs)
		sqlq += ` AND id` + in
		args = append(args, ids...)
	}
	// A time bound that is a message's creation time (a client paging from
	// the oldest or newest message it holds) becomes a position bound, so
	// pages follow positions without skipping a message whose time is out
	// of commit order (store.MessageQuery).
	if !q.UpdatedBefore.IsZero() {
		at := sqlrow.MS(q.UpdatedBefore)
		sqlq += ` AND (pos < (SELECT MAX(b.pos) FROM messages b WHERE b.conversation_id = ? AND b.created_at = ?)
			OR (updated_at < ? AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.conversation_id = ? AND b.created_at = ?)))`
		args = append(args, conversationID, at, at, conversationID, at)
	}
	order := ` ORDER BY pos DESC`
	if !q.UpdatedAfter.IsZero() {
		at := sqlrow.MS(q.UpdatedAfter)
		sqlq += ` AND (pos > (SELECT MIN(b.pos) FROM messages b WHERE b.conversation_id = ? AND b.created_at = ?)
			OR (updated_at > ? AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.conversation_id = ? AND b.created_at = ?)))`
		args = append(args, conversationID, at, at, conversationID, at)
		order = ` ORDER BY pos ASC`
	}
	sqlq += order + ` LIMIT ?`
	args = append(args, q.Limit)
	return s.queryMessages(ctx, false, sqlq, args...)
}

// queryMessages runs a SELECT of sqlrow.MessageCols and scans every row;
// prepared when its text is fixed.
func (s *DB) queryMessages(ctx context.Context, fixed bool, q string, args ...any) ([]store.Message, error) {
	rows, err := s.rows(ctx, fixed, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	defer rows.Close()
	out := []store.Message{}
	for rows.Next() {
		m, err := mapScan(sqlrow.Message(rows))
		if err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// LastMessage implements store.Messages.
func (s *DB) LastMessage(ctx context.Context, conversationID string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.queryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = ? ORDER BY pos DESC LIMIT 1`, conversationID)))
}

// ReadMark implements store.Messages.
func (s *DB) ReadMark(ctx context.Context, conversationID, userID string) (int64, error) {
	var pos int64
	err := s.queryRow(ctx, `SELECT last_read_pos FROM read_marks WHERE conversation_id = ? AND user_id = ?`,
		conversationID, userID).Scan(&pos)
	if err := mapErr(err); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("read mark: %w", err)
	}
	return pos, nil
}

// OthersReadMark implements store.Messages.
func (s *DB) OthersReadMark(ctx context.Context, conversationID, userID string) (int64, error) {
	var pos int64
	err := s.queryRow(ctx, `SELECT COALESCE(MAX(last_read_pos), 0) FROM read_marks WHERE conversation_id = ? AND user_id <> ?`,
		conversationID, userID).Scan(&pos)
	if err != nil {
		return 0, fmt.Errorf("others read mark: %w", err)
	}
	return pos, nil
}

// UnreadFrom implements store.Messages.
func (s *DB) UnreadFrom(ctx context.Context, conversationID, userID string, after int64, limit int) ([]store.Message, error) {
	return s.queryMessages(ctx, true, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = ? AND from_id <> ? AND pos > ?
		ORDER BY pos DESC LIMIT ?`, conversationID, userID, after, limit)
}

// CountUnread implements store.Messages.
func (s *DB) CountUnread(ctx context.Context, conversationID, userID string, after int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND from_id <> ? AND pos > ?`,
		conversationID, userID, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MessageByID implements store.Messages.
func (s *DB) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.queryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE id = ?`, id)))
}

// inList returns " IN (?,?,..)" and its args.
func inList(ids []string) (string, []any) {
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	return ` IN (?` + strings.Repeat(",?", len(ids)-1) + `)`, args
}

// HideMessages implements store.Messages.
func (s *DB) HideMessages(ctx context.Context, conversationID, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := inList(ids)
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO hidden_messages (message_id, user_id)
		SELECT id, ? FROM messages WHERE conversation_id = ? AND id`+in,
		append([]any{userID, conversationID}, args...)...); err != nil {
		return fmt.Errorf("hide messages: %w", err)
	}
	return nil
}

// ConversationStates implements store.Messages in two queries: the read
// marks and unread counts of every conversation, then their last messages
// (each found through the (conversation_id, pos) index).
func (s *DB) ConversationStates(ctx context.Context, userID string, conversationIDs []string) (map[string]store.ConversationState, error) {
	out := make(map[string]store.ConversationState, len(conversationIDs))
	if len(conversationIDs) == 0 {
		return out, nil
	}
	list, err := json.Marshal(conversationIDs)
	if err != nil {
		return nil, fmt.Errorf("conversation states: %w", err)
	}
	if err := s.readStates(ctx, userID, string(list), out); err != nil {
		return nil, err
	}
	last, err := s.queryMessages(ctx, true, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE (conversation_id, pos) IN
		(SELECT c.value, (SELECT MAX(b.pos) FROM messages b WHERE b.conversation_id = c.value) FROM json_each(?) AS c)`, string(list))
	if err != nil {
		return nil, fmt.Errorf("last messages: %w", err)
	}
	for i := range last {
		st := out[last[i].ConversationID]
		st.LastMessage = &last[i]
		out[last[i].ConversationID] = st
	}
	return out, nil
}

// readStates fills out with the read marks and unread counts of the
// conversations in list (a JSON array).
func (s *DB) readStates(ctx context.Context, userID, list string, out map[string]store.ConversationState) error {
	rows, err := s.query(ctx, `SELECT cid, mine, others,
			(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = cid AND m.from_id <> ?2 AND m.pos > mine)
		FROM (SELECT c.value AS cid,
			COALESCE((SELECT r.last_read_pos FROM read_marks r WHERE r.conversation_id = c.value AND r.user_id = ?2), 0) AS mine,
			COALESCE((SELECT MAX(r.last_read_pos) FROM read_marks r WHERE r.conversation_id = c.value AND r.user_id <> ?2), 0) AS others
			FROM json_each(?1) AS c)`, list, userID)
	if err != nil {
		return fmt.Errorf("read states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid string
		var st store.ConversationState
		if err := rows.Scan(&cid, &st.ReadMark, &st.OthersReadMark, &st.Unread); err != nil {
			return fmt.Errorf("scan read state: %w", err)
		}
		out[cid] = st
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read states: %w", err)
	}
	return nil
}
