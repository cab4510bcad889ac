package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// maxBody is SAMA's body limit.
const maxBody = 65536

// Message is the wire message object (event and list item).
type Message struct {
	ID                 string          `json:"_id"`
	CID                string          `json:"cid"`
	CType              string          `json:"c_type,omitempty"`
	From               string          `json:"from"`
	T                  int64           `json:"t"`
	Body               string          `json:"body"`
	Attachments        json.RawMessage `json:"attachments,omitempty"`
	X                  json.RawMessage `json:"x"`
	RepliedMessageID   string          `json:"replied_message_id,omitempty"`
	ForwardedMessageID string          `json:"forwarded_message_id,omitempty"`
	Status             string          `json:"status,omitempty"`
	// Reactions is set on list items only (message_list, last_message):
	// {} or {"own":[..],"total":{..}}.
	Reactions any    `json:"reactions,omitempty"`
	EID       string `json:"eid,omitempty"` // on events: the position (= _id for messages)
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// messageView renders m; on the caller's own messages status is "read" once
// another member's read mark (a position) reached it, else "sent".
func messageView(m *store.Message, cType, caller string, othersMark int64) *Message {
	v := &Message{ID: m.ID, CID: m.ConversationID, CType: cType, From: m.From, T: m.T, Body: m.Body,
		Attachments: m.Attachments, X: rawOrEmpty(m.X), RepliedMessageID: m.RepliedMessageID,
		ForwardedMessageID: m.ForwardedMessageID, CreatedAt: iso(m.CreatedAt), UpdatedAt: iso(m.UpdatedAt)}
	if caller != "" && m.From == caller {
		v.Status = "sent"
		if othersMark >= m.Pos {
			v.Status = "read"
		}
	}
	return v
}

// messageEvent encodes the logged "message" event of m: the view every
// member gets, with its position in "eid" (= _id).
func messageEvent(m *store.Message, cType string) ([]byte, error) {
	view := messageView(m, cType, "", 0)
	view.EID = m.ID
	return event("message", view)
}

// NewMessage is the top-level message frame.
type NewMessage struct {
	ClientID           string
	CID                string
	Body               *string
	Attachments        json.RawMessage
	X                  json.RawMessage
	RepliedMessageID   string
	ForwardedMessageID string
}

// Ask is the sender's acknowledgement, sent only after the durable write.
type Ask struct {
	MID        string  `json:"mid"`
	ServerMID  string  `json:"server_mid"`
	T          int64   `json:"t"`
	Modified   *string `json:"modified"`
	BotMessage *string `json:"bot_message"`
}

// SendMessage stores the message and its event in one group-committed
// write and returns the ask; the members get the event through the sink.
// The client id makes it idempotent: a message the sender already sent to
// the conversation with the same id is stored once, and a repeat (a retry
// after a timeout, a second tab) gets the first ask again. It is
// SubmitMessage and its wait.
func (s *Service) SendMessage(ctx context.Context, a Actor, in NewMessage) (*Ask, error) {
	wait, err := s.SubmitMessage(ctx, a, in)
	if err != nil {
		return nil, err
	}
	return wait(ctx)
}

// SubmitMessage validates in and queues its commit, in call order:
// successive calls commit in the order they were made. wait blocks until
// the commit is durable and handed to the sink (or ctx ends) and returns
// what SendMessage returns. So a connection can read and queue its next
// message while the previous one commits, and still have its messages
// stored in the order it sent them.
//
// Validation errors (403, 404, 422) come from SubmitMessage itself; wait
// returns the commit's outcome, also 403 when the sender was removed from
// the conversation before the commit (the commit checks it), 404 when the
// conversation was deleted. SubmitMessage blocks while the committer's
// queue is full (GroupCommitMax batches): that is the backpressure of a
// pipelining connection. ctx is the request's: once it ends before the
// commit begins, the message is not written. A wait that ends
// (its own ctx) before the commit begins abandons the message too; after
// that, the message may still be stored, and a retry with the same client
// id gets its ask.
func (s *Service) SubmitMessage(ctx context.Context, a Actor, in NewMessage) (wait func(ctx context.Context) (*Ask, error), err error) {
	if in.ClientID == "" {
		return nil, protocol.ErrIncorrectMessageID
	}
	if in.CID == "" {
		return nil, protocol.FieldRequired("cid")
	}
	if in.Body == nil && len(in.Attachments) == 0 {
		return nil, protocol.ErrBodyOrAttachments
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	if len(body) > maxBody {
		return nil, protocol.Invalid("body", fmt.Sprintf("'body' max length %d", maxBody))
	}
	c, err := s.writer(ctx, a, in.CID)
	if err != nil {
		return nil, err
	}
	if err := mayPost(a, c); err != nil {
		return nil, err
	}
	if in.RepliedMessageID != "" {
		if _, err := s.st.Message(ctx, c.id, in.RepliedMessageID); errors.Is(err, store.ErrNotFound) {
			return nil, protocol.ErrIncorrectRepliedID
		} else if err != nil {
			return nil, fmt.Errorf("load replied message: %w", err)
		}
	}
	now := s.cfg.Now().UTC()
	t := (now.UnixMilli() + 999) / 1000 // SAMA: ceil(now/1000)
	id := s.ids.Next(now)
	atts := in.Attachments
	if len(atts) > 0 && s.cfg.Attachments != nil {
		if atts, err = s.cfg.Attachments.Attach(ctx, a.OrgID, a.UserID, c.id, id, atts); err != nil {
			return nil, err
		}
	}
	m := store.Message{ID: id, ConversationID: c.id, From: a.UserID, ClientID: in.ClientID, Body: body,
		X: in.X, Attachments: atts, RepliedMessageID: in.RepliedMessageID,
		ForwardedMessageID: in.ForwardedMessageID, T: t, CreatedAt: now, UpdatedAt: now}
	frame, err := messageEvent(&m, c.typ)
	if err != nil {
		return nil, err
	}
	b := &store.Batch{
		Messages: []store.Message{m},
		Events:   []store.Event{{ID: m.ID, ConversationID: c.id, Payload: frame, CreatedAt: now}},
		Touch:    map[string]time.Time{c.id: now},
		Require:  require(a, c.id),
	}
	if c.typ == store.TypePrivate { // the other may have left: the commit brings them back if so
		other := c.opponent
		if a.UserID == c.opponent {
			other = c.owner
		}
		b.Restore = []store.Participant{{ConversationID: c.id, UserID: other, JoinedAt: now}}
		b.Unblocked = []store.UserPair{{A: a.UserID, B: other}} // the commit refuses it if either blocked the other
	}
	r, err := s.gc.submit(ctx, b, a.Conn)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (*Ask, error) {
		if err := r.wait(ctx); err != nil {
			if !errors.Is(err, store.ErrConflict) {
				return nil, s.writeErr(c.id, err)
			}
			first, ferr := s.st.MessageByClientID(ctx, c.id, a.UserID, in.ClientID)
			if ferr != nil {
				return nil, fmt.Errorf("%w (find the first send: %w)", err, ferr)
			}
			return &Ask{MID: in.ClientID, ServerMID: first.ID, T: first.T}, nil
		}
		return &Ask{MID: in.ClientID, ServerMID: m.ID, T: t}, nil
	}, nil
}

// MessageQuery is message_list.
type MessageQuery struct {
	CID           string
	IDs           []string
	Limit         int
	UpdatedBefore time.Time
	UpdatedAfter  time.Time
}

// ListMessages pages a conversation's messages newest first (oldest first
// with UpdatedAfter), with status on the caller's own messages.
func (s *Service) ListMessages(ctx context.Context, a Actor, q MessageQuery) ([]Message, error) {
	if err := maxLength("ids", len(q.IDs), s.cfg.MaxListIDs); err != nil {
		return nil, err
	}
	c, err := s.member(ctx, a, q.CID)
	if err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 30
	}
	ms, err := s.st.ConversationMessages(ctx, c.ID, store.MessageQuery{ViewerID: a.UserID, IDs: q.IDs, Limit: q.Limit,
		UpdatedBefore: q.UpdatedBefore, UpdatedAfter: q.UpdatedAfter})
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	others, err := s.st.OthersReadMark(ctx, c.ID, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("others read mark: %w", err)
	}
	views := make([]*Message, 0, len(ms))
	for i := range ms {
		views = append(views, messageView(&ms[i], "", a.UserID, others))
	}
	if err := s.withReactions(ctx, a.UserID, views); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(ms))
	for _, v := range views {
		out = append(out, *v)
	}
	return out, nil
}

// MarkRead marks the foreign messages of a conversation read up to the
// newest (by position) and tells each author which of theirs were read, in
// one commit with the read mark. Re-reading sends nothing (SAMA re-sent
// every time).
func (s *Service) MarkRead(ctx context.Context, a Actor, cid string) error {
	c, err := s.writer(ctx, a, cid)
	if err != nil {
		return err
	}
	if err := notInChannel(c); err != nil {
		return err
	}
	mark, err := s.st.ReadMark(ctx, c.id, a.UserID)
	if err != nil {
		return fmt.Errorf("read mark: %w", err)
	}
	unread, err := s.st.UnreadFrom(ctx, c.id, a.UserID, mark, 100)
	if err != nil {
		return fmt.Errorf("unread messages: %w", err)
	}
	if len(unread) == 0 {
		return nil
	}
	byAuthor := map[string][]string{}
	var authors []string
	for _, m := range unread { // newest first
		if _, ok := byAuthor[m.From]; !ok {
			authors = append(authors, m.From)
		}
		byAuthor[m.From] = append(byAuthor[m.From], m.ID)
	}
	now := s.cfg.Now().UTC()
	b := &store.Batch{ReadMarks: []store.ReadMark{{ConversationID: c.id, UserID: a.UserID, Pos: unread[0].Pos}},
		Require: require(a, c.id)}
	for _, author := range authors {
		id := s.ids.Next(now)
		frame, err := event("message_read", map[string]any{"ids": byAuthor[author], "cid": c.id, "from": a.UserID, "eid": id})
		if err != nil {
			return err
		}
		b.Events = append(b.Events, store.Event{ID: id, UserID: author, Payload: frame, CreatedAt: now})
	}
	return s.writeErr(c.id, s.gc.commit(ctx, b, a.Conn))
}

// Typing is live only: not stored; delivered to the members.
func (s *Service) Typing(ctx context.Context, a Actor, cid string, status *string) (*Delivery, error) {
	c, err := s.writer(ctx, a, cid)
	if err != nil {
		return nil, err
	}
	if err := notInChannel(c); err != nil {
		return nil, err
	}
	if c.typ == store.TypePrivate {
		other := c.opponent
		if a.UserID == c.opponent {
			other = c.owner
		}
		if err := s.checkNotBlocked(ctx, a.UserID, other); err != nil {
			return nil, err
		}
	}
	p := map[string]any{"cid": c.id, "c_type": c.typ, "from": a.UserID, "t": s.cfg.Now().Unix()}
	if status != nil {
		p["status"] = *status
	}
	frame, err := event("typing", p)
	if err != nil {
		return nil, err
	}
	members, err := s.memberIDs(ctx, c.id)
	if err != nil {
		return nil, err
	}
	return &Delivery{Frame: frame, UserIDs: members, Except: a.Conn}, nil
}
