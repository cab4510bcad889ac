package gateway

import (
	"sync/atomic"
	"time"

	"github.com/samagate/samagate/protocol"
)

// Observer is told of the gateway's events for metrics; *metrics.Registry
// implements it. Its methods are called on the message path and must not
// block.
type Observer interface {
	// Request is told of every frame once answered: its method (a route's
	// name, methodUnknown or methodInvalid), the reply's status (200, an
	// error's status, 0 when the method has no reply) and how long it took
	// until the reply was queued.
	Request(method string, status int, took time.Duration)
	// SocketClosed is told of every closed socket: the close code the server
	// sent, else the peer's or the connection's cause, and the code's short
	// name. Codes samagate does not know are reported as 0, "other".
	SocketClosed(code int, reason string)
	// Replayed is told of every catch-up replay: events sent, time taken.
	Replayed(events int, took time.Duration)
}

// noObserver is the Observer of a gateway without metrics.
type noObserver struct{}

func (noObserver) Request(string, int, time.Duration) {}
func (noObserver) SocketClosed(int, string)           {}
func (noObserver) Replayed(int, time.Duration)        {}

// Method labels of frames that name no route.
const (
	methodInvalid = "invalid" // undecodable or too large
	methodUnknown = "unknown" // no such method
)

// counts are totals the gateway keeps for Stats; each is added to once per
// release run or per flush, never per frame of a fan-out.
type counts struct {
	deliveries atomic.Int64 // logged events queued for sockets (release runs, replays)
	live       atomic.Int64 // live-only events (typing, activity) queued for sockets
	writes     atomic.Int64 // writes to connections
}

// Stats is a snapshot of the gateway for metrics.
type Stats struct {
	Unauthenticated, Bound int   // open sockets
	Users, Devices         int   // bound on this node
	QueuedBytes            int64 // queued on sockets, not taken by the kernel yet
	Deliveries, LiveEvents int64 // events queued for sockets (counts.deliveries, counts.live)
	Writes                 int64
	Draining               bool
}

// Stats totals the gateway's sockets and counts. It walks every open
// socket once (a scrape every few seconds; about 1 ms at 20,000 sockets)
// so that nothing on the message path maintains a gauge.
func (g *Gateway) Stats() Stats {
	st := Stats{
		Deliveries: g.counts.deliveries.Load(),
		LiveEvents: g.counts.live.Load(),
		Writes:     g.counts.writes.Load(),
		Draining:   g.draining.Load(),
	}
	h := g.hub
	h.mu.RLock()
	all := make([]*Socket, 0, len(h.sockets))
	for s := range h.sockets {
		all = append(all, s)
	}
	h.mu.RUnlock()
	// Principals are read outside the hub's lock: binding takes a socket's
	// lock, then the hub's.
	devices := map[[2]string]struct{}{}
	users := map[string]struct{}{}
	for _, s := range all {
		st.QueuedBytes += s.pending()
		if p := s.Principal(); p != nil {
			st.Bound++
			users[p.UserID] = struct{}{}
			devices[[2]string{p.UserID, p.DeviceID}] = struct{}{}
		}
	}
	st.Users, st.Devices = len(users), len(devices)
	st.Unauthenticated = len(all) - st.Bound
	return st
}

// closeLabel is the code and name a close is counted under: samagate's
// codes and the standard ones it sees, else 0 "other" (a peer chooses
// its own code; the label must stay bounded).
func closeLabel(code int) (int, string) {
	switch code {
	case 1000:
		return code, "normal"
	case 1001:
		return code, "going_away"
	case 1006:
		return code, "abnormal"
	case protocol.CloseProtocolError:
		return code, "protocol_error"
	case protocol.ClosePolicy:
		return code, "policy"
	case protocol.CloseTooBig:
		return code, "too_big"
	case protocol.CloseServiceRestart:
		return code, "service_restart"
	case protocol.CloseSlowConsumer:
		return code, "slow_consumer"
	case protocol.CloseKeepaliveTimeout:
		return code, "keepalive_timeout"
	case protocol.CloseFlood:
		return code, "flood"
	case protocol.CloseLoggedOut:
		return code, "logged_out"
	case protocol.CloseUserDeleted:
		return code, "user_deleted"
	case protocol.CloseSessionRevoked:
		return code, "session_revoked"
	case protocol.CloseSessionExpired:
		return code, "session_expired"
	}
	return 0, "other"
}

// LocalUsers is the number of users with at least one authenticated socket
// on this node (Online counts the sockets). The admin API's server-stats
// reports it.
func (g *Gateway) LocalUsers() int {
	g.hub.mu.RLock()
	defer g.hub.mu.RUnlock()
	return len(g.hub.users)
}
