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
	// MaxParticipants of a group. Default 50 (SAMA). It also bounds each
	// list of conversation_create and conversation_update (participants,
	// admins): a longer one is 422.
	MaxParticipants int
	// MaxListIDs bounds the id lists of get_participants_by_cids (cids),
	// message_list and message_delete (ids): a longer one is 422 "'<field>'
	// max length <n>". Default 100.
	MaxListIDs int
	// GroupCommitMax is the most batches written in one transaction. Default 256.
	GroupCommitMax int
	// CommitTimeout bounds one commit of the event log. Default 10s.
	CommitTimeout time.Duration
	// Sink receives every commit of this node, in commit order, from one
	// goroutine: the deliveries of its events, or a void number. The gateway
	// releases them to sockets. Nil drops them (tests of chat alone).
	Sink func(Commit)
	// Retention is how long the event log keeps events for catch-up.
	// Default 7 days.
	Retention time.Duration
	// PruneInterval is how often expired events are deleted. Default 1h.
	PruneInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// MemberCache bounds the conversations the membership cache of the
	// write paths holds (memberCache): between half of it and all of it.
	// An entry costs about 250 bytes for a private chat and 620 for a
	// group of 50 (TestMemberCacheMemory), so the default 65,536 is at most
	// 16 MB, or 40 MB if all were groups of 50. Negative turns the cache
	// off (every check reads the store).
	MemberCache int
	// Observer, when set, is told of every group commit (metrics).
	Observer Observer
	// Attachments, when set, checks the attachments of every new message
	// and records that the message carries their files (package files).
	// Nil stores them as sent.
	Attachments Attacher
}

// Attacher checks the attachments of message mid that userID sends to
// conversation cid, of which they are a member, records that the message
// carries the files, and returns the attachments to store; its errors are
// wire errors for the sender.
type Attacher interface {
	Attach(ctx context.Context, orgID, userID, cid, mid string, attachments json.RawMessage) (json.RawMessage, error)
}

// Observer is told of every group commit of the event log: how many
// requests it wrote, how long the store took, and its error. It must not
// block (it runs on the committer's goroutine).
type Observer interface {
	Committed(batches int, took time.Duration, err error)
}

// Actor is who acts: a user of an organization, through one socket (Conn,
// this node's id of it; "" when none), which gets no copy of the events it
// causes: it has its reply.
type Actor struct{ UserID, OrgID, Conn string }

// Delivery is one encoded event and the users whose sockets get it. Logged
// events carry their id (the client's resume position, "eid") and their log
// position; live-only ones (typing) have neither.
type Delivery struct {
	Frame   []byte
	UserIDs []string
	EventID string
	Pos     int64
	// Except is the socket of this node that caused the event ("" = none).
	Except string
}

// Commit is one commit number of the event log and what it delivers, in
// position order; Void when the number was never used.
type Commit struct {
	Seq        int64
	Void       bool
	Deliveries []Delivery
	// MembershipChanged are the conversations whose members (or fields) the
	// commit changed, sorted: every node's Service must learn of them
	// (Observe), so that its membership cache forgets them.
	MembershipChanged []string
}

// Service is the chat core.
type Service struct {
	cfg   Config
	st    store.Store
	ids   *store.IDGen
	log   zerolog.Logger
	gc    *committer
	cache *memberCache // nil: off

	stopPrune chan struct{}
	pruneDone chan struct{}
}

// New starts the service (and its group committer); Close stops it. It
// takes a node number from the store for its ids.
func New(ctx context.Context, st store.Store, cfg Config, log zerolog.Logger) (*Service, error) {
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = 50
	}
	if cfg.MaxListIDs <= 0 {
		cfg.MaxListIDs = 100
	}
	if cfg.GroupCommitMax <= 0 {
		cfg.GroupCommitMax = 256
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.PruneInterval <= 0 {
		cfg.PruneInterval = time.Hour
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 10 * time.Second
	}
	if cfg.Sink == nil {
		cfg.Sink = func(Commit) {}
	}
	if cfg.MemberCache == 0 {
		cfg.MemberCache = 1 << 16
	}
	node, err := st.NodeNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("node number: %w", err)
	}
	s := &Service{cfg: cfg, st: st, ids: store.NewIDGen(node), log: log,
		stopPrune: make(chan struct{}), pruneDone: make(chan struct{})}
	if cfg.MemberCache > 0 {
		s.cache = newMemberCache(cfg.MemberCache)
	}
	sink := cfg.Sink
	s.gc = newCommitter(st, cfg.GroupCommitMax, cfg.CommitTimeout, cfg.Observer, func(c Commit) {
		s.Observe(c) // before the senders are released and the gateway sees it
		sink(c)
	})
	go s.pruneLoop()
	return s, nil
}

// Close stops the pruning loop and the group committer.
func (s *Service) Close() {
	close(s.stopPrune)
	<-s.pruneDone
	s.gc.close()
}

// Prune deletes events older than the retention and reports how many.
func (s *Service) Prune(ctx context.Context) (int, error) {
	n, err := s.st.PruneEvents(ctx, s.cfg.Now().Add(-s.cfg.Retention))
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return n, nil
}

// pruneLoop runs Prune every PruneInterval until Close.
func (s *Service) pruneLoop() {
	defer close(s.pruneDone)
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopPrune:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			n, err := s.Prune(ctx)
			cancel()
			if err != nil {
				s.log.Error().Err(err).Msg("prune event log")
			} else if n > 0 {
				s.log.Info().Int("events", n).Msg("pruned event log")
			}
		}
	}
}

// maxName is SAMA's longest conversation name.
const maxName = 255

// maxLength is SAMA's 422 for a list argument longer than limit:
// "'<field>' max length <limit>".
func maxLength(field string, n, limit int) error {
	if n <= limit {
		return nil
	}
	return protocol.Invalid(field, fmt.Sprintf("'%s' max length %d", field, limit))
}

const isoTime = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Format(isoTime) }

// Observe tells the service of a commit: the membership cache forgets the
// conversations it changed. The service observes its own commits as it
// makes them; the gateway calls Observe with every commit it releases, so
// that the other nodes' commits are observed too (observing one twice is
// harmless). Until a forgotten conversation is read again, its checks read
// the store.
func (s *Service) Observe(c Commit) {
	if s.cache == nil {
		return
	}
	for _, cid := range c.MembershipChanged {
		s.cache.invalidate(cid)
	}
}

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
