package sqlite

import (
	"context"
	"encoding/json"
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
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("member counts: %w", err)
	}
	rows, err := s.query(ctx, `SELECT conversation_id, COUNT(*) FROM participants
		WHERE conversation_id IN (SELECT value FROM json_each(?)) GROUP BY conversation_id`, string(list))
	if err != nil {
		return nil, fmt.Errorf("member counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid string
		var n int
		if err := rows.Scan(&cid, &n); err != nil {
			return nil, fmt.Errorf("scan member count: %w", err)
		}
		out[cid] = n
	}
	return out, rows.Err()
}

// ConversationAdmins implements store.Channels in one query: the caller's
// own row, with the owner's or an admin's role, selects the conversations.
func (s *DB) ConversationAdmins(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("conversation admins: %w", err)
	}
	rows, err := s.query(ctx, `SELECT p.conversation_id, p.user_id FROM conversations c
		JOIN participants me ON me.conversation_id = c.id AND me.user_id = ? AND me.role IN ('owner', 'admin')
		JOIN participants p ON p.conversation_id = c.id AND p.role IN ('owner', 'admin')
		WHERE c.org_id = ? AND c.id IN (SELECT value FROM json_each(?))
		ORDER BY p.conversation_id, p.user_id DESC`, userID, orgID, string(list))
	if err != nil {
		return nil, fmt.Errorf("conversation admins: %w", err)
	}
	defer rows.Close()
	return sqlrow.MemberIDs(rows)
}
