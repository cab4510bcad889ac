// Package sqlrow is the row mapping both SQL backends share: the column
// lists and the scanning of users, sessions, conversations, messages and
// events, and how times and optional values are stored (unix milliseconds,
// NULL for empty). The dialects differ in their queries, not in their rows,
// so this is written once; each backend maps driver errors itself.
package sqlrow

import (
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
	COALESCE(c.pair_key, ''), c.created_at, c.updated_at`

// Conversation scans a row of ConversationCols.
func Conversation(r Scanner) (*store.Conversation, error) {
	var c store.Conversation
	var created, updated int64
	if err := r.Scan(&c.ID, &c.OrgID, &c.Type, &c.Name, &c.Description, &c.OwnerID, &c.OpponentID,
		&c.PairKey, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = FromMS(created), FromMS(updated)
	return &c, nil
}

// MessageCols are the columns Message reads, in order.
const MessageCols = `id, conversation_id, from_id, body, COALESCE(x, ''), COALESCE(attachments, ''), replied_message_id,
	forwarded_message_id, t, created_at, updated_at`

// Message scans a row of MessageCols.
func Message(r Scanner) (*store.Message, error) {
	var m store.Message
	var x, att string
	var c, u int64
	if err := r.Scan(&m.ID, &m.ConversationID, &m.From, &m.Body, &x, &att, &m.RepliedMessageID,
		&m.ForwardedMessageID, &m.T, &c, &u); err != nil {
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

// Event scans an event row: id, conversation id (” for none), user id
// (” for none), payload, created_at.
func Event(r Scanner) (store.Event, error) {
	var e store.Event
	var payload string
	var c int64
	if err := r.Scan(&e.ID, &e.ConversationID, &e.UserID, &payload, &c); err != nil {
		return store.Event{}, err
	}
	e.Payload, e.CreatedAt = []byte(payload), FromMS(c)
	return e, nil
}
