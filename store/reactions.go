package store

import (
	"context"
	"errors"
	"time"
)

// ReactionChange adds and/or removes one user's reaction on a message in a
// commit (Batch.Reactions): adding one the user already gave, or removing
// one they did not, writes nothing. A message deleted meanwhile fails the
// commit with ErrNotFound.
type ReactionChange struct {
	MessageID, UserID string
	Add, Remove       string // "" = none
	At                time.Time
}

// ReactionSummary is what one viewer sees of a message's reactions: their
// own (sorted) and the number of users per reaction.
type ReactionSummary struct {
	Own   []string
	Total map[string]int
}

// Reactions reads message reactions; they are written by commits
// (Batch.Reactions), with the event that tells the members.
type Reactions interface {
	// MessageReactions maps each reaction of a message onto the users who
	// gave it, in the order they gave it (never nil).
	MessageReactions(ctx context.Context, messageID string) (map[string][]string, error)
	// UserReactions lists userID's reactions on a message, sorted.
	UserReactions(ctx context.Context, messageID, userID string) ([]string, error)
	// ReactionSummaries returns, in one query, the summary viewerID sees of
	// each of messageIDs that has reactions (others are absent).
	ReactionSummaries(ctx context.Context, viewerID string, messageIDs []string) (map[string]ReactionSummary, error)
}

// UserPair is two users (Batch.Unblocked).
type UserPair struct{ A, B string }

// ErrBlocked: a batch's Unblocked pair has a block between them (either
// way, with the blocker's list on) as the commit sees it; the commit rolled
// back.
var ErrBlocked = errors.New("blocked pair")

// Blocks is the block list. UserID has blocked BlockedID; a user who turned
// their list off (SetBlockListEnabled false) keeps their rows, which block
// nothing until they turn it on again.
type Blocks interface {
	// Block adds ids to userID's list (ones already there stay as they are).
	Block(ctx context.Context, userID string, ids []string, at time.Time) error
	// Unblock removes ids from userID's list (absent ones are no error).
	Unblock(ctx context.Context, userID string, ids []string) error
	// BlockedUsers lists userID's list, oldest block first (never nil).
	BlockedUsers(ctx context.Context, userID string) ([]string, error)
	// SetBlockListEnabled turns userID's list on or off.
	SetBlockListEnabled(ctx context.Context, userID string, enabled bool) error
	// Blocked reports whether a has blocked b or b has blocked a, counting
	// only lists that are on.
	Blocked(ctx context.Context, a, b string) (bool, error)
}
