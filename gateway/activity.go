package gateway

import (
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

// subscribe makes s follow userID, replacing what it followed before.
func (a *activity) subscribe(s *Socket, userID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unsubscribeLocked(s)
	a.target[s] = userID
	w := a.watchers[userID]
	if w == nil {
		w = map[*Socket]struct{}{}
		a.watchers[userID] = w
	}
	w[s] = struct{}{}
}

// unsubscribe ends s's subscription, if any.
func (a *activity) unsubscribe(s *Socket) {
	a.mu.Lock()
	a.unsubscribeLocked(s)
	a.mu.Unlock()
}

func (a *activity) unsubscribeLocked(s *Socket) {
	uid, ok := a.target[s]
	if !ok {
		return
	}
	delete(a.target, s)
	if w := a.watchers[uid]; w != nil {
		delete(w, s)
		if len(w) == 0 {
			delete(a.watchers, uid)
		}
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
}
