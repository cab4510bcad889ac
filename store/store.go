// Package store is samagate's durable data behind small repository
// interfaces. Backends are siblings: sqlite (the embedded default) and, for
// many nodes, postgres; both pass storetest.Run.
package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound: no such record.
var ErrNotFound = errors.New("not found")

// ErrConflict: a unique field (login, email or phone within an
// organization) is already taken.
var ErrConflict = errors.New("conflict")

// DefaultOrg is the organization every store creates on first start.
const DefaultOrg = "default"

// User is an account. Login, Email and Phone are unique per organization,
// case-insensitively; empty Email/Phone are not stored.
type User struct {
	ID             string
	OrgID          string
	Login          string
	Email          string
	Phone          string
	FirstName      string
	LastName       string
	AvatarObject   json.RawMessage
	PasswordHash   string
	RecentActivity int64     // unix seconds of the last disconnect, 0 = never
	LastLoginAt    time.Time // last successful login; zero = never
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Organization isolates users and everything they own.
type Organization struct {
	ID, Name             string
	CreatedAt, UpdatedAt time.Time
}

// Session is one login of a user on a device; access tokens carry its id, so
// revoking it ends them at once.
type Session struct {
	ID, UserID, OrgID, DeviceID string
	Addr, UserAgent             string
	Client                      SessionClient
	CreatedAt, LastUsedAt       time.Time
	ExpiresAt                   time.Time
	RevokedAt                   time.Time // zero while live
}

// SessionClient describes the app behind a session, as the client reports
// it at login (UProgress's fields); all optional.
type SessionClient struct {
	Platform, PlatformVersion, AppName, AppVersion, Provider string
}

// RefreshToken is stored by the SHA-256 hash of the opaque token.
type RefreshToken struct {
	Hash       string
	SessionID  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero until rotated
	ReplacedBy string    // hash of the successor once rotated
}

// UserQuery is a prefix search over login, first and last name.
type UserQuery struct {
	Prefix       string
	ExcludeIDs   []string
	UpdatedAfter time.Time // zero: no bound
	Limit        int
}

// Users stores accounts. Logins, e-mails and phones compare by their
// case-insensitive key (sqlrow.Fold), the same on every backend.
type Users interface {
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, orgID, id string) (*User, error)
	// UserByLogin finds a user by login or e-mail, case-insensitively; a
	// login match wins over an e-mail one.
	UserByLogin(ctx context.Context, orgID, login string) (*User, error)
	// UserTaken reports whether a user of orgID other than exceptID holds
	// login as a login, email as an e-mail or phone as a phone
	// (case-insensitively; empty values are not checked), so a sign-up can
	// be refused before its password is hashed.
	UserTaken(ctx context.Context, orgID, exceptID, login, email, phone string) (bool, error)
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes the user with their sessions and refresh tokens.
	DeleteUser(ctx context.Context, orgID, id string) error
	SearchUsers(ctx context.Context, orgID string, q UserQuery) ([]User, error)
	// UsersByIDs returns the existing users among ids, _id descending.
	UsersByIDs(ctx context.Context, orgID string, ids []string) ([]User, error)
	// SetRecentActivity stores each user's last disconnect (unix seconds)
	// in one transaction; users that no longer exist are skipped.
	SetRecentActivity(ctx context.Context, activity map[string]int64) error
	// UsersByIdentifier finds the accounts whose login or e-mail is ident
	// (case-insensitively) in every organization, at most limit, by
	// organization id: one person may hold an account in several.
	UsersByIdentifier(ctx context.Context, ident string, limit int) ([]User, error)
	// SetLastLogin records a successful login of the user.
	SetLastLogin(ctx context.Context, userID string, at time.Time) error
}

// Organizations stores organizations.
type Organizations interface {
	Organization(ctx context.Context, id string) (*Organization, error)
	CreateOrganization(ctx context.Context, o *Organization) error
}

// Sessions stores device sessions and their refresh tokens.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id string) (*Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// RevokeSession revokes one session; revoking twice is not an error.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeSessions revokes the user's live sessions on deviceID ("" = all
	// devices) and returns how many it revoked.
	RevokeSessions(ctx context.Context, userID, deviceID string, at time.Time) (int, error)
	// RevokeOtherSessions revokes every live session of the user (not
	// revoked, not expired at at) except exceptID ("" = all of them),
	// whatever its device, and returns how many it revoked.
	RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error)
	// LiveDevices lists the distinct devices with a live session of the user.
	LiveDevices(ctx context.Context, userID string, now time.Time) ([]string, error)
	// UserSessions lists the user's live sessions (not revoked, not expired
	// at now), most recently used first.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	RefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	// RotateRefreshToken marks hash used and replaced by next (which it
	// stores), atomically: it reports false, storing nothing, when hash was
	// already used — the caller then decides about reuse.
	RotateRefreshToken(ctx context.Context, hash string, next *RefreshToken, at time.Time) (bool, error)
	// UseOnce records the id of a single-use token (a selection token) that
	// is valid until expires, atomically on every node: false when the id
	// was recorded already.
	UseOnce(ctx context.Context, id string, expires time.Time) (bool, error)
	// PruneSessions deletes what can no longer be used at now: revoked and
	// expired sessions with their refresh tokens, expired refresh tokens,
	// used refresh tokens beyond the newest keepUsed of each session (a
	// refresh loop cannot grow them without bound), and expired single-use
	// token ids. It returns how many rows it deleted.
	PruneSessions(ctx context.Context, now time.Time, keepUsed int) (int, error)
}

// SigningKey is one access-token signing key. Keys live in the store so that
// every node of a cluster signs and verifies with the same ones. Seq orders
// them: the highest signs, all verify.
type SigningKey struct {
	Seq       int
	Kid       string
	Secret    []byte
	CreatedAt time.Time
}

// TOTP is a user's second factor: the secret, whether it is confirmed
// (logins need a code only then), and the last time step a code was used
// for (a code is accepted once).
type TOTP struct {
	Secret   string
	Enabled  bool
	LastStep int64
}

// RecoveryCode is one stored recovery code: Selector (the code's first
// group, not secret) finds it, Hash (a password hash of the whole code)
// checks it. Codes issued before selectors have Selector "" and a SHA-256
// Hash.
type RecoveryCode struct {
	Selector, Hash string
}

// SecondFactors stores TOTP secrets and one-time recovery codes (hashed).
type SecondFactors interface {
	// TOTP returns the user's TOTP state (zero when none).
	TOTP(ctx context.Context, userID string) (TOTP, error)
	// SetTOTP replaces it; a zero TOTP removes it together with the
	// recovery codes, in one transaction.
	SetTOTP(ctx context.Context, userID string, t TOTP) error
	// ConfirmTOTP enables the pending (not yet enabled) TOTP whose secret is
	// secret, records step as used and replaces the recovery codes with
	// codes, in one transaction; ErrNotFound when there is no such pending
	// enrollment (already enabled, or enrolled again meanwhile).
	ConfirmTOTP(ctx context.Context, userID, secret string, step int64, codes []RecoveryCode) error
	// UseTOTPStep records step as used if it is newer than the last used
	// one, atomically (the replay guard holds across nodes); false when not.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// RecoveryCode returns the hash of the user's unused code with selector;
	// ErrNotFound when there is none.
	RecoveryCode(ctx context.Context, userID, selector string) (string, error)
	// UseRecoveryCode deletes one hash, atomically; false when it was not
	// there (already used).
	UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error)
}

// Keys stores signing keys.
type Keys interface {
	// SigningKeys lists every key, highest Seq first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores k; it returns ErrConflict when k.Seq (or k.Kid)
	// is taken, so two nodes starting at once agree on one first key.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// DeleteSigningKey removes a retired key; an unknown kid is not an error.
	DeleteSigningKey(ctx context.Context, kid string) error
}

// Store is every repository of one backend.
type Store interface {
	Users
	Organizations
	Sessions
	Conversations
	Channels
	Messages
	Keys
	SecondFactors
	Contacts
	Reactions
	Blocks
	Files // attachments (files.go)
}

// NewID returns a 24-hex id that sorts by creation second (ObjectId-like, as
// SAMA clients expect) with 8 random bytes.
func NewID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}
