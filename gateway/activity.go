package gateway

import (
	"context"
	"sync"

	"github.com/samagate/samagate/protocol"
)

// activity holds this node's last-activity subscriptions. A socket follows
// at most one user at a time (SAMA: a new subscribe replaces the old); the
// subscription belongs to the socket's session and ends with it.
type activity struct {
	mu       sync.Mutex
	target   map[*Socket]string              // guarded by mu: socket -> followed user
	watchers map[string]map[*Socket]struct{} // guarded by mu: user -> following sockets
}

func newActivity() *activity {
	return &activity{target: map[*Socket]string{}, watchers: map[string]map[*Socket]struct{}{}}
}

// subscribe makes s follow userID, replacing what it followed before, and
// returns that ("" for none).
func (a *activity) subscribe(s *Socket, userID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.unsubscribeLocked(s)
	a.target[s] = userID
	w := a.watchers[userID]
	if w == nil {
		w = map[*Socket]struct{}{}
		a.watchers[userID] = w
	}
	w[s] = struct{}{}
	return prev
}

// unsubscribe ends s's subscription, if any, and returns whom it followed.
func (a *activity) unsubscribe(s *Socket) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.unsubscribeLocked(s)
}

func (a *activity) unsubscribeLocked(s *Socket) string {
	uid, ok := a.target[s]
	if !ok {
		return ""
	}
	delete(a.target, s)
	if w := a.watchers[uid]; w != nil {
		delete(w, s)
		if len(w) == 0 {
			delete(a.watchers, uid)
		}
	}
	return uid
}

// follow makes s follow userID and tells the cluster, so that nodes where
// the user's devices come and go notify this one.
func (g *Gateway) follow(ctx context.Context, s *Socket, userID string) {
	prev := g.activity.subscribe(s, userID)
	if g.cluster == nil || prev == userID {
		return
	}
	if err := g.cluster.Watch(ctx, userID); err != nil {
		g.log.Warn().Err(err).Str("user", userID).Msg("cluster: watch")
	}
	if prev != "" {
		if err := g.cluster.Unwatch(ctx, prev); err != nil {
			g.log.Warn().Err(err).Str("user", prev).Msg("cluster: unwatch")
		}
	}
}

// unfollow ends s's subscription, if any.
func (g *Gateway) unfollow(ctx context.Context, s *Socket) {
	prev := g.activity.unsubscribe(s)
	if g.cluster == nil || prev == "" {
		return
	}
	if err := g.cluster.Unwatch(ctx, prev); err != nil {
		g.log.Warn().Err(err).Str("user", prev).Msg("cluster: unwatch")
	}
}

// watchersOf returns the sockets following userID.
func (a *activity) watchersOf(userID string) []*Socket {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*Socket, 0, len(a.watchers[userID]))
	for s := range a.watchers[userID] {
		out = append(out, s)
	}
	return out
}

// notifyActivity pushes {"last_activity":{"<userID>": value}} to every
// socket following userID: 0 when the user's first device connected, the
// last-activity unix time when the last one left. Encoded once.
func (g *Gateway) notifyActivity(userID string, value int64) {
	watchers := g.activity.watchersOf(userID)
	if len(watchers) == 0 {
		return
	}
	frame, err := protocol.Event("last_activity", map[string]int64{userID: value})
	if err != nil {
		g.log.Error().Err(err).Msg("encode last_activity")
		return
	}
	for _, s := range watchers {
		s.send(frame)
	}
	g.counts.live.Add(int64(len(watchers)))
}
