// Package sqlrow is the row mapping both SQL backends share: the column
// lists and the scanning of users, sessions, conversations, participants,
// messages and events, how times and optional values are stored (unix
// milliseconds, NULL for empty), and where each row of a commit goes (Plan).
// The dialects differ in their queries, not in their rows, so this is
// written once; each backend maps driver errors itself.
package sqlrow

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/samagate/samagate/store"
)

// Scanner is one result row: *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// MS is the stored form of a time: unix milliseconds, 0 for the zero time.
func MS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMS reads a stored time (0 is the zero time), in UTC.
func FromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Nullable stores "" as NULL, so empty e-mails and phones never clash.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RawOrNil stores an empty JSON field as NULL and any other byte for byte.
func RawOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// UserCols are the columns User reads, in order.
const UserCols = `id, org_id, login, COALESCE(email, ''), COALESCE(phone, ''), first_name, last_name,
	COALESCE(avatar_object, ''), password_hash, recent_activity, created_at, updated_at, last_login_at`

// User scans a row of UserCols.
func User(r Scanner) (*store.User, error) {
	var u store.User
	var avatar string
	var created, updated, lastLogin int64
	if err := r.Scan(&u.ID, &u.OrgID, &u.Login, &u.Email, &u.Phone, &u.FirstName, &u.LastName,
		&avatar, &u.PasswordHash, &u.RecentActivity, &created, &updated, &lastLogin); err != nil {
		return nil, err
	}
	if avatar != "" {
		u.AvatarObject = []byte(avatar)
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = FromMS(created), FromMS(updated), FromMS(lastLogin)
	return &u, nil
}

// SessionCols are the columns Session reads, in order.
const SessionCols = `id, user_id, org_id, device_id, addr, user_agent, created_at, last_used_at, expires_at,
	revoked_at, platform, platform_version, app_name, app_version, provider`

// Session scans a row of SessionCols.
func Session(r Scanner) (*store.Session, error) {
	var x store.Session
	var c, l, e, v int64
	cl := &x.Client
	if err := r.Scan(&x.ID, &x.UserID, &x.OrgID, &x.DeviceID, &x.Addr, &x.UserAgent, &c, &l, &e, &v,
		&cl.Platform, &cl.PlatformVersion, &cl.AppName, &cl.AppVersion, &cl.Provider); err != nil {
		return nil, err
	}
	x.CreatedAt, x.LastUsedAt, x.ExpiresAt, x.RevokedAt = FromMS(c), FromMS(l), FromMS(e), FromMS(v)
	return &x, nil
}

// ConversationCols are the columns Conversation reads (table alias c).
const ConversationCols = `c.id, c.org_id, c.type, c.name, c.description, c.owner_id, c.opponent_id,
	COALESCE(c.pair_key, ''), c.created_at, c.updated_at, c.last_pos`

// Conversation scans a row of ConversationCols.
func Conversation(r Scanner) (*store.Conversation, error) {
	var c store.Conversation
	var created, updated int64
	if err := r.Scan(&c.ID, &c.OrgID, &c.Type, &c.Name, &c.Description, &c.OwnerID, &c.OpponentID,
		&c.PairKey, &created, &updated, &c.LastPos); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = FromMS(created), FromMS(updated)
	return &c, nil
}

// ParticipantCols are the columns Participant reads, in order.
const ParticipantCols = `conversation_id, user_id, role, joined_at, joined_pos`

// Participant scans a row of ParticipantCols.
func Participant(r Scanner) (store.Participant, error) {
	var p store.Participant
	var joined int64
	if err := r.Scan(&p.ConversationID, &p.UserID, &p.Role, &joined, &p.JoinedPos); err != nil {
		return store.Participant{}, err
	}
	p.JoinedAt = FromMS(joined)
	return p, nil
}

// MessageCols are the columns Message reads, in order.
const MessageCols = `id, conversation_id, from_id, client_id, body, COALESCE(x, ''), COALESCE(attachments, ''),
	replied_message_id, forwarded_message_id, t, pos, created_at, updated_at`

// Message scans a row of MessageCols.
func Message(r Scanner) (*store.Message, error) {
	var m store.Message
	var x, att string
	var c, u int64
	if err := r.Scan(&m.ID, &m.ConversationID, &m.From, &m.ClientID, &m.Body, &x, &att, &m.RepliedMessageID,
		&m.ForwardedMessageID, &m.T, &m.Pos, &c, &u); err != nil {
		return nil, err
	}
	if x != "" {
		m.X = []byte(x)
	}
	if att != "" {
		m.Attachments = []byte(att)
	}
	m.CreatedAt, m.UpdatedAt = FromMS(c), FromMS(u)
	return &m, nil
}

// EventCols are the columns Event reads, in order, unqualified so that they
// apply to a subquery of events rows as well.
const EventCols = `id, COALESCE(conversation_id, ''), COALESCE(user_id, ''), COALESCE(ref_id, ''), payload, pos, created_at`

// Event scans a row of EventCols.
func Event(r Scanner) (store.Event, error) {
	var e store.Event
	var payload string
	var c int64
	if err := r.Scan(&e.ID, &e.ConversationID, &e.UserID, &e.RefID, &payload, &e.Pos, &c); err != nil {
		return store.Event{}, err
	}
	e.Payload, e.CreatedAt = []byte(payload), FromMS(c)
	return e, nil
}

// MemberCols are the columns Member reads, in order.
const MemberCols = `conversation_id, user_id, joined_pos`

// Member scans a row of MemberCols: a conversation and one of its members.
func Member(r Scanner) (conversationID string, m store.Member, err error) {
	err = r.Scan(&conversationID, &m.UserID, &m.JoinedPos)
	return conversationID, m, err
}

// EventBounds turns a query's optional bounds into values for
// "pos > After AND pos <= until AND created_at > after AND created_at <
// before" (none set: no bound).
func EventBounds(q store.EventQuery) (until, after, before int64) {
	until, after, before = q.Until, math.MinInt64, math.MaxInt64
	if until == 0 {
		until = math.MaxInt64
	}
	if !q.CreatedAfter.IsZero() {
		after = MS(q.CreatedAfter)
	}
	if !q.CreatedBefore.IsZero() {
		before = MS(q.CreatedBefore)
	}
	return until, after, before
}

// Rows is a result set of either driver (*sql.Rows, pgx.Rows), for the
// collecting helpers below; the caller closes it.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Events reads every row of EventCols (never nil).
func Events(rows Rows) ([]store.Event, error) {
	out := []store.Event{}
	for rows.Next() {
		e, err := Event(rows)
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

// Members reads every row of MemberCols, by conversation.
func Members(rows Rows) (map[string][]store.Member, error) {
	out := map[string][]store.Member{}
	for rows.Next() {
		conv, m, err := Member(rows)
		if err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		out[conv] = append(out[conv], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return out, nil
}

// Versions reads rows of (conversation id, members_version).
func Versions(rows Rows) (map[string]int64, error) {
	out := map[string]int64{}
	for rows.Next() {
		var cid string
		var v int64
		if err := rows.Scan(&cid, &v); err != nil {
			return nil, fmt.Errorf("scan member version: %w", err)
		}
		out[cid] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("member versions: %w", err)
	}
	return out, nil
}

// MemberIDs reads rows of (conversation id, user id), by conversation, in
// row order.
func MemberIDs(rows Rows) (map[string][]string, error) {
	out := map[string][]string{}
	for rows.Next() {
		var cid, uid string
		if err := rows.Scan(&cid, &uid); err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		out[cid] = append(out[cid], uid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return out, nil
}

// Distinct returns ids without repeats, in their first order.
func Distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// FileCols are the columns File scans.
const FileCols = `id, org_id, uploader_id, name, size, content_type, created_at, attached_at`

// File scans a files row (FileCols).
func File(r Scanner) (*store.File, error) {
	var f store.File
	var created, attached int64
	if err := r.Scan(&f.ID, &f.OrgID, &f.UploaderID, &f.Name, &f.Size, &f.ContentType, &created, &attached); err != nil {
		return nil, err
	}
	f.CreatedAt, f.AttachedAt = FromMS(created), FromMS(attached)
	return &f, nil
}
