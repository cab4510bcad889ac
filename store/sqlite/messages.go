package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// Commit implements store.Messages: messages, events and activity bumps in
// one transaction (one fsync for the whole batch under WAL).
func (s *DB) Commit(ctx context.Context, b *store.Batch) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, m := range b.Messages {
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, from_id, body, x, attachments,
			replied_message_id, forwarded_message_id, t, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			m.ID, m.ConversationID, m.From, m.Body, sqlrow.RawOrNil(m.X), sqlrow.RawOrNil(m.Attachments), m.RepliedMessageID,
			m.ForwardedMessageID, m.T, sqlrow.MS(m.CreatedAt), sqlrow.MS(m.UpdatedAt)); err != nil {
			return fmt.Errorf("insert message: %w", mapErr(err))
		}
	}
	for _, e := range b.Events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, conversation_id, user_id, payload, created_at) VALUES (?,?,?,?,?)`,
			e.ID, sqlrow.Nullable(e.ConversationID), sqlrow.Nullable(e.UserID), string(e.Payload), sqlrow.MS(e.CreatedAt)); err != nil {
			return fmt.Errorf("insert event: %w", mapErr(err))
		}
	}
	for id, at := range b.Touch {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?`, sqlrow.MS(at), id); err != nil {
			return fmt.Errorf("touch conversation: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return nil
}

// Message implements store.Messages.
func (s *DB) Message(ctx context.Context, conversationID, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.db.QueryRowContext(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = ? AND id = ?`, conversationID, id)))
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
		sqlq += ` AND id IN (?` + strings.Repeat(",?", len(q.IDs)-1) + `)`
		for _, id := range q.IDs {
			args = append(args, id)
		}
	}
	if !q.UpdatedBefore.IsZero() {
		sqlq += ` AND updated_at < ?`
		args = append(args, sqlrow.MS(q.UpdatedBefore))
	}
	order := ` ORDER BY id DESC`
	if !q.UpdatedAfter.IsZero() {
		sqlq += ` AND updated_at > ?`
		args = append(args, sqlrow.MS(q.UpdatedAfter))
		order = ` ORDER BY id ASC`
	}
	sqlq += order + ` LIMIT ?`
	args = append(args, q.Limit)
	return s.queryMessages(ctx, sqlq, args...)
}

// queryMessages runs a SELECT of sqlrow.MessageCols and scans every row.
func (s *DB) queryMessages(ctx context.Context, q string, args ...any) ([]store.Message, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
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

// eventCols are the columns scanEvents reads, from a subquery of events rows.
const eventCols = `id, COALESCE(conversation_id, ''), COALESCE(user_id, ''), payload, created_at`

// EventsSince implements store.Messages with two indexed range scans on pos
// merged in pos order. The bound is exclusive: the position of `after` when it
// is an event id, else one less than the smallest position of the events with
// a larger id (NULL, so no rows, when there is none), or 0 for "".
func (s *DB) EventsSince(ctx context.Context, userID, after string, limit int) ([]store.Event, error) {
	rows, err := s.db.QueryContext(ctx, `WITH since (pos) AS (
			SELECT CASE WHEN ?1 = '' THEN 0 ELSE COALESCE(
				(SELECT pos FROM events WHERE id = ?1),
				(SELECT MIN(pos) - 1 FROM events WHERE id > ?1)) END
		)
		SELECT `+eventCols+` FROM (
			SELECT e.* FROM events e JOIN participants p ON p.conversation_id = e.conversation_id
			WHERE p.user_id = ?2 AND e.pos > (SELECT pos FROM since)
			UNION ALL
			SELECT e.* FROM events e WHERE e.user_id = ?2 AND e.pos > (SELECT pos FROM since)
		) ORDER BY pos ASC LIMIT ?3`, after, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("events since: %w", err)
	}
	return scanEvents(rows)
}

// EventsBefore implements store.Messages. It stays in id order: it serves
// time windows (op_log_list), which ids, starting with their second, match.
func (s *DB) EventsBefore(ctx context.Context, userID, before string, limit int) ([]store.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM (
			SELECT e.* FROM events e JOIN participants p ON p.conversation_id = e.conversation_id
			WHERE p.user_id = ?1 AND e.id < ?2
			UNION ALL
			SELECT e.* FROM events e WHERE e.user_id = ?1 AND e.id < ?2
		) ORDER BY id DESC LIMIT ?3`, userID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("events before: %w", err)
	}
	es, err := scanEvents(rows)
	slices.Reverse(es)
	return es, err
}

// scanEvents reads rows of eventCols and closes them.
func scanEvents(rows *sql.Rows) ([]store.Event, error) {
	defer rows.Close()
	out := []store.Event{}
	for rows.Next() {
		e, err := sqlrow.Event(rows)
		if err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// PruneEvents implements store.Messages.
func (s *DB) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM events WHERE created_at < ?`, sqlrow.MS(before))
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// LastMessage implements store.Messages.
func (s *DB) LastMessage(ctx context.Context, conversationID string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.db.QueryRowContext(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT 1`, conversationID)))
}

// ReadMark implements store.Messages.
func (s *DB) ReadMark(ctx context.Context, conversationID, userID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT last_read_id FROM read_marks WHERE conversation_id = ? AND user_id = ?`,
		conversationID, userID).Scan(&id)
	if err := mapErr(err); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read mark: %w", err)
	}
	return id, nil
}

// MarkRead implements store.Messages.
func (s *DB) MarkRead(ctx context.Context, conversationID, userID, upTo string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO read_marks (conversation_id, user_id, last_read_id) VALUES (?,?,?)
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_read_id = MAX(last_read_id, excluded.last_read_id)`,
		conversationID, userID, upTo)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

// OthersReadMark implements store.Messages.
func (s *DB) OthersReadMark(ctx context.Context, conversationID, userID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(last_read_id), '') FROM read_marks WHERE conversation_id = ? AND user_id <> ?`,
		conversationID, userID).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("others read mark: %w", err)
	}
	return id, nil
}

// UnreadFrom implements store.Messages.
func (s *DB) UnreadFrom(ctx context.Context, conversationID, userID, after string, limit int) ([]store.Message, error) {
	return s.queryMessages(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = ? AND from_id <> ? AND id > ?
		ORDER BY id DESC LIMIT ?`, conversationID, userID, after, limit)
}

// CountUnread implements store.Messages.
func (s *DB) CountUnread(ctx context.Context, conversationID, userID, after string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND from_id <> ? AND id > ?`,
		conversationID, userID, after).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MessageByID implements store.Messages.
func (s *DB) MessageByID(ctx context.Context, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.db.QueryRowContext(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE id = ?`, id)))
}

// EditMessage implements store.Messages.
func (s *DB) EditMessage(ctx context.Context, id, body string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE messages SET body = ?, updated_at = ? WHERE id = ?`, body, sqlrow.MS(at), id)
	if err != nil {
		return fmt.Errorf("edit message: %w", err)
	}
	return affected(res, "edit message")
}

// inList returns " IN (?,?,..)" and its args.
func inList(ids []string) (string, []any) {
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	return ` IN (?` + strings.Repeat(",?", len(ids)-1) + `)`, args
}

// DeleteMessages implements store.Messages.
func (s *DB) DeleteMessages(ctx context.Context, conversationID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := inList(ids)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ? AND id`+in,
		append([]any{conversationID}, args...)...); err != nil {
		return fmt.Errorf("delete messages: %w", err)
	}
	return nil
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
