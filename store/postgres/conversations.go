package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// insertParticipants adds participants from arrays of user ids ($2), roles
// ($3) and join times ($4) to conversation $1 at joined_pos %s, leaving
// existing members as they are.
const insertParticipants = `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
	SELECT $1, u.user_id, u.role, u.joined_at, %s
	FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u (user_id, role, joined_at)
	ON CONFLICT (conversation_id, user_id) DO NOTHING RETURNING user_id, joined_pos`

var (
	// createParticipants: the position the conversation was created at.
	createParticipants = fmt.Sprintf(insertParticipants, `(SELECT last_pos FROM conversations WHERE id = $1)`)
	// addParticipants: the next commit's first position.
	addParticipants = fmt.Sprintf(insertParticipants, nextPos)
)

// participantArrays splits ps into the arrays insertParticipants takes.
func participantArrays(ps []store.Participant) (users, roles []string, joined []int64) {
	for _, p := range ps {
		users, roles, joined = append(users, p.UserID), append(roles, p.Role), append(joined, sqlrow.MS(p.JoinedAt))
	}
	return users, roles, joined
}

// CreateConversation implements store.Conversations: the conversation and
// its participants go in one atomic batch, created at the next commit's
// first position (last_pos, and the members' joined_pos).
func (s *DB) CreateConversation(ctx context.Context, c *store.Conversation, ps []store.Participant) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO conversations (id, org_id, type, name, description, owner_id, opponent_id,
		pair_key, created_at, updated_at, last_pos) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,`+nextPos+`) RETURNING last_pos`,
		c.ID, c.OrgID, c.Type, c.Name, c.Description, c.OwnerID, c.OpponentID,
		sqlrow.Nullable(c.PairKey), sqlrow.MS(c.CreatedAt), sqlrow.MS(c.UpdatedAt))
	users, roles, joined := participantArrays(ps)
	b.Queue(createParticipants, c.ID, users, roles, joined)
	br := s.pool.SendBatch(ctx, b)
	var pos int64
	err := br.QueryRow().Scan(&pos)
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create conversation: %w", mapErr(err))
	}
	c.LastPos = pos
	for i := range ps {
		ps[i].JoinedPos = pos
	}
	return nil
}

// Conversation implements store.Conversations.
func (s *DB) Conversation(ctx context.Context, orgID, id string) (*store.Conversation, error) {
	return mapScan(sqlrow.Conversation(s.pool.QueryRow(ctx, `SELECT `+sqlrow.ConversationCols+` FROM conversations c WHERE c.org_id = $1 AND c.id = $2`, orgID, id)))
}

// PrivateConversation implements store.Conversations.
func (s *DB) PrivateConversation(ctx context.Context, orgID, pairKey string) (*store.Conversation, error) {
	return mapScan(sqlrow.Conversation(s.pool.QueryRow(ctx, `SELECT `+sqlrow.ConversationCols+` FROM conversations c WHERE c.org_id = $1 AND c.pair_key = $2`, orgID, pairKey)))
}

// UpdateConversation implements store.Conversations.
func (s *DB) UpdateConversation(ctx context.Context, c *store.Conversation) error {
	tag, err := s.pool.Exec(ctx, `UPDATE conversations SET name = $1, description = $2, owner_id = $3, opponent_id = $4,
		updated_at = $5 WHERE org_id = $6 AND id = $7`, c.Name, c.Description, c.OwnerID, c.OpponentID, sqlrow.MS(c.UpdatedAt), c.OrgID, c.ID)
	if err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	return affected(tag, "update conversation")
}

// DeleteConversation implements store.Conversations; participants, messages
// and read marks go by cascade.
func (s *DB) DeleteConversation(ctx context.Context, orgID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM conversations WHERE org_id = $1 AND id = $2`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	}
	return affected(tag, "delete conversation")
}

func (s *DB) queryParticipants(ctx context.Context, q string, args ...any) ([]store.Participant, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query participants: %w", err)
	}
	return out, nil
}

// Participants implements store.Conversations.
func (s *DB) Participants(ctx context.Context, conversationID string) ([]store.Participant, error) {
	return s.queryParticipants(ctx, `SELECT `+sqlrow.ParticipantCols+` FROM participants
		WHERE conversation_id = $1 ORDER BY user_id DESC`, conversationID)
}

// Participant implements store.Conversations.
func (s *DB) Participant(ctx context.Context, conversationID, userID string) (*store.Participant, error) {
	ps, err := s.queryParticipants(ctx, `SELECT `+sqlrow.ParticipantCols+` FROM participants
		WHERE conversation_id = $1 AND user_id = $2`, conversationID, userID)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, store.ErrNotFound
	}
	return &ps[0], nil
}

// AddParticipants implements store.Conversations in one statement, so the
// new members share one joined_pos: the next commit's first position.
func (s *DB) AddParticipants(ctx context.Context, conversationID string, ps []store.Participant) error {
	if len(ps) == 0 {
		return nil
	}
	users, roles, joined := participantArrays(ps)
	rows, err := s.pool.Query(ctx, addParticipants, conversationID, users, roles, joined)
	if err != nil {
		return fmt.Errorf("add participants: %w", err)
	}
	defer rows.Close()
	added := map[string]int64{}
	for rows.Next() {
		var user string
		var pos int64
		if err := rows.Scan(&user, &pos); err != nil {
			return fmt.Errorf("add participants: %w", err)
		}
		added[user] = pos
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("add participants: %w", mapErr(err))
	}
	for i := range ps {
		if pos, ok := added[ps[i].UserID]; ok {
			ps[i].JoinedPos = pos
		}
	}
	return nil
}

// UserConversations implements store.Conversations: the filters apply to the
// conversation's activity (SAMA applied them to the caller's join time).
func (s *DB) UserConversations(ctx context.Context, orgID, userID string, q store.ConversationQuery) ([]store.Conversation, error) {
	sqlq := `SELECT ` + sqlrow.ConversationCols + ` FROM conversations c
		JOIN participants p ON p.conversation_id = c.id AND p.user_id = $1 WHERE c.org_id = $2`
	args := []any{userID, orgID}
	if len(q.IDs) > 0 {
		args = append(args, q.IDs)
		sqlq += ` AND c.id = ANY($` + strconv.Itoa(len(args)) + `)`
	}
	if !q.UpdatedBefore.IsZero() {
		args = append(args, sqlrow.MS(q.UpdatedBefore))
		sqlq += ` AND c.updated_at < $` + strconv.Itoa(len(args))
	}
	if !q.UpdatedAfter.IsZero() {
		args = append(args, sqlrow.MS(q.UpdatedAfter))
		sqlq += ` AND c.updated_at > $` + strconv.Itoa(len(args))
	}
	args = append(args, limitArg(q.Limit))
	sqlq += ` ORDER BY c.last_pos DESC, c.id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, sqlq, args...)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("user conversations: %w", err)
	}
	return out, nil
}

// SearchConversations implements store.Conversations: the caller's
// conversations and the organization's channels.
func (s *DB) SearchConversations(ctx context.Context, orgID, userID, prefix string, updatedAfter time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id FROM conversations c
		WHERE c.org_id = $2 AND c.name ILIKE $3 ESCAPE '\' AND c.updated_at > $4
		AND (c.type = 'c' OR EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = c.id AND p.user_id = $1))
		ORDER BY c.last_pos DESC, c.id DESC LIMIT $5`, userID, orgID, likePrefix(prefix), sqlrow.MS(updatedAfter), limitArg(limit))
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search conversations: %w", err)
	}
	return out, nil
}

// SetRole implements store.Conversations.
func (s *DB) SetRole(ctx context.Context, conversationID, userID, role string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE participants SET role = $1 WHERE conversation_id = $2 AND user_id = $3`, role, conversationID, userID)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return affected(tag, "set role")
}
