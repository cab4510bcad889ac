package store

import (
	"context"
	"time"
)

// Conversation types (SAMA): private 1-1, group. Channels come later.
const (
	TypePrivate = "u"
	TypeGroup   = "g"
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
	// position of the next commit. The member's catch-up and live delivery
	// start there (events before the join are not theirs).
	JoinedPos int64
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
	// RemoveParticipant removes a member and reports how many remain.
	RemoveParticipant(ctx context.Context, conversationID, userID string) (int, error)
	// SearchConversations lists ids of userID's conversations whose name
	// starts with prefix (case-insensitive, literal), newest activity
	// (LastPos) first.
	SearchConversations(ctx context.Context, orgID, userID, prefix string, updatedAfter time.Time, limit int) ([]string, error)
	// UserConversations pages the conversations userID is a member of.
	UserConversations(ctx context.Context, orgID, userID string, q ConversationQuery) ([]Conversation, error)
}
