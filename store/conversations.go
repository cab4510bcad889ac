package store

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrFull: a conversation change would leave more members than its
// MaxMembers.
var ErrFull = errors.New("conversation full")

// Conversation types (SAMA): private 1-1, group, channel.
const (
	TypePrivate = "u"
	TypeGroup   = "g"
	// TypeChannel: the owner and admins post, subscribers read; no member
	// limit (Channels).
	TypeChannel = "c"
)

// Participant roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = ""
)

// Conversation is a chat. A private one has exactly one per pair of users
// in an organization (PairKey), restored when re-created after a leave.
type Conversation struct {
	ID          string
	OrgID       string
	Type        string
	Name        string
	Description string
	OwnerID     string
	OpponentID  string
	PairKey     string // private only: the two user ids, sorted, joined by ":"
	CreatedAt   time.Time
	UpdatedAt   time.Time // bumped by every message (Batch.Touch)
	// LastPos is the position of the newest activity (Batch.Touch, or the
	// creation): the order of a user's conversation list.
	LastPos int64
}

// Participant is a member of a conversation.
type Participant struct {
	ConversationID string
	UserID         string
	Role           string
	JoinedAt       time.Time
	// JoinedPos is set by the store when the member is added: the first
	// position of the commit that adds them (ConversationChange), or of the
	// next commit (CreateConversation, AddParticipants). The member's
	// catch-up and live delivery start there (events before the join are
	// not theirs).
	JoinedPos int64
}

// Heir is who owns a group after its owner has gone: among ps (the members
// who remain), the admin who has been a member longest, else the member
// who has; ties of JoinedPos (members added together) go to the smaller
// user id. "" when ps is empty. Both backends pick the same one in SQL
// (ConversationChange); chat calls this to tell the members beforehand.
func Heir(ps []Participant) string {
	if len(ps) == 0 {
		return ""
	}
	best := slices.MinFunc(ps, func(a, b Participant) int {
		return cmp.Or(cmp.Compare(heirRank(a.Role), heirRank(b.Role)), cmp.Compare(a.JoinedPos, b.JoinedPos),
			strings.Compare(a.UserID, b.UserID))
	})
	return best.UserID
}

// heirRank puts admins before everyone else.
func heirRank(role string) int {
	if role == RoleAdmin {
		return 0
	}
	return 1
}

// ConversationChange changes one conversation inside a commit (Batch.Changes):
// its fields, members and roles, with its rules checked in the same
// transaction. So a membership change and the events that tell of it are
// one commit that a crash cannot cut in half, and two changes racing (on
// one node or on several) cannot together break a rule that each checked
// alone. Commit applies the changes of every batch in batch order, after
// the commit's messages, events and touches and before it reads the
// members of its conversations: the commit's events go to the members as
// changed. The steps, in order:
//
//   - the conversation must exist (else ErrNotFound);
//   - Name and Description are set when not nil;
//   - Add: new members, who join at the commit's first position
//     (JoinedPos = Pos(seq, 0)), so every event of the commit is theirs;
//     one who is a member already fails the commit with ErrConflict;
//   - Remove: members leave; one who is not a member fails the commit with
//     ErrNotFound;
//   - Roles (user id -> RoleAdmin or RoleMember) are set for members
//     other than the owner; others are ignored;
//   - when a group's owner is no longer a member, Heir of the remaining
//     members becomes its owner (owner_id, and the role RoleOwner);
//   - MaxMembers > 0: more members than that fails the commit with ErrFull;
//   - a Remove that leaves nobody deletes the conversation.
//
// A failed step rolls the whole commit back (ErrRolledBack). Concurrent
// changes of one conversation take turns: a commit locks the conversation
// (PostgreSQL: its row, in the commit's lock order; SQLite has one writer)
// before it counts the members.
type ConversationChange struct {
	ConversationID    string
	Name, Description *string
	Add               []Participant
	Remove            []string
	Roles             map[string]string
	MaxMembers        int

	// Set by Commit once committed:

	// Deleted: the conversation was deleted (nobody remained).
	Deleted bool
	// OwnerID is the owner after the change ("" when Deleted).
	OwnerID string
}

// ConversationQuery pages a user's conversations, newest activity first
// (LastPos descending).
type ConversationQuery struct {
	IDs           []string  // only these (still only the user's)
	UpdatedBefore time.Time // zero: no bound
	UpdatedAfter  time.Time // zero: no bound
	Limit         int
}

// PairKey is the key of the private conversation of two users.
func PairKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + ":" + b
}

// Conversations stores conversations and their participants.
type Conversations interface {
	// CreateConversation stores c with its participants atomically (setting
	// c.LastPos and their JoinedPos to the next commit's first position); a
	// second private conversation of the same pair is ErrConflict.
	CreateConversation(ctx context.Context, c *Conversation, ps []Participant) error
	Conversation(ctx context.Context, orgID, id string) (*Conversation, error)
	// PrivateConversation finds the pair's private conversation.
	PrivateConversation(ctx context.Context, orgID, pairKey string) (*Conversation, error)
	UpdateConversation(ctx context.Context, c *Conversation) error
	DeleteConversation(ctx context.Context, orgID, id string) error
	// Participants lists members, user id descending (SAMA's order), with
	// their JoinedPos.
	Participants(ctx context.Context, conversationID string) ([]Participant, error)
	Participant(ctx context.Context, conversationID, userID string) (*Participant, error)
	// AddParticipants adds members (JoinedPos: the next commit's first
	// position); existing ones are left as they are.
	AddParticipants(ctx context.Context, conversationID string, ps []Participant) error
	// SetRole changes a member's role (ErrNotFound for a non-member).
	SetRole(ctx context.Context, conversationID, userID, role string) error
	// RemoveParticipant removes a member, hands a group's ownership on
	// (Heir) when it was the owner, and reports how many remain, in one
	// transaction; ErrNotFound for a non-member. It does not delete an
	// emptied conversation (a ConversationChange does).
	RemoveParticipant(ctx context.Context, conversationID, userID string) (int, error)
	// ConversationMembers maps each of ids that is a conversation of orgID
	// with userID among its members onto its member ids (user id
	// descending); others are left out. One query, whatever len(ids)
	// (get_participants_by_cids).
	ConversationMembers(ctx context.Context, orgID, userID string, ids []string) (map[string][]string, error)
	// SearchConversations lists ids of userID's conversations, and of the
	// channels of orgID whether userID subscribes or not, whose name starts
	// with prefix (case-insensitive, literal), newest activity (LastPos)
	// first.
	SearchConversations(ctx context.Context, orgID, userID, prefix string, updatedAfter time.Time, limit int) ([]string, error)
	// UserConversations pages the conversations userID is a member of.
	UserConversations(ctx context.Context, orgID, userID string, q ConversationQuery) ([]Conversation, error)
}
