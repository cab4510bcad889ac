package postgres

import (
	"context"
	"fmt"

	"github.com/samagate/samagate/store/sqlrow"
)

// MemberCounts implements store.Channels: an index-only count per
// conversation (the participants' primary key starts with it).
func (s *DB) MemberCounts(ctx context.Context, ids []string) (map[string]int, error) {
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT conversation_id, COUNT(*) FROM participants
		WHERE conversation_id = ANY($1) GROUP BY conversation_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("member counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid string
		var n int64
		if err := rows.Scan(&cid, &n); err != nil {
			return nil, fmt.Errorf("scan member count: %w", err)
		}
		out[cid] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("member counts: %w", err)
	}
	return out, nil
}

// ConversationAdmins implements store.Channels in one query: the caller's
// own row, with the owner's or an admin's role, selects the conversations.
func (s *DB) ConversationAdmins(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT p.conversation_id, p.user_id FROM conversations c
		JOIN participants me ON me.conversation_id = c.id AND me.user_id = $1 AND me.role IN ('owner', 'admin')
		JOIN participants p ON p.conversation_id = c.id AND p.role IN ('owner', 'admin')
		WHERE c.org_id = $2 AND c.id = ANY($3)
		ORDER BY p.conversation_id, p.user_id DESC`, userID, orgID, ids)
	if err != nil {
		return nil, fmt.Errorf("conversation admins: %w", err)
	}
	defer rows.Close()
	return sqlrow.MemberIDs(rows)
}
