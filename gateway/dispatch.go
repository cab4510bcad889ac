package gateway

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// handleFrame decodes and answers one inbound frame: size and envelope
// checks, rate limits, the route, then the handler (its panic answered as
// one 500). Replies leave in request order, also behind the asks of
// messages still in flight (pipeline.go).
func (s *Socket) handleFrame(data []byte) {
	g := s.g
	if len(data) == 0 || s.isClosing() {
		return // SAMA ignores empty frames; a closing socket's frames are dropped
	}
	start := time.Now()
	if len(data) > g.cfg.MaxFrameBytes {
		s.reply(protocol.ErrorFrame(nil, protocol.ErrTooLarge))
		g.obs.Request(methodInvalid, protocol.ErrTooLarge.Status, time.Since(start))
		s.badFrame()
		return
	}
	req, err := protocol.Decode(data)
	if err != nil {
		we := protocol.ToWire(err)
		if req.Method != "" {
			s.reply(req.ErrorReply(we))
		} else {
			s.reply(protocol.ErrorFrame(req.ID, we))
		}
		g.obs.Request(methodInvalid, we.Status, time.Since(start))
		s.badFrame()
		return
	}
	s.badFrames = 0
	r, ok := g.routes[req.Method]
	method := r.name
	if !ok {
		method = methodUnknown
	}
	p := s.Principal()
	if !s.admit(p, r.class) {
		s.reply(req.ErrorReply(protocol.ErrRateLimited))
		g.obs.Request(method, protocol.ErrRateLimited.Status, time.Since(start))
		return
	}
	if !ok {
		we := protocol.UnknownMethodError(req.Method)
		s.reply(req.ErrorReply(we))
		g.obs.Request(method, we.Status, time.Since(start))
		return
	}
	if r.auth && p == nil {
		s.reply(req.ErrorReply(protocol.ErrUnauthorized))
		g.obs.Request(method, protocol.ErrUnauthorized.Status, time.Since(start))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.RequestTimeout)
	var post []func()
	c := call{req: req, p: p, post: &post}
	if r.submit != nil {
		s.submit(ctx, cancel, r, c, start) // its reply comes in its turn
		return
	}
	defer cancel()
	s.settle(0) // read-your-writes: every message before this request is answered
	reply, err := s.run(ctx, r, c)
	switch {
	case err != nil:
		s.send(s.errorReply(req, err))
		g.obs.Request(method, protocol.ToWire(err).Status, time.Since(start))
	case reply != nil:
		s.send(reply)
		g.obs.Request(method, 200, time.Since(start))
	default:
		g.obs.Request(method, 0, time.Since(start))
	}
	for _, f := range post {
		s.runPost(req.Method, f)
	}
}

// admit charges one request to the socket's bucket and, on a bound socket,
// to its user's buckets (every request, and the method's class); false:
// over a limit, answered 429 and charged nowhere else.
func (s *Socket) admit(p *auth.Principal, c limitClass) bool {
	g := s.g
	now := g.clock()
	if !g.perConn.ok(s.reqTAT, now) {
		return false
	}
	if p != nil && !g.perUser.allow(p.UserID, c, now) {
		return false
	}
	g.perConn.take(&s.reqTAT, now)
	return true
}

// errHandlerPanic stands for a handler's panic: the client gets 500
// Internal server error.
var errHandlerPanic = errors.New("handler panicked")

// run calls the route's handler. A panic is logged with its stack and
// becomes one 500 reply; the socket stays open and keeps answering.
func (s *Socket) run(ctx context.Context, r route, c call) (reply []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(c.req.Method, v)
			reply, err = nil, errHandlerPanic
		}
	}()
	if h := s.g.cfg.handlerHook; h != nil {
		h(c.req)
	}
	return r.handle(ctx, s, c)
}

// runPost runs one after-reply step of a request (event fan-out); a panic
// is logged, the reply is already sent.
func (s *Socket) runPost(method string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			s.g.log.Error().Str("method", method).Str("conn", s.id).Str("panic", fmt.Sprint(v)).
				Bytes("stack", debug.Stack()).Msg("after-reply step panicked")
		}
	}()
	f()
}

// badFrame counts an undecodable frame and closes a socket that keeps
// sending them (PROTOCOL.md decision 3).
func (s *Socket) badFrame() {
	s.badFrames++
	if int(s.badFrames) >= s.g.cfg.MaxBadFrames {
		s.settle(0) // the replies owed go out before the close frame
		s.close(protocol.ClosePolicy)
	}
}
