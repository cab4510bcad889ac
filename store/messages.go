package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Positions. Every commit of the event log (one transaction of the group
// committer, on any node) takes the next number of one store-wide sequence,
// its Seq, and every event and message it writes gets a position
// Pos(seq, i): the sequence number shifted left by PosBits plus the row's
// index in the commit. Positions order everything a device sees: history,
// read marks, the event log, live delivery (docs/events.md).
//
// The sequence hands numbers out without a lock, so several nodes commit in
// parallel and a number may become visible after a larger one, or never
// (its transaction failed). Readers that must not skip one (a node
// releasing events to its sockets in order) call ResolveCommit for a number
// they have waited for too long: it waits for the writer that holds it, or
// marks the number void so that no writer can use it any more.
const PosBits = 16

// MaxCommitRows is how many positions one commit has: events plus messages
// without an event.
const MaxCommitRows = 1<<PosBits - 1

// Pos is the position of row i of commit seq.
func Pos(seq int64, i int) int64 { return seq<<PosBits | int64(i) }

// SeqOf is the commit a position belongs to.
func SeqOf(pos int64) int64 { return pos >> PosBits }

// LastPos is the largest position of commit seq.
func LastPos(seq int64) int64 { return Pos(seq, MaxCommitRows) }

// ErrTooLarge: a commit holds more rows than it has positions.
var ErrTooLarge = errors.New("commit too large")

// Message is a chat message.
type Message struct {
	ID             string
	ConversationID string
	From           string
	// ClientID is the id the sender gave it ("" = none). A sender's client
	// ids are unique per conversation: a second message with the same one is
	// ErrConflict, so a retried send is recognized and stored once.
	ClientID           string
	Body               string
	X                  json.RawMessage
	Attachments        json.RawMessage
	RepliedMessageID   string
	ForwardedMessageID string
	T                  int64 // unix seconds
	Pos                int64 // commit position, set by Commit
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Event is one entry of the durable event log: addressed to a conversation
// (every member receives it) or to one user. Written once, whatever the
// number of recipients (docs/events.md). Its ID is what clients hold and
// send back as their resume position ("eid"); Pos orders it.
type Event struct {
	ID             string
	ConversationID string // set for conversation events
	UserID         string // set for events addressed to one user
	// RefID is the message the event concerns besides its own (message_edit
	// events): deleting or editing that message again redacts it.
	RefID     string
	Payload   json.RawMessage
	Pos       int64 // set by Commit; read back by every query
	CreatedAt time.Time
}

// MessageEdit replaces a message's body in a commit. Its own logged event
// (the event with the message's id) is rewritten to Payload, and the events
// whose RefID is the message (earlier edits) are redacted, before the
// commit's new events are written: the log keeps no old body.
type MessageEdit struct {
	ConversationID string
	ID             string
	Body           string
	At             time.Time
	Payload        json.RawMessage
}

// MessageDelete deletes messages of a conversation in a commit, and redacts
// their logged events and those that refer to them (RefID).
type MessageDelete struct {
	ConversationID string
	IDs            []string
}

// ReadMark moves UserID's read position in a conversation forward to Pos
// (never back).
type ReadMark struct {
	ConversationID string
	UserID         string
	Pos            int64
}

// Batch is one request's writes: atomic, and applied in this order within
// its commit: messages, edits, deletes, read marks, reactions, events; then the
// touches of every batch, then the changes and restores of every batch in
// batch order (a batch's changes before its restores); then the commit
// reads the members of its conversations and checks every batch's Require.
type Batch struct {
	Messages  []Message
	Edits     []MessageEdit
	Deletes   []MessageDelete
	ReadMarks []ReadMark
	// Reactions change message reactions (ReactionChange).
	Reactions []ReactionChange
	Events    []Event
	// Touch marks conversations active (conversation id -> time): updated_at
	// moves forward to the time, last_pos to the commit's position.
	Touch map[string]time.Time
	// Changes change conversations' fields and members (ConversationChange).
	Changes []ConversationChange
	// Restore re-adds members who are missing when the commit reaches the
	// batch (the other party of a private chat who left, brought back by a
	// message): each one that is not a member of its ConversationID then
	// joins with its Role and JoinedAt at the commit's first position, so
	// every event of the commit is theirs; members stay as they are. The
	// store writes only for a missing member, decided inside the commit, so
	// a caller may ask for a restore with every message whatever it knows.
	Restore []Participant
	// Require are members the batch is written for (a message's sender).
	// The commit checks them against the members it reads anyway, after
	// every batch's changes and restores: one who is not a member fails the
	// commit with ErrNotMember (rolled back). It is the authoritative
	// membership check behind a caller's cache, so a member removed on any
	// node cannot write into the conversation, whatever a cache said.
	Require []Membership
	// Unblocked are pairs the batch is written for only if neither has
	// blocked the other (a message of a private chat): the commit checks
	// the block list in its transaction and fails with ErrBlocked (rolled
	// back) on a block, so a block made on any node stops the next message.
	Unblocked []UserPair
}

// Membership names a member of a conversation (Batch.Require).
type Membership struct {
	ConversationID, UserID string
}

// ErrNotMember: a batch's Require names a user who is not a member of the
// conversation as its commit sees it; the commit rolled back.
var ErrNotMember = errors.New("not a member")

// Member is a participant as the log sees them: events of the conversation
// at or after JoinedPos are theirs.
type Member struct {
	UserID    string
	JoinedPos int64
}

// Committed is the outcome of one commit.
type Committed struct {
	Seq int64
	// Void: the number was never used (ResolveCommit).
	Void bool
	// Events are the commit's events in position order (ResolveCommit only;
	// Commit sets Pos on the batches' own events instead). Redacted events
	// are left out.
	Events []Event
	// Members lists the participants of every conversation that has an
	// event in the commit (and of those its batches Require or Restore
	// members of), read in the same transaction, so a delivery goes to the
	// members as of the commit.
	Members map[string][]Member
	// MembershipChanged are the conversations a ConversationChange of the
	// commit changed (members, roles, fields, or deleted), sorted: a node
	// that caches memberships drops what it holds of them. Commit and
	// ResolveCommit both report it (the commit records it in the log).
	MembershipChanged []string
}

// ErrRolledBack marks a Commit error after which the commit certainly did
// not happen: nothing of it was written, so writing it again cannot double
// it. Other Commit errors are ambiguous (a connection lost at COMMIT).
var ErrRolledBack = errors.New("rolled back")

// ErrNumberLost: a reader marked the commit's number void (ResolveCommit)
// before the commit could record it; the commit rolled back and can be
// retried as it is.
var ErrNumberLost = fmt.Errorf("commit number voided by a reader: %w", ErrRolledBack)

// AbortedError: the commit's transaction certainly did not commit, and its
// number Seq is void (burned). Commit returns it (wrapping the cause) when
// it knows the number. It matches ErrRolledBack.
type AbortedError struct {
	Seq int64
	Err error
}

func (e *AbortedError) Error() string        { return fmt.Sprintf("commit %d aborted: %v", e.Seq, e.Err) }
func (e *AbortedError) Unwrap() error        { return e.Err }
func (e *AbortedError) Is(target error) bool { return target == ErrRolledBack }

// EventQuery selects a user's events: those of the conversations the user is
// a member of, from the member's JoinedPos on, and those addressed to the
// user; redacted events are left out. Results are in position order.
type EventQuery struct {
	UserID string
	After  int64 // positions > After
	Until  int64 // and <= Until; 0 = no bound
	// CreatedAfter and CreatedBefore bound the creation time (exclusive);
	// zero = no bound.
	CreatedAfter, CreatedBefore time.Time
	// Newest takes the newest Limit of the selection instead of the oldest
	// (still returned oldest first).
	Newest bool
	Limit  int
}

// MessageQuery pages a conversation's messages. A time bound that is the
// creation time of one of the conversation's messages (a client paging from
// the oldest or newest message it holds, as SAMA clients do) is taken as
// that message's position: UpdatedBefore gives the messages positioned
// before the last message created at that time, UpdatedAfter those after
// the first. So pages follow commit order even where two nodes' clocks put
// messages' times out of it, and a page boundary never skips a message (it
// may repeat one of the same millisecond; clients key messages by id). Any
// other time bounds updated_at.
type MessageQuery struct {
	ViewerID      string // messages this user hid for themselves are left out
	IDs           []string
	UpdatedBefore time.Time
	UpdatedAfter  time.Time // with it, the order is oldest first (SAMA)
	Limit         int
}

// ConversationState is a conversation as one member's list shows it,
// besides its fields (Messages.ConversationStates).
type ConversationState struct {
	// LastMessage is the message with the highest position (nil: none).
	LastMessage *Message
	// ReadMark is the member's read position; OthersReadMark the furthest
	// of the other members' (the "read" status of the member's messages).
	ReadMark, OthersReadMark int64
	// Unread counts the messages after ReadMark that others wrote.
	Unread int
}

// Messages stores messages and the event log.
type Messages interface {
	// Commit writes batches, in order, in one transaction that takes the
	// next commit number. Events get positions Pos(seq, i), i counting the
	// events of all batches in order from 0; a message gets the position of
	// the event with its id in its batch (each message is written with its
	// event), or the next free index when it has none. Commit sets Pos on
	// the batches' events and messages. A client id already used by the
	// sender in the conversation is ErrConflict; a missing conversation (a
	// foreign key) fails the commit. Changes are applied as
	// ConversationChange says, and their outputs set; restores and
	// required members as Batch says (a missing required member is
	// ErrNotMember). More than MaxCommitRows rows is ErrTooLarge.
	Commit(ctx context.Context, batches []*Batch) (*Committed, error)
	// ResolveCommit decides commit seq for a reader that waited for it: if
	// no transaction has used the number, it is marked void for good (a
	// writer that holds it then fails and retries); if one is using it, this
	// waits for it to end. It returns the commit's events and members, or
	// Void. Call it only for numbers at most LastCommit.
	ResolveCommit(ctx context.Context, seq int64) (*Committed, error)
	// LastCommit is the highest commit number handed out so far (0: none).
	LastCommit(ctx context.Context) (int64, error)
	Message(ctx context.Context, conversationID, id string) (*Message, error)
	// MessageByClientID finds the sender's message by its client id.
	MessageByClientID(ctx context.Context, conversationID, from, clientID string) (*Message, error)
	// ConversationMessages pages messages newest first by position (oldest
	// first with UpdatedAfter).
	ConversationMessages(ctx context.Context, conversationID string, q MessageQuery) ([]Message, error)
	// Events returns the events q selects (never nil).
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// EventPos is the position of event id. For an id that is not in the
	// log (pruned, or a time position from PositionAt) it is the position
	// just before the earliest-positioned event with a greater id, so that
	// reading after it returns every event with a greater id; with none, the
	// position of the newest event (nothing comes after it). found is false
	// then.
	EventPos(ctx context.Context, id string) (pos int64, found bool, err error)
	// MessageByID finds a message by id alone (the caller checks scope).
	MessageByID(ctx context.Context, id string) (*Message, error)
	// HideMessages hides messages of a conversation from userID only.
	HideMessages(ctx context.Context, conversationID, userID string, ids []string) error
	// LastMessage is the conversation's message with the highest position
	// (ErrNotFound if none).
	LastMessage(ctx context.Context, conversationID string) (*Message, error)
	// ReadMark is the position up to which userID has read (0 if none).
	ReadMark(ctx context.Context, conversationID, userID string) (int64, error)
	// OthersReadMark is the furthest read mark of the members other than userID.
	OthersReadMark(ctx context.Context, conversationID, userID string) (int64, error)
	// UnreadFrom lists, newest first, messages after position `after` not
	// written by userID (at most limit).
	UnreadFrom(ctx context.Context, conversationID, userID string, after int64, limit int) ([]Message, error)
	// CountUnread counts messages after position `after` not written by userID.
	CountUnread(ctx context.Context, conversationID, userID string, after int64) (int, error)
	// ConversationStates returns what userID's conversation list shows of
	// each of conversationIDs besides its fields, in a fixed number of
	// queries whatever their number (conversation_list): a conversation
	// without messages and read marks has the zero state.
	ConversationStates(ctx context.Context, userID string, conversationIDs []string) (map[string]ConversationState, error)
	// PruneEvents deletes events (and commit records) created before t and
	// reports how many events.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
	// NodeNumber hands out a number no other node start has had (mod 2^24),
	// the node part of ids (IDGen).
	NodeNumber(ctx context.Context) (uint32, error)
}

// PositionAt is the smallest event id of second t: every event id created at
// or after t's second is >= it (ids start with unix seconds). EventPos turns
// it into a log position.
func PositionAt(t time.Time) string {
	return fmt.Sprintf("%08x%016x", uint32(t.Unix()), 0)
}

// PositionTime is the second id was made in (ids start with 4 bytes of unix
// seconds, see IDGen); zero for a malformed id.
func PositionTime(id string) time.Time {
	if len(id) < 8 {
		return time.Time{}
	}
	sec, err := strconv.ParseUint(id[:8], 16, 32)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0)
}
