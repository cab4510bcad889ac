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
// one), id ascending, at most 100: the oldest after gt, the newest before lt.
func (s *Service) OpLog(ctx context.Context, a Actor, gt, lt *time.Time) ([]LogEntry, error) {
	if (gt == nil) == (lt == nil) {
		return nil, protocol.ErrGtOrLtMissed
	}
	var (
		es  []store.Event
		err error
	)
	if gt != nil {
		es, err = s.st.EventsSince(ctx, a.UserID, store.PositionAt(*gt), opLogMax+opLogMax)
	} else {
		es, err = s.st.EventsBefore(ctx, a.UserID, store.PositionAt(lt.Add(time.Second)), opLogMax+opLogMax)
	}
	if err != nil {
		return nil, fmt.Errorf("op log: %w", err)
	}
	out := []LogEntry{}
	for _, e := range es { // positions are per second; compare exact times here
		if (gt != nil && !e.CreatedAt.After(*gt)) || (lt != nil && !e.CreatedAt.Before(*lt)) {
			continue
		}
		out = append(out, LogEntry{ID: e.ID, UserID: a.UserID, Packet: e.Payload,
			CreatedAt: iso(e.CreatedAt), UpdatedAt: iso(e.CreatedAt)})
	}
	if len(out) > opLogMax {
		if gt != nil {
			out = out[:opLogMax]
		} else {
			out = out[len(out)-opLogMax:]
		}
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
// not) and returns the deliveries: one for a conversation, one per user for
// uids (each user's copy has its own position).
func (s *Service) SystemMessage(ctx context.Context, a Actor, in NewSystemMessage) (*SystemAsk, []Delivery, error) {
	switch {
	case in.ClientID == "":
		return nil, nil, protocol.ErrIncorrectMessageID
	case len(in.X) == 0 || in.X[0] != '{':
		return nil, nil, protocol.FieldRequired("x")
	case (in.CID == "") == (len(in.UIDs) == 0):
		return nil, nil, protocol.ErrCidOrUidsRequired
	case len(in.UIDs) > 20:
		return nil, nil, protocol.Invalid("uids", "'uids' max length 20")
	}
	now := s.cfg.Now().UTC()
	p := map[string]any{"_id": in.ClientID, "from": a.UserID, "t": now.Unix(), "x": in.X}
	b := &store.Batch{}
	var recipients []string
	if in.CID != "" {
		c, err := s.member(ctx, a, in.CID)
		if err != nil {
			return nil, nil, err
		}
		p["cid"] = c.ID
		if recipients, err = s.memberIDs(ctx, c.ID); err != nil {
			return nil, nil, err
		}
	} else {
		users, err := s.st.UsersByIDs(ctx, a.OrgID, in.UIDs)
		if err != nil {
			return nil, nil, fmt.Errorf("load users: %w", err)
		}
		for _, u := range users {
			recipients = append(recipients, u.ID)
		}
	}
	var ds []Delivery
	for i := range max(1, len(recipients)) { // a conversation event once; a user event per user
		if in.CID == "" && len(recipients) == 0 {
			break
		}
		id := s.ids.Next(now)
		p["eid"] = id
		frame, err := event("system_message", p)
		if err != nil {
			return nil, nil, err
		}
		if in.CID != "" {
			b.Events = append(b.Events, store.Event{ID: id, ConversationID: in.CID, Payload: frame, CreatedAt: now})
			ds = append(ds, Delivery{Frame: frame, UserIDs: recipients, EventID: id})
			break
		}
		uid := recipients[i]
		b.Events = append(b.Events, store.Event{ID: id, UserID: uid, Payload: frame, CreatedAt: now})
		ds = append(ds, Delivery{Frame: frame, UserIDs: []string{uid}, EventID: id})
	}
	if len(b.Events) > 0 {
		if err := s.gc.commit(ctx, b); err != nil {
			return nil, nil, err
		}
	}
	return &SystemAsk{MID: in.ClientID, T: now.Unix()}, ds, nil
}

// ReplayEvent is one logged event for a reconnecting device.
type ReplayEvent struct {
	ID    string
	Frame []byte
	At    time.Time // when the event was made (before its commit)
}

// Replay returns, in order, at most limit of the caller's events after
// position since ("" = from the start of the retained log).
func (s *Service) Replay(ctx context.Context, a Actor, since string, limit int) ([]ReplayEvent, error) {
	es, err := s.st.EventsSince(ctx, a.UserID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	out := make([]ReplayEvent, 0, len(es))
	for _, e := range es {
		out = append(out, ReplayEvent{ID: e.ID, Frame: e.Payload, At: e.CreatedAt})
	}
	return out, nil
}

// PositionAt is the log position of time t, for reading the log from a
// moment rather than from an event (the gateway's bus recovery).
func PositionAt(t time.Time) string { return store.PositionAt(t) }
