// Package chat is conversations and messages: membership, rules and the
// durable event log, transport-free. It says what happened and who must
// receive it (Delivery); the gateway delivers. See docs/events.md.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

var errClosed = errors.New("chat service closed")

// Config tunes chat. The zero value works.
type Config struct {
	// MaxParticipants of a group. Default 50 (SAMA).
	MaxParticipants int
	// GroupCommitMax is the most batches written in one transaction. Default 256.
	GroupCommitMax int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Actor is who acts: a user of an organization.
type Actor struct{ UserID, OrgID string }

// Delivery is one encoded event and the users whose sockets get it.
// EventID is its position in the event log ("" for live-only events), so a
// socket replaying the log can drop a live copy of an event it replayed.
type Delivery struct {
	Frame   []byte
	UserIDs []string
	EventID string
}

// Service is the chat core.
type Service struct {
	cfg Config
	st  store.Store
	ids *store.IDGen
	log zerolog.Logger
	gc  *committer
}

// New starts the service (and its group committer); Close stops it.
func New(st store.Store, cfg Config, log zerolog.Logger) *Service {
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = 50
	}
	if cfg.GroupCommitMax <= 0 {
		cfg.GroupCommitMax = 256
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, st: st, ids: store.NewIDGen(), log: log, gc: newCommitter(st, cfg.GroupCommitMax)}
}

// Close stops the group committer.
func (s *Service) Close() { s.gc.close() }

const isoTime = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Format(isoTime) }

// member loads a conversation of a's organization that a belongs to:
// 404 Conversation not found. / 403 Forbidden.
func (s *Service) member(ctx context.Context, a Actor, cid string) (*store.Conversation, error) {
	if cid == "" {
		return nil, protocol.FieldRequired("cid")
	}
	c, err := s.st.Conversation(ctx, a.OrgID, cid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrConversationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	if _, err := s.st.Participant(ctx, cid, a.UserID); errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrForbidden
	} else if err != nil {
		return nil, fmt.Errorf("load participant: %w", err)
	}
	return c, nil
}

// memberIDs lists a conversation's user ids.
func (s *Service) memberIDs(ctx context.Context, cid string) ([]string, error) {
	ps, err := s.st.Participants(ctx, cid)
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.UserID)
	}
	return out, nil
}

// event encodes {"<name>": payload}.
func event(name string, payload any) ([]byte, error) {
	b, err := protocol.Event(name, payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return b, nil
}

// rawOrEmpty keeps x present as {} on the wire (SAMA always sends x).
func rawOrEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}
