package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// opLogMax is how many entries one op_log_list returns (SAMA).
const opLogMax = 100

// maxSystemUIDs bounds the uids of one system_message.
const maxSystemUIDs = 20

// LogEntry is one op_log_list item. packet is the event as a JSON object
// (SAMA stringified it; PROTOCOL.md decision 5).
type LogEntry struct {
	ID        string          `json:"_id"`
	UserID    string          `json:"user_id"`
	Packet    json.RawMessage `json:"packet"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
}

// OpLog lists the caller's events created after gt or before lt (exactly
// one), in log order, at most 100: the oldest after gt, the newest before
// lt. Like catch-up, it holds only events of the caller's conversations from
// when the caller joined, and nothing of deleted or replaced text.
func (s *Service) OpLog(ctx context.Context, a Actor, gt, lt *time.Time) ([]LogEntry, error) {
	if (gt == nil) == (lt == nil) {
		return nil, protocol.ErrGtOrLtMissed
	}
	q := store.EventQuery{UserID: a.UserID, Limit: opLogMax}
	if gt != nil {
		q.CreatedAfter = *gt
	} else {
		q.CreatedBefore, q.Newest = *lt, true
	}
	es, err := s.st.Events(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("op log: %w", err)
	}
	out := make([]LogEntry, 0, len(es))
	for _, e := range es {
		out = append(out, LogEntry{ID: e.ID, UserID: a.UserID, Packet: e.Payload,
			CreatedAt: iso(e.CreatedAt), UpdatedAt: iso(e.CreatedAt)})
	}
	return out, nil
}

// NewSystemMessage is system_message: client-defined signalling to a
// conversation or to up to 20 users of the organization.
type NewSystemMessage struct {
	ClientID string
	CID      string
	UIDs     []string
	X        json.RawMessage
}

// SystemAsk is the reply to system_message.
type SystemAsk struct {
	MID string `json:"mid"`
	T   int64  `json:"t"`
}

// SystemMessage stores the event (samagate keeps it for catch-up; SAMA did
// not): one for a conversation, one per user for uids (each user's copy has
// its own position). The recipients get it through the sink.
func (s *Service) SystemMessage(ctx context.Context, a Actor, in NewSystemMessage) (*SystemAsk, error) {
	switch {
	case in.ClientID == "":
		return nil, protocol.ErrIncorrectMessageID
	case len(in.X) == 0 || in.X[0] != '{':
		return nil, protocol.FieldRequired("x")
	case (in.CID == "") == (len(in.UIDs) == 0):
		return nil, protocol.ErrCidOrUidsRequired
	}
	if err := maxLength("uids", len(in.UIDs), maxSystemUIDs); err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	p := map[string]any{"_id": in.ClientID, "from": a.UserID, "t": now.Unix(), "x": in.X}
	b := &store.Batch{}
	add := func(cid, uid string) error {
		id := s.ids.Next(now)
		p["eid"] = id
		frame, err := event("system_message", p)
		if err != nil {
			return err
		}
		b.Events = append(b.Events, store.Event{ID: id, ConversationID: cid, UserID: uid, Payload: frame, CreatedAt: now})
		return nil
	}
	if in.CID != "" {
		c, err := s.writer(ctx, a, in.CID)
		if err != nil {
			return nil, err
		}
		if err := mayPost(a, c); err != nil {
			return nil, err
		}
		p["cid"] = c.id
		if err := add(c.id, ""); err != nil {
			return nil, err
		}
		b.Require = require(a, c.id)
	} else {
		users, err := s.st.UsersByIDs(ctx, a.OrgID, in.UIDs)
		if err != nil {
			return nil, fmt.Errorf("load users: %w", err)
		}
		for _, u := range users {
			if err := add("", u.ID); err != nil {
				return nil, err
			}
		}
	}
	if len(b.Events) > 0 {
		err := s.gc.commit(ctx, b, a.Conn)
		if err != nil && in.CID != "" {
			err = s.writeErr(in.CID, err)
		}
		if err != nil {
			return nil, err
		}
	}
	return &SystemAsk{MID: in.ClientID, T: now.Unix()}, nil
}

// ReplayEvent is one logged event for a reconnecting device.
type ReplayEvent struct {
	ID    string
	Pos   int64
	Frame []byte
}

// Replay returns, in order, at most limit of the caller's events with
// positions in (after, until] (until 0: no bound).
func (s *Service) Replay(ctx context.Context, a Actor, after, until int64, limit int) ([]ReplayEvent, error) {
	es, err := s.st.Events(ctx, store.EventQuery{UserID: a.UserID, After: after, Until: until, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	out := make([]ReplayEvent, 0, len(es))
	for _, e := range es {
		out = append(out, ReplayEvent{ID: e.ID, Pos: e.Pos, Frame: e.Payload})
	}
	return out, nil
}

// EventPos turns a device's resume position (the last "eid" it received)
// into a log position; "" is the start of the log. An id the log does not
// hold (pruned, or not an event) resumes at the first event with a greater
// id (found is false).
func (s *Service) EventPos(ctx context.Context, eid string) (pos int64, found bool, err error) {
	if eid == "" {
		return 0, true, nil
	}
	pos, found, err = s.st.EventPos(ctx, eid)
	if err != nil {
		return 0, false, fmt.Errorf("event position: %w", err)
	}
	return pos, found, nil
}

// ResolveCommit decides commit seq of the log and returns what it delivers
// (or Void), for a reader that has waited too long for it: the commit
// happened on another node and its packet was lost or is late, or its
// writer died or failed (store.Messages.ResolveCommit).
func (s *Service) ResolveCommit(ctx context.Context, seq int64) (Commit, error) {
	done, err := s.st.ResolveCommit(ctx, seq)
	if err != nil {
		return Commit{}, fmt.Errorf("resolve commit %d: %w", seq, err)
	}
	out := Commit{Seq: seq, Void: done.Void, MembershipChanged: done.MembershipChanged}
	for _, e := range done.Events {
		out.Deliveries = append(out.Deliveries, Delivery{Frame: e.Payload, EventID: e.ID, Pos: e.Pos,
			UserIDs: recipients(e, done.Members)})
	}
	return out, nil
}

// LastCommit is the highest commit number handed out by the store.
func (s *Service) LastCommit(ctx context.Context) (int64, error) {
	n, err := s.st.LastCommit(ctx)
	if err != nil {
		return 0, fmt.Errorf("last commit: %w", err)
	}
	return n, nil
}

// SeqOf is the commit number of a log position.
func SeqOf(pos int64) int64 { return store.SeqOf(pos) }

// LastPos is the largest position of commit seq.
func LastPos(seq int64) int64 { return store.LastPos(seq) }
