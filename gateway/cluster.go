package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/chat"
)

// Cluster carries what this node cannot do alone to the other nodes (the
// Redis presence backend implements it). Nil on a single node.
type Cluster interface {
	// Deliver sends an encoded event to the other nodes holding sockets of
	// userIDs.
	Deliver(ctx context.Context, frame []byte, eventID string, userIDs []string) error
	// Activity tells nodes following userID its last activity (0 = online).
	Activity(ctx context.Context, userID string, value int64) error
	// EndSession closes ended sessions' sockets on the other nodes: the
	// user's, narrowed to deviceID or sessionID when set, sparing
	// exceptSessionID.
	EndSession(ctx context.Context, userID, deviceID, sessionID, exceptSessionID, reason string) error
	// Watch and Unwatch count this node's followers of a user's activity.
	Watch(ctx context.Context, userID string) error
	Unwatch(ctx context.Context, userID string) error
}

// recoverMaxPerUser bounds the events one bus recovery re-reads per user.
const recoverMaxPerUser = 2000

// recentWindow is how long a delivered event id is remembered: longer than
// any bus recovery looks back.
const recentWindow = 3 * time.Minute

// UseCluster makes the gateway deliver across nodes through c. Call it
// before Serve.
func (g *Gateway) UseCluster(c Cluster) {
	g.cluster = c
	g.recent = newRecentSet(recentWindow)
}

// clusterCtx bounds one cross-node call made outside a request.
func (g *Gateway) clusterCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), g.cfg.RequestTimeout)
}

// recentMax bounds the event ids remembered; past it the oldest go (a
// recovery may then repeat an event, never lose one).
const recentMax = 1 << 20

// recentSet remembers which logged events reached which users' sockets on
// this node, so an event arrives once whether it came live, from a recovery
// of the event log after a bus outage, or both. Users are tracked per event
// because a packet can name only some of this node's recipients: another
// node that looked up presence while this one was restoring its entries
// saw only part of them.
type recentSet struct {
	mu     sync.Mutex
	window time.Duration
	seen   map[string][]string // guarded by mu: event id -> users it reached
	order  []recentEntry       // guarded by mu: insertion order, for expiry
}

type recentEntry struct {
	id string
	at time.Time
}

func newRecentSet(window time.Duration) *recentSet {
	return &recentSet{window: window, seen: map[string][]string{}}
}

// claim records that event id is being delivered to users here and returns
// those of them it had not reached yet. Without a set (one node) or an id
// (live-only events) every user is new.
func (r *recentSet) claim(id string, users []string) []string {
	if r == nil || id == "" {
		return users
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for n < len(r.order) && (now.Sub(r.order[n].at) > r.window || len(r.order)-n > recentMax) {
		delete(r.seen, r.order[n].id)
		n++
	}
	if n > 0 {
		r.order = append(r.order[:0], r.order[n:]...)
	}
	had, ok := r.seen[id]
	if !ok {
		r.seen[id] = users
		r.order = append(r.order, recentEntry{id: id, at: now})
		return users
	}
	var fresh []string
	for _, u := range users {
		if !slices.Contains(had, u) {
			fresh = append(fresh, u)
		}
	}
	if len(fresh) > 0 {
		r.seen[id] = append(slices.Clip(had), fresh...)
	}
	return fresh
}

// DeliverLocal queues an event from another node on this node's sockets of
// userIDs (presence.Receiver).
func (g *Gateway) DeliverLocal(frame []byte, eventID string, userIDs []string) {
	g.deliverLocal(frame, eventID, g.recent.claim(eventID, userIDs), nil)
}

// ActivityLocal tells this node's followers of userID about another node's
// change (presence.Receiver).
func (g *Gateway) ActivityLocal(userID string, value int64) { g.notifyActivity(userID, value) }

// EndSessionLocal closes this node's sockets of a session revoked on another
// node (presence.Receiver).
func (g *Gateway) EndSessionLocal(ctx context.Context, userID, deviceID, sessionID, exceptSessionID, reason string) {
	g.endSessionLocal(ctx, auth.SessionEnd{UserID: userID, DeviceID: deviceID, SessionID: sessionID,
		ExceptSessionID: exceptSessionID, Reason: reason})
}

// PresenceChanged announces users who went offline because their node died,
// or came back online when this node restored its Redis entries
// (presence.Receiver).
func (g *Gateway) PresenceChanged(ctx context.Context, userIDs []string, online bool) {
	for _, uid := range userIDs {
		if online {
			g.announce(ctx, uid, 0)
			continue
		}
		now := time.Now()
		if err := g.accounts.SetRecentActivity(ctx, uid, now); err != nil {
			g.log.Debug().Err(err).Str("user", uid).Msg("store recent activity")
		}
		g.announce(ctx, uid, now.Unix())
	}
}

// announce tells every follower of userID, on this node and the others.
func (g *Gateway) announce(ctx context.Context, userID string, value int64) {
	g.notifyActivity(userID, value)
	if g.cluster == nil {
		return
	}
	if err := g.cluster.Activity(ctx, userID, value); err != nil {
		g.log.Warn().Err(err).Str("user", userID).Msg("cluster: activity")
	}
}

// Recover re-reads the event log since t for every user with a socket on
// this node and delivers the events this node has not delivered yet: the
// bus was down, so packets from other nodes may be lost (presence.Receiver).
func (g *Gateway) Recover(ctx context.Context, since time.Time) {
	type pending struct {
		frame []byte
		at    int64 // unix ms the event was made
		users []string
	}
	from := chat.PositionAt(since)
	missed := map[string]*pending{}
	var order []string
	for uid, p := range g.hub.principals() {
		evs, err := g.chat.Replay(ctx, chat.Actor{UserID: uid, OrgID: p.OrgID}, from, recoverMaxPerUser)
		if err != nil {
			g.log.Error().Err(err).Str("user", uid).Msg("recover: read event log")
			continue
		}
		for _, e := range evs {
			m := missed[e.ID]
			if m == nil {
				m = &pending{frame: e.Frame, at: e.At.UnixMilli()}
				missed[e.ID] = m
				order = append(order, e.ID)
			}
			m.users = append(m.users, uid)
		}
	}
	n := 0
	for _, id := range order {
		users := g.recent.claim(id, missed[id].users) // those it did not reach live
		// Only sockets bound before the event was made could have missed
		// it live; later ones caught up from their own "since" (a device
		// that moved here from a dead node may already hold it).
		at := missed[id].at
		for _, uid := range users {
			for _, s := range g.hub.userSockets(uid) {
				if s.boundAt.Load() <= at {
					s.sendEvent(missed[id].frame, id)
				}
			}
		}
		if len(users) > 0 {
			n++
		}
	}
	g.log.Info().Time("since", since).Int("events", len(order)).Int("redelivered", n).Msg("recovered after a bus outage")
}
