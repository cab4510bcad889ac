package gateway

import (
	"context"
	"errors"
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
// blocks.
type Socket struct {
	// immutable after construction
	id   string
	conn wsConn
	g    *Gateway

	// owned by the frame handler (one frame at a time)
	badFrames int

	// mu guards the fields below and serializes binding changes, so the
	// hub and presence always agree with principal.
	mu        sync.Mutex
	principal *auth.Principal // nil while unauthenticated
	isClosed  bool

	// inactive is set by activity_status (a backgrounded mobile app).
	inactive atomic.Bool
	// boundAt is when the socket was last bound (unix ms): a bus
	// recovery re-delivers only events the socket should have seen live.
	boundAt atomic.Int64

	// sent counts the bytes queued on the connection, written those the
	// kernel took (transport.go): their difference is the socket's backlog,
	// which paces a replay (replay.go).
	sent, written atomic.Int64

	// qmu guards the replay state: while replaying, released events are not
	// sent live; the replay reads them from the log (replay.go).
	qmu          sync.Mutex
	replaying    bool
	replayGen    uint64
	replayCancel context.CancelFunc
}

var errSocketClosed = errors.New("socket closed")

func (g *Gateway) newSocket(c wsConn) *Socket {
	s := &Socket{id: strconv.FormatUint(g.nextID.Add(1), 36), conn: c, g: g}
	g.hub.add(s)
	return s
}

// Principal returns who the socket is bound to, or nil.
func (s *Socket) Principal() *auth.Principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principal
}

// send queues one encoded frame. It never blocks: a socket that cannot keep
// up is closed by the transport (CloseSlowConsumer).
func (s *Socket) send(frame []byte) {
	s.sent.Add(int64(wireSize(len(frame))))
	if err := s.conn.writeText(frame); err != nil {
		s.g.log.Debug().Err(err).Str("conn", s.id).Msg("send failed")
	}
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

// handleFrame decodes and answers one inbound frame.
func (s *Socket) handleFrame(data []byte) {
	g := s.g
	if len(data) == 0 {
		return // SAMA ignores empty frames
	}
	if len(data) > g.cfg.MaxFrameBytes {
		s.send(protocol.ErrorFrame(nil, protocol.ErrTooLarge))
		s.badFrame()
		return
	}
	req, err := protocol.Decode(data)
	if err != nil {
		we := protocol.ToWire(err)
		if req.Method != "" {
			s.send(req.ErrorReply(we))
		} else {
			s.send(protocol.ErrorFrame(req.ID, we))
		}
		s.badFrame()
		return
	}
	s.badFrames = 0
	r, ok := g.routes[req.Method]
	if !ok {
		s.send(req.ErrorReply(protocol.UnknownMethodError(req.Method)))
		return
	}
	p := s.Principal()
	if r.auth && p == nil {
		s.send(req.ErrorReply(protocol.ErrUnauthorized))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.RequestTimeout)
	defer cancel()
	var post []func()
	reply, err := r.handle(ctx, s, call{req: req, p: p, post: &post})
	if err != nil {
		we := protocol.ToWire(err)
		if we.Status >= 500 {
			g.log.Error().Err(err).Str("method", req.Method).Str("conn", s.id).Msg("request failed")
		}
		s.send(req.ErrorReply(we))
		return
	}
	if reply != nil {
		s.send(reply)
	}
	for _, f := range post {
		f()
	}
}

// badFrame counts an undecodable frame and closes a socket that keeps
// sending them (PROTOCOL.md decision 3).
func (s *Socket) badFrame() {
	s.badFrames++
	if s.badFrames >= s.g.cfg.MaxBadFrames {
		s.close(protocol.ClosePolicy)
	}
}

// close sends a close frame with code and closes; cleanup runs in closed.
func (s *Socket) close(code int) {
	s.conn.closeWith(code, protocol.CloseReason(code))
}

// closed runs once the connection is gone: unbind and forget the socket.
func (s *Socket) closed(code int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.stopReplay()
	s.mu.Lock()
	s.isClosed = true
	p := s.principal
	s.unbindLocked(ctx)
	s.mu.Unlock()
	s.g.hub.remove(s, "") // unbindLocked above already ended any activity subscription
	ev := s.g.log.Debug().Str("conn", s.id).Int("code", code)
	if p != nil {
		ev = ev.Str("user", p.UserID).Str("device", p.DeviceID)
	}
	ev.Msg("socket closed")
}
