package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// eventLock is the pg_advisory_xact_lock key ("sgevents" in ASCII) that
// Commit holds while it allocates event positions.
const eventLock int64 = 0x73676576656e7473

// Commit implements store.Messages: messages, events and activity bumps go
// to the server in one round trip and commit as one transaction. Touched
// conversations are updated in id order so concurrent batches of several
// nodes lock their rows in the same order and cannot deadlock.
//
// A batch with events first takes eventLock, held until the transaction
// ends. Event positions come from a sequence, and a sequence hands out
// values in call order, not commit order: without the lock, node A could
// take position 7, node B position 8, B commit, a device catch up past 8,
// and then A commit 7 behind it, never to be replayed. Under the lock the
// next batch takes its positions only after the previous one is visible,
// so position order is visibility order. It serializes the event writes of
// every node, one group commit at a time; batches without events skip it.
func (s *DB) Commit(ctx context.Context, b *store.Batch) error {
	pb := &pgx.Batch{}
	if len(b.Events) > 0 {
		pb.Queue(`SELECT pg_advisory_xact_lock($1)`, eventLock)
	}
	for _, m := range b.Messages {
		pb.Queue(`INSERT INTO messages (id, conversation_id, from_id, body, x, attachments,
			replied_message_id, forwarded_message_id, t, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
			m.ID, m.ConversationID, m.From, m.Body, sqlrow.RawOrNil(m.X), sqlrow.RawOrNil(m.Attachments), m.RepliedMessageID,
			m.ForwardedMessageID, m.T, sqlrow.MS(m.CreatedAt), sqlrow.MS(m.UpdatedAt))
	}
	for _, e := range b.Events {
		pb.Queue(`INSERT INTO events (id, conversation_id, user_id, payload, created_at) VALUES ($1,$2,$3,$4,$5)`,
			e.ID, sqlrow.Nullable(e.ConversationID), sqlrow.Nullable(e.UserID), string(e.Payload), sqlrow.MS(e.CreatedAt))
	}
	ids := make([]string, 0, len(b.Touch))
	for id := range b.Touch {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		pb.Queue(`UPDATE conversations SET updated_at = GREATEST(updated_at, $1) WHERE id = $2`, sqlrow.MS(b.Touch[id]), id)
	}
	if err := s.sendAtomic(ctx, pb); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return nil
}

// Message implements store.Messages.
func (s *DB) Message(ctx context.Context, conversationID, id string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.pool.QueryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = $1 AND id = $2`, conversationID, id)))
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
	if !q.UpdatedBefore.IsZero() {
		sqlq += ` AND updated_at < ` + arg(sqlrow.MS(q.UpdatedBefore))
	}
	order := ` ORDER BY id DESC`
	if !q.UpdatedAfter.IsZero() {
		sqlq += ` AND updated_at > ` + arg(sqlrow.MS(q.UpdatedAfter))
		order = ` ORDER BY id ASC`
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

// eventCols are the columns scanEvents reads, from a subquery of events rows.
const eventCols = `id, COALESCE(conversation_id, ''), COALESCE(user_id, ''), payload, created_at`

// EventsSince implements store.Messages with two indexed range scans on pos
// merged in pos order. The bound is exclusive: the position of `after` when it
// is an event id, else one less than the smallest position of the events with
// a larger id (NULL, so no rows, when there is none), or 0 for "".
func (s *DB) EventsSince(ctx context.Context, userID, after string, limit int) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `WITH since AS (
			SELECT CASE WHEN $2 = '' THEN 0 ELSE COALESCE(
				(SELECT pos FROM events WHERE id = $2),
				(SELECT MIN(pos) - 1 FROM events WHERE id > $2)) END AS pos
		)
		SELECT `+eventCols+` FROM (
			SELECT e.* FROM events e JOIN participants p ON p.conversation_id = e.conversation_id
			WHERE p.user_id = $1 AND e.pos > (SELECT pos FROM since)
			UNION ALL
			SELECT e.* FROM events e WHERE e.user_id = $1 AND e.pos > (SELECT pos FROM since)
		) AS mine ORDER BY pos ASC LIMIT $3`, userID, after, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("events since: %w", err)
	}
	return scanEvents(rows)
}

// EventsBefore implements store.Messages. It stays in id order: it serves
// time windows (op_log_list), which ids, starting with their second, match.
func (s *DB) EventsBefore(ctx context.Context, userID, before string, limit int) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM (
			SELECT e.* FROM events e JOIN participants p ON p.conversation_id = e.conversation_id
			WHERE p.user_id = $1 AND e.id < $2
			UNION ALL
			SELECT e.* FROM events e WHERE e.user_id = $1 AND e.id < $2
		) AS mine ORDER BY id DESC LIMIT $3`, userID, before, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("events before: %w", err)
	}
	es, err := scanEvents(rows)
	slices.Reverse(es)
	return es, err
}

// scanEvents reads rows of eventCols and closes them.
func scanEvents(rows pgx.Rows) ([]store.Event, error) {
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM events WHERE created_at < $1`, sqlrow.MS(before))
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// LastMessage implements store.Messages.
func (s *DB) LastMessage(ctx context.Context, conversationID string) (*store.Message, error) {
	return mapScan(sqlrow.Message(s.pool.QueryRow(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1`, conversationID)))
}

// ReadMark implements store.Messages.
func (s *DB) ReadMark(ctx context.Context, conversationID, userID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT last_read_id FROM read_marks WHERE conversation_id = $1 AND user_id = $2`,
		conversationID, userID).Scan(&id)
	if err := mapErr(err); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read mark: %w", err)
	}
	return id, nil
}

// MarkRead implements store.Messages; GREATEST keeps the mark from moving
// back.
func (s *DB) MarkRead(ctx context.Context, conversationID, userID, upTo string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO read_marks (conversation_id, user_id, last_read_id) VALUES ($1,$2,$3)
		ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_read_id = GREATEST(read_marks.last_read_id, excluded.last_read_id)`,
		conversationID, userID, upTo)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

// OthersReadMark implements store.Messages.
func (s *DB) OthersReadMark(ctx context.Context, conversationID, userID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(last_read_id), '') FROM read_marks WHERE conversation_id = $1 AND user_id <> $2`,
		conversationID, userID).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("others read mark: %w", err)
	}
	return id, nil
}

// UnreadFrom implements store.Messages.
func (s *DB) UnreadFrom(ctx context.Context, conversationID, userID, after string, limit int) ([]store.Message, error) {
	return s.queryMessages(ctx, `SELECT `+sqlrow.MessageCols+` FROM messages WHERE conversation_id = $1 AND from_id <> $2 AND id > $3
		ORDER BY id DESC LIMIT $4`, conversationID, userID, after, limitArg(limit))
}

// CountUnread implements store.Messages.
func (s *DB) CountUnread(ctx context.Context, conversationID, userID, after string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND from_id <> $2 AND id > $3`,
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

// EditMessage implements store.Messages.
func (s *DB) EditMessage(ctx context.Context, id, body string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE messages SET body = $1, updated_at = $2 WHERE id = $3`, body, sqlrow.MS(at), id)
	if err != nil {
		return fmt.Errorf("edit message: %w", err)
	}
	return affected(tag, "edit message")
}

// DeleteMessages implements store.Messages.
func (s *DB) DeleteMessages(ctx context.Context, conversationID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM messages WHERE conversation_id = $1 AND id = ANY($2)`, conversationID, ids); err != nil {
		return fmt.Errorf("delete messages: %w", err)
	}
	return nil
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
