package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// Message implements store.Messages.
func (s *DB) Message(ctx context.Context, conversationID, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.pool.QueryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = $1 AND id = $2`, conversationID, id)))
}

// MessageByClientID implements store.Messages with the unique index that
// makes a client id land once.
func (s *DB) MessageByClientID(ctx context.Context, conversationID, from, clientID string) (*store.Message, error) {
	if clientID == "" {
		return nil, store.ErrNotFound
	}
	return mapScan(sqlrow.Message(s.pool.QueryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages
		WHERE conversation_id = $1 AND from_id = $2 AND client_id = $3`, conversationID, from, clientID)))
}

// ConversationMessages implements store.Messages.
func (s *DB) ConversationMessages(ctx context.Context, conversationID string, q store.MessageQuery) ([]store.Message, error) {
	sqlq := `SELECT ` + sqlrow.MessageCols + ` FROM messages m WHERE conversation_id = $1`
	args := []any{conversationID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.ViewerID != "" {
		sqlq += ` AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.message_id = m.id AND h.user_id = ` + arg(q.ViewerID) + `)`
	}
	if len(q.IDs) > 0 {
		sqlq += ` AND id = ANY(` + arg(q.IDs) + `)`
	}
	// A time bound that is a message's creation time (a client paging from
	// the oldest or newest message it holds) becomes a position bound, so
	// pages follow positions without skipping a message whose time is out
	// of commit order (store.MessageQuery).
	if !q.UpdatedBefore.IsZero() {
		at := arg(sqlrow.MS(q.UpdatedBefore))
		sqlq += ` AND (pos < (SELECT MAX(b.pos) FROM messages b WHERE b.conversation_id = $1 AND b.created_at = ` + at + `)
			OR (updated_at < ` + at + ` AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.conversation_id = $1 AND b.created_at = ` + at + `)))`
	}
	order := ` ORDER BY pos DESC`
	if !q.UpdatedAfter.IsZero() {
		at := arg(sqlrow.MS(q.UpdatedAfter))
		sqlq += ` AND (pos > (SELECT MIN(b.pos) FROM messages b WHERE b.conversation_id = $1 AND b.created_at = ` + at + `)
			OR (updated_at > ` + at + ` AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.conversation_id = $1 AND b.created_at = ` + at + `)))`
		order = ` ORDER BY pos ASC`
	}
	sqlq += order + ` LIMIT ` + arg(limitArg(q.Limit))
	return s.queryMessages(ctx, sqlq, args...)
}

// queryMessages runs a SELECT of sqlrow.MessageCols and scans every row.
func (s *DB) queryMessages(ctx context.Context, q string, args ...any) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	return out, nil
}

// LastMessage implements store.Messages.
func (s *DB) LastMessage(ctx context.Context, conversationID string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.pool.QueryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = $1 ORDER BY pos DESC LIMIT 1`, conversationID)))
}

// ReadMark implements store.Messages.
func (s *DB) ReadMark(ctx context.Context, conversationID, userID string) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT last_read_pos FROM read_marks WHERE conversation_id = $1 AND user_id = $2`,
		conversationID, userID).Scan(&pos)
	if err := mapErr(err); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("read mark: %w", err)
	}
	return pos, nil
}

// OthersReadMark implements store.Messages.
func (s *DB) OthersReadMark(ctx context.Context, conversationID, userID string) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(last_read_pos), 0) FROM read_marks WHERE conversation_id = $1 AND user_id <> $2`,
		conversationID, userID).Scan(&pos)
	if err != nil {
		return 0, fmt.Errorf("others read mark: %w", err)
	}
	return pos, nil
}

// UnreadFrom implements store.Messages.
func (s *DB) UnreadFrom(ctx context.Context, conversationID, userID string, after int64, limit int) ([]store.Message, error) {
	return s.queryMessages(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = $1 AND from_id <> $2 AND pos > $3
		ORDER BY pos DESC LIMIT $4`, conversationID, userID, after, limitArg(limit))
}

// CountUnread implements store.Messages.
func (s *DB) CountUnread(ctx context.Context, conversationID, userID string, after int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND from_id <> $2 AND pos > $3`,
		conversationID, userID, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MessageByID implements store.Messages.
func (s *DB) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.pool.QueryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE id = $1`, id)))
}

// HideMessages implements store.Messages; ids of other conversations are
// ignored, as are already hidden ones.
func (s *DB) HideMessages(ctx context.Context, conversationID, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO hidden_messages (message_id, user_id)
		SELECT id, $1::text FROM messages WHERE conversation_id = $2 AND id = ANY($3)
		ON CONFLICT (message_id, user_id) DO NOTHING`, userID, conversationID, ids); err != nil {
		return fmt.Errorf("hide messages: %w", err)
	}
	return nil
}

// readStates reads, per conversation of $1, the read mark of user $2, the
// furthest of the others' and the count of others' messages after the
// user's.
const readStates = `SELECT c.id, COALESCE(mine.last_read_pos, 0), COALESCE(o.pos, 0),
		(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.from_id <> $2
			AND m.pos > COALESCE(mine.last_read_pos, 0))
	FROM unnest($1::text[]) AS c (id)
	LEFT JOIN read_marks mine ON mine.conversation_id = c.id AND mine.user_id = $2
	LEFT JOIN LATERAL (SELECT MAX(r.last_read_pos) AS pos FROM read_marks r
		WHERE r.conversation_id = c.id AND r.user_id <> $2) AS o ON true`

// lastMessages reads the message with the highest position of each
// conversation of $1, each through the (conversation_id, pos) index.
const lastMessages = `SELECT ` + sqlrow.MessageCols + ` FROM messages WHERE (conversation_id, pos) IN
	(SELECT c.id, (SELECT MAX(b.pos) FROM messages b WHERE b.conversation_id = c.id) FROM unnest($1::text[]) AS c (id))`

// ConversationStates implements store.Messages with two queries in one
// round trip.
func (s *DB) ConversationStates(ctx context.Context, userID string, conversationIDs []string) (map[string]store.ConversationState, error) {
	out := make(map[string]store.ConversationState, len(conversationIDs))
	if len(conversationIDs) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	b.Queue(readStates, conversationIDs, userID)
	b.Queue(lastMessages, conversationIDs)
	br := s.pool.SendBatch(ctx, b)
	err := readConversationStates(br, out)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("conversation states: %w", err)
	}
	return out, nil
}

// readConversationStates reads ConversationStates' two results into out.
func readConversationStates(br pgx.BatchResults, out map[string]store.ConversationState) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	for rows.Next() {
		var cid string
		var st store.ConversationState
		if err := rows.Scan(&cid, &st.ReadMark, &st.OthersReadMark, &st.Unread); err != nil {
			rows.Close()
			return err
		}
		out[cid] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if rows, err = br.Query(); err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := mapScan(sqlrow.Message(rows))
		if err != nil {
			return err
		}
		st := out[m.ConversationID]
		st.LastMessage = m
		out[m.ConversationID] = st
	}
	return rows.Err()
}
