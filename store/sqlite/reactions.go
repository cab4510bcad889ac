package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// MessageReactions implements store.Reactions.
func (s *DB) MessageReactions(ctx context.Context, messageID string) (map[string][]string, error) {
	rows, err := s.query(ctx, `SELECT reaction, user_id FROM message_reactions WHERE message_id = ?
		ORDER BY created_at, user_id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("message reactions: %w", err)
	}
	defer func() { _ = rows.Close() }()
	return sqlrow.ReactionUsers(rows)
}

// UserReactions implements store.Reactions.
func (s *DB) UserReactions(ctx context.Context, messageID, userID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT reaction FROM message_reactions WHERE message_id = ? AND user_id = ?
		ORDER BY reaction`, messageID, userID)
	if err != nil {
		return nil, fmt.Errorf("user reactions: %w", err)
	}
	defer func() { _ = rows.Close() }()
	return sqlrow.Strings(rows)
}

// ReactionSummaries implements store.Reactions in one query.
func (s *DB) ReactionSummaries(ctx context.Context, viewerID string, messageIDs []string) (map[string]store.ReactionSummary, error) {
	if len(messageIDs) == 0 {
		return map[string]store.ReactionSummary{}, nil
	}
	list, err := json.Marshal(messageIDs)
	if err != nil {
		return nil, fmt.Errorf("reaction summaries: %w", err)
	}
	rows, err := s.query(ctx, `SELECT message_id, reaction, COUNT(*), MAX(user_id = ?2) FROM message_reactions
		WHERE message_id IN (SELECT value FROM json_each(?1)) GROUP BY message_id, reaction`, string(list), viewerID)
	if err != nil {
		return nil, fmt.Errorf("reaction summaries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	return sqlrow.ReactionSummaries(rows)
}

// writeReactions applies a batch's reaction changes in its commit. A
// message that is gone fails the foreign key: store.ErrNotFound.
func writeReactions(ctx context.Context, tx *wtx, rs []store.ReactionChange) error {
	for _, r := range rs {
		if r.Remove != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_reactions WHERE message_id = ? AND user_id = ? AND reaction = ?`,
				r.MessageID, r.UserID, r.Remove); err != nil {
				return fmt.Errorf("remove reaction: %w", err)
			}
		}
		if r.Add != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO message_reactions (message_id, user_id, reaction, created_at)
				VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, r.MessageID, r.UserID, r.Add, sqlrow.MS(r.At)); err != nil {
				return fmt.Errorf("add reaction: %w", commitErr(err))
			}
		}
	}
	return nil
}

// checkUnblocked fails a commit with store.ErrBlocked when a pair of a
// batch has a block between them (store.Batch.Unblocked).
func checkUnblocked(ctx context.Context, tx *wtx, pairs []store.UserPair) error {
	for _, p := range pairs {
		var blocked bool
		if err := tx.QueryRowContext(ctx, blockedPair, p.A, p.B).Scan(&blocked); err != nil {
			return fmt.Errorf("check block list: %w", err)
		}
		if blocked {
			return store.ErrBlocked
		}
	}
	return nil
}

// blockedPair is true when ?1 and ?2 have a block between them, either way,
// whose owner has the list on.
const blockedPair = `SELECT EXISTS (SELECT 1 FROM user_blocks b
	WHERE ((b.user_id = ?1 AND b.blocked_id = ?2) OR (b.user_id = ?2 AND b.blocked_id = ?1))
	AND NOT EXISTS (SELECT 1 FROM block_list_off o WHERE o.user_id = b.user_id))`

// Block implements store.Blocks.
func (s *DB) Block(ctx context.Context, userID string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("block: %w", err)
	}
	if _, err := s.exec(ctx, `INSERT INTO user_blocks (user_id, blocked_id, created_at)
		SELECT ?1, value, ?3 FROM json_each(?2) WHERE true ON CONFLICT DO NOTHING`, userID, string(list), sqlrow.MS(at)); err != nil {
		return fmt.Errorf("block: %w", mapErr(err))
	}
	return nil
}

// Unblock implements store.Blocks.
func (s *DB) Unblock(ctx context.Context, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("unblock: %w", err)
	}
	if _, err := s.exec(ctx, `DELETE FROM user_blocks WHERE user_id = ? AND blocked_id IN (SELECT value FROM json_each(?))`,
		userID, string(list)); err != nil {
		return fmt.Errorf("unblock: %w", mapErr(err))
	}
	return nil
}

// BlockedUsers implements store.Blocks.
func (s *DB) BlockedUsers(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT blocked_id FROM user_blocks WHERE user_id = ? ORDER BY created_at, blocked_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("blocked users: %w", err)
	}
	defer func() { _ = rows.Close() }()
	return sqlrow.Strings(rows)
}

// SetBlockListEnabled implements store.Blocks.
func (s *DB) SetBlockListEnabled(ctx context.Context, userID string, enabled bool) error {
	q := `INSERT INTO block_list_off (user_id) VALUES (?) ON CONFLICT DO NOTHING`
	if enabled {
		q = `DELETE FROM block_list_off WHERE user_id = ?`
	}
	if _, err := s.exec(ctx, q, userID); err != nil {
		return fmt.Errorf("set block list: %w", mapErr(err))
	}
	return nil
}

// Blocked implements store.Blocks.
func (s *DB) Blocked(ctx context.Context, a, b string) (bool, error) {
	var blocked bool
	if err := s.queryRow(ctx, blockedPair, a, b).Scan(&blocked); err != nil && err != sql.ErrNoRows {
		return false, fmt.Errorf("blocked: %w", err)
	}
	return blocked, nil
}
