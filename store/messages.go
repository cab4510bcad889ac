package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Message is a chat message. Its client id is not stored (SAMA).
type Message struct {
	ID                 string
	ConversationID     string
	From               string
	Body               string
	X                  json.RawMessage
	Attachments        json.RawMessage
	RepliedMessageID   string
	ForwardedMessageID string
	T                  int64 // unix seconds
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Event is one entry of the durable event log: addressed to a conversation
// (every member receives it) or to one user. Written once, whatever the
// number of recipients (docs/events.md). Its id is what clients hold and send
// back as their position; the store also keeps the event's commit order,
// which catch-up follows, because ids are made before the commit and several
// nodes can commit them out of id order.
type Event struct {
	ID             string
	ConversationID string // set for conversation events
	UserID         string // set for events addressed to one user
	Payload        json.RawMessage
	CreatedAt      time.Time
}

// Batch is what one durable write commits atomically.
type Batch struct {
	Messages []Message
	Events   []Event
	// Touch bumps conversations' activity time (conversation id -> time).
	Touch map[string]time.Time
}

// MessageQuery pages a conversation's messages.
type MessageQuery struct {
	ViewerID      string // messages this user hid for themselves are left out
	IDs           []string
	UpdatedBefore time.Time
	UpdatedAfter  time.Time // with it, the order is oldest first (SAMA)
	Limit         int
}

// Messages stores messages and the event log.
type Messages interface {
	// Commit writes a batch in one transaction.
	Commit(ctx context.Context, b *Batch) error
	Message(ctx context.Context, conversationID, id string) (*Message, error)
	// ConversationMessages pages messages newest first (oldest first with UpdatedAfter).
	ConversationMessages(ctx context.Context, conversationID string, q MessageQuery) ([]Message, error)
	// EventsSince returns, at most limit, the events of the conversations
	// userID is a member of and those addressed to userID, in commit order,
	// after `after`. Commit order, not id order, so that a device that
	// reconnects with the id of the last event it saw cannot miss an event
	// with a smaller id that became visible after it (ids are made before
	// the commit, on several nodes). `after` is:
	//   - "": from the start of the retained log;
	//   - an event id: the events committed after that event;
	//   - anything else (a time position from PositionAt, a pruned id): from
	//     the earliest-committed event whose id is greater, so every event
	//     with a greater id is returned (with, possibly, some of smaller id
	//     committed later); none when no event has a greater id.
	// The result is never nil.
	EventsSince(ctx context.Context, userID, after string, limit int) ([]Event, error)
	// EventsBefore returns, id ascending, the newest `limit` events before
	// position `before` for userID (same selection as EventsSince).
	EventsBefore(ctx context.Context, userID, before string, limit int) ([]Event, error)
	// MessageByID finds a message by id alone (the caller checks scope).
	MessageByID(ctx context.Context, id string) (*Message, error)
	// EditMessage sets a message's body and update time.
	EditMessage(ctx context.Context, id, body string, at time.Time) error
	// DeleteMessages deletes the given messages of a conversation.
	DeleteMessages(ctx context.Context, conversationID string, ids []string) error
	// HideMessages hides messages of a conversation from userID only.
	HideMessages(ctx context.Context, conversationID, userID string, ids []string) error
	// LastMessage is the conversation's newest message (ErrNotFound if none).
	LastMessage(ctx context.Context, conversationID string) (*Message, error)
	// ReadMark is the newest message id userID has read ("" if none).
	ReadMark(ctx context.Context, conversationID, userID string) (string, error)
	// MarkRead moves userID's read mark forward to upTo (never back).
	MarkRead(ctx context.Context, conversationID, userID, upTo string) error
	// OthersReadMark is the furthest read mark of the members other than userID.
	OthersReadMark(ctx context.Context, conversationID, userID string) (string, error)
	// UnreadFrom lists, newest first, messages after position `after` not
	// written by userID (at most limit).
	UnreadFrom(ctx context.Context, conversationID, userID, after string, limit int) ([]Message, error)
	// CountUnread counts messages after `after` not written by userID.
	CountUnread(ctx context.Context, conversationID, userID, after string) (int, error)
	// PruneEvents deletes events created before t and reports how many.
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}

// PositionAt is the smallest event position of second t: every event id
// created at or after t's second is >= it (ids start with unix seconds).
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
