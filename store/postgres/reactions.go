package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// codeBlocked is the SQLSTATE samagate_check raises when a batch's
// Unblocked pair has a block between them (store.ErrBlocked).
const codeBlocked = "SG423"

// MessageReactions implements store.Reactions.
func (s *DB) MessageReactions(ctx context.Context, messageID string) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT reaction, user_id FROM message_reactions WHERE message_id = $1
		ORDER BY created_at, user_id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("message reactions: %w", err)
	}
	defer rows.Close()
	return sqlrow.ReactionUsers(rows)
}

// UserReactions implements store.Reactions.
func (s *DB) UserReactions(ctx context.Context, messageID, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT reaction FROM message_reactions WHERE message_id = $1 AND user_id = $2
		ORDER BY reaction COLLATE "C"`, messageID, userID)
	if err != nil {
		return nil, fmt.Errorf("user reactions: %w", err)
	}
	defer rows.Close()
	return sqlrow.Strings(rows)
}

// ReactionSummaries implements store.Reactions in one query.
func (s *DB) ReactionSummaries(ctx context.Context, viewerID string, messageIDs []string) (map[string]store.ReactionSummary, error) {
	if len(messageIDs) == 0 {
		return map[string]store.ReactionSummary{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT message_id, reaction, COUNT(*), bool_or(user_id = $2) FROM message_reactions
		WHERE message_id = ANY($1) GROUP BY message_id, reaction`, messageIDs, viewerID)
	if err != nil {
		return nil, fmt.Errorf("reaction summaries: %w", err)
	}
	defer rows.Close()
	return sqlrow.ReactionSummaries(rows)
}

// blockedPair is true when $1 and $2 have a block between them, either way,
// whose owner has the list on.
const blockedPair = `EXISTS (SELECT 1 FROM user_blocks b
	WHERE ((b.user_id = q.a AND b.blocked_id = q.b) OR (b.user_id = q.b AND b.blocked_id = q.a))
	AND NOT EXISTS (SELECT 1 FROM block_list_off o WHERE o.user_id = b.user_id))`

// checkUnblocked fails the statement, and with it the commit, with
// codeBlocked when a pair of $1, $2 has a block between them.
const checkUnblocked = `SELECT 1 FROM unnest($1::text[], $2::text[]) AS q (a, b)
	WHERE NOT samagate_check(NOT ` + blockedPair + `, '` + codeBlocked + `')`

// reactions queues a batch's reaction changes and its block check.
func (p *pipeline) reactions(b *store.Batch) {
	for _, r := range b.Reactions {
		if r.Remove != "" {
			p.exec("remove reaction", `DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND reaction = $3`,
				r.MessageID, r.UserID, r.Remove)
		}
		if r.Add != "" {
			p.exec("add reaction", `INSERT INTO message_reactions (message_id, user_id, reaction, created_at)
				VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, r.MessageID, r.UserID, r.Add, sqlrow.MS(r.At))
		}
	}
	if len(b.Unblocked) > 0 {
		as, bs := make([]string, 0, len(b.Unblocked)), make([]string, 0, len(b.Unblocked))
		for _, u := range b.Unblocked {
			as, bs = append(as, u.A), append(bs, u.B)
		}
		p.exec("check block list", checkUnblocked, as, bs)
	}
}

// Block implements store.Blocks.
func (s *DB) Block(ctx context.Context, userID string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO user_blocks (user_id, blocked_id, created_at)
		SELECT $1, b, $3 FROM unnest($2::text[]) AS b ON CONFLICT DO NOTHING`, userID, ids, sqlrow.MS(at)); err != nil {
		return fmt.Errorf("block: %w", mapErr(err))
	}
	return nil
}

// Unblock implements store.Blocks.
func (s *DB) Unblock(ctx context.Context, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM user_blocks WHERE user_id = $1 AND blocked_id = ANY($2)`, userID, ids); err != nil {
		return fmt.Errorf("unblock: %w", mapErr(err))
	}
	return nil
}

// BlockedUsers implements store.Blocks.
func (s *DB) BlockedUsers(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT blocked_id FROM user_blocks WHERE user_id = $1 ORDER BY created_at, blocked_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("blocked users: %w", err)
	}
	defer rows.Close()
	return sqlrow.Strings(rows)
}

// SetBlockListEnabled implements store.Blocks.
func (s *DB) SetBlockListEnabled(ctx context.Context, userID string, enabled bool) error {
	q := `INSERT INTO block_list_off (user_id) VALUES ($1) ON CONFLICT DO NOTHING`
	if enabled {
		q = `DELETE FROM block_list_off WHERE user_id = $1`
	}
	if _, err := s.pool.Exec(ctx, q, userID); err != nil {
		return fmt.Errorf("set block list: %w", mapErr(err))
	}
	return nil
}

// Blocked implements store.Blocks.
func (s *DB) Blocked(ctx context.Context, a, b string) (bool, error) {
	var blocked bool
	if err := s.pool.QueryRow(ctx, `SELECT `+blockedPair+` FROM (SELECT $1::text AS a, $2::text AS b) AS q`, a, b).Scan(&blocked); err != nil {
		return false, fmt.Errorf("blocked: %w", err)
	}
	return blocked, nil
}
