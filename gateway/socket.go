package gateway

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// Socket is one client websocket. Its frames are handled one at a time in
// arrival order (the transport guarantees it), so replies leave in request
// order; events from other goroutines are queued with send, which never
// blocks, or, released in commit order, on its outbox (outbox.go).
type Socket struct {
	// immutable after construction
	id   string
	conn wsConn
	g    *Gateway

	// set at construction, before the socket is published (transport.go)
	addr *addrSlot // its client address and that address's socket count

	// owned by the frame handler (one frame at a time)
	reqTAT    int64 // the socket's request bucket (ratelimit.go)
	badFrames int32

	// closing is set when the server closes the socket (to the close code
	// it sent) or a send fails (closeSendFailed): frames still queued are
	// dropped unhandled. Zero while open.
	closing atomic.Int32
	// in bounds the frames read but not handled yet (inflight.go).
	in inflight

	// mu guards the fields below and serializes binding changes, so the
	// hub and presence always agree with principal.
	mu        sync.Mutex
	principal *auth.Principal // nil while unauthenticated
	isClosed  bool
	// replaying is guarded by qmu (below); it sits here, in isClosed's
	// padding, to keep the socket in its allocation size class.
	replaying bool

	// inactive is set by activity_status (a backgrounded mobile app).
	inactive atomic.Bool
	// boundAt is when the socket was last bound (unix ms): a bus
	// recovery re-delivers only events the socket should have seen live.
	boundAt atomic.Int64
	// expiresAt is principal's SessionExpiresAt (unix ns; 0: unbound or
	// never), readable without mu by the ping loop (expiry.go).
	expiresAt atomic.Int64

	// sent counts the bytes queued on the connection, written those the
	// kernel took (transport.go): their difference is the socket's backlog,
	// which paces a replay (replay.go).
	sent, written atomic.Int64

	// qmu guards the replay state (while replaying, released events are not
	// sent live; the replay reads them from the log: replay.go) and the
	// outbox, and is held by every write of a text or close frame, so that
	// the socket's frames leave in the order they were queued (outbox.go).
	qmu          sync.Mutex
	replayGen    uint64
	replayCancel context.CancelFunc
	out          *outbox // nil while nothing is queued or unsent
}

var errSocketClosed = errors.New("socket closed")

func (g *Gateway) newSocket(c wsConn) *Socket {
	s := &Socket{id: strconv.FormatUint(g.nextID.Add(1), 36), conn: c, g: g}
	g.hub.add(s)
	return s
}

// clientAddr is the client's address as the upgrade saw it: the TCP
// peer's host, or the proxy's X-Forwarded-For entry with
// Config.TrustProxyHeaders.
func (s *Socket) clientAddr() string {
	if s.addr != nil {
		return s.addr.key
	}
	a := s.conn.remoteAddr()
	if h, _, err := net.SplitHostPort(a); err == nil {
		return h
	}
	return a
}

// Principal returns who the socket is bound to, or nil.
func (s *Socket) Principal() *auth.Principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principal
}

// pending is how many queued bytes the kernel has not taken yet.
func (s *Socket) pending() int64 {
	return max(s.sent.Load()-s.written.Load(), 0)
}

// wireSize is the size of a server's websocket frame with n payload bytes
// (unmasked header of 2, 4 or 10 bytes).
func wireSize(n int) int {
	switch {
	case n < 126:
		return n + 2
	case n < 1<<16:
		return n + 4
	}
	return n + 10
}

func (s *Socket) ping() {
	s.sent.Add(int64(wireSize(0)))
	if err := s.conn.writePing(); err != nil {
		s.g.log.Debug().Err(err).Str("conn", s.id).Msg("ping failed")
	}
}

// close sends a close frame with code, after the frames already queued,
// and closes; cleanup runs in closed.
func (s *Socket) close(code int) {
	s.markClosing(code)
	reason := protocol.CloseReason(code)
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.flushLocked()
	s.sent.Add(int64(wireSize(2 + len(reason))))
	s.conn.closeWith(code, reason)
}

// closeSendFailed marks a socket whose write failed: the connection is
// gone, and its own cause names the close.
const closeSendFailed = -1

// markClosing records that the socket is closing, and why: the first
// reason stays. It reports whether this was the first.
func (s *Socket) markClosing(code int) bool {
	return s.closing.CompareAndSwap(0, int32(code))
}

// isClosing reports whether the socket is closing.
func (s *Socket) isClosing() bool { return s.closing.Load() != 0 }

// closed runs once the connection is gone: unbind and forget the socket.
// code is the connection's cause; the code the server sent, if it closed
// the socket, is the one counted.
func (s *Socket) closed(code int) {
	if sent := s.closing.Load(); sent > 0 {
		code = int(sent)
	}
	s.g.obs.SocketClosed(closeLabel(code))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.stopReplay()
	s.dropOutbox()
	s.mu.Lock()
	s.isClosed = true
	p := s.principal
	s.unbindLocked(ctx)
	s.mu.Unlock()
	s.g.hub.remove(s) // unbindLocked above already ended any activity subscription
	ev := s.g.log.Debug().Str("conn", s.id).Int("code", code)
	if p != nil {
		ev = ev.Str("user", p.UserID).Str("device", p.DeviceID)
	}
	ev.Msg("socket closed")
}
