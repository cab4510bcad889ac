package gateway

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/samagate/samagate/protocol"
)

// Pipelining. A socket's frames are handled one at a time (transport.go),
// and a message's ask waits for its durable commit, so a socket that
// waited for each commit in turn had one message in flight. Now a message
// is submitted (chat.SubmitMessage queues commits in call order, which is
// request order here) and its handler returns; the socket's replier, a
// goroutine that runs only while the socket has messages in flight, writes
// the asks (or errors) in request order as their commits finish.
//
//   - Replies leave in request order: the reply to any frame that follows
//     messages in flight (an error, a 429) waits behind their asks.
//   - Read-your-writes: any other request waits until every message in
//     flight is answered before its handler runs, so a message_list sent
//     right after messages sees them, as before.
//   - The bound: a socket has at most maxPipelined messages in flight. The
//     next one waits (the handler blocks) until the oldest is answered,
//     and the frames behind it wait in the transport's queue, bounded as
//     any (inflight.go). A message in flight keeps its slot of
//     Config.MaxInflightFrames until its ask is written: frames that are
//     not answered yet, whether queued or committing, count against the
//     one bound, and a client that pipelines past it is closed with
//     CloseFlood (4002) like any flood. The library cannot stop reading
//     one connection (no backpressure on the peer), so closing is the
//     only answer to a client that does not wait for its asks; one that
//     stays within the bound is answered in full.
//   - A panic of the handler or of the commit's wait is answered with one
//     500, in its turn.
//
// The queue of replies lives in the socket's outbox (outbox.go), under its
// lock: a socket with nothing in flight holds none, nor a goroutine.

// maxPipelined bounds a socket's messages in flight: submitted, their
// replies not written yet.
const maxPipelined = 32

// pendingReply is a reply awaited in request order: frame when known
// (ready), else the wait of a submitted commit that produces it.
type pendingReply struct {
	frame  []byte
	wait   func(ctx context.Context) ([]byte, error)
	ctx    context.Context
	cancel context.CancelFunc
	req    protocol.Request // detached from the frame's buffer
	method string           // its route's name (metrics)
	start  time.Time        // when its frame was taken up (metrics)
}

// reply writes the reply to the frame being handled: behind the replies
// of the messages still in flight, if any, else at once.
func (s *Socket) reply(frame []byte) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if o := s.out; o != nil && len(o.replies) > 0 {
		o.replies = append(o.replies, &pendingReply{frame: frame})
		return
	}
	s.queueLocked(frame)
	s.flushLocked()
}

// settle waits until the socket has at most n replies awaited, for a
// message that needs room (n = maxPipelined-1) or for any other request,
// which runs only once every message before it is answered (n = 0).
func (s *Socket) settle(n int) {
	s.qmu.Lock()
	for {
		o := s.out
		if o == nil || len(o.replies) <= n {
			s.qmu.Unlock()
			return
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		s.qmu.Unlock()
		<-changed // the replier writes one reply at least
		s.qmu.Lock()
	}
}

// submit handles a pipelined request (route.submit): it starts it, in
// request order, and leaves its reply to the replier. It owns ctx (cancel
// runs once the reply is written).
func (s *Socket) submit(ctx context.Context, cancel context.CancelFunc, r route, c call, start time.Time) {
	s.settle(maxPipelined - 1)
	wait, err := s.runSubmit(ctx, r, c)
	if err != nil {
		cancel()
		s.reply(s.errorReply(c.req, err))
		s.g.obs.Request(r.name, protocol.ToWire(err).Status, time.Since(start))
		return
	}
	s.in.frames.Add(1) // its slot of the in-flight bound, until the ask is written
	e := &pendingReply{wait: wait, ctx: ctx, cancel: cancel, req: detach(c.req), method: r.name, start: start}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	o := s.outboxLocked()
	o.replies = append(o.replies, e)
	if !o.replier {
		o.replier = true
		s.g.repliers.Go(s.replyLoop)
	}
}

// runSubmit calls the route's submit; a panic is logged with its stack and
// becomes a 500 reply.
func (s *Socket) runSubmit(ctx context.Context, r route, c call) (wait func(context.Context) ([]byte, error), err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(c.req.Method, v)
			wait, err = nil, errHandlerPanic
		}
	}()
	if h := s.g.cfg.handlerHook; h != nil {
		h(c.req)
	}
	return r.submit(ctx, s, c)
}

// replyLoop writes the socket's awaited replies in request order, each
// when its commit is done, and ends when none is left.
func (s *Socket) replyLoop() {
	for {
		s.qmu.Lock()
		o := s.out
		if len(o.replies) == 0 {
			o.replier = false
			s.releaseOutboxLocked()
			s.qmu.Unlock()
			return
		}
		e := o.replies[0]
		s.qmu.Unlock()

		frame := e.frame
		if e.wait != nil {
			var status int
			frame, status = s.await(e)
			e.cancel()
			s.g.obs.Request(e.method, status, time.Since(e.start))
		}
		s.qmu.Lock()
		s.queueLocked(frame)
		s.flushLocked()
		o.replies[0] = nil
		o.replies = o.replies[1:]
		if o.changed != nil {
			close(o.changed)
			o.changed = nil
		}
		s.qmu.Unlock()
		if e.wait != nil {
			s.in.frames.Add(-1)
		}
	}
}

// await runs a submitted request's wait and returns its reply and its
// status; a panic is logged and answered with a 500.
func (s *Socket) await(e *pendingReply) (frame []byte, status int) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(e.req.Method, v)
			frame, status = s.errorReply(e.req, errHandlerPanic), protocol.ErrInternal.Status
		}
	}()
	reply, err := e.wait(e.ctx)
	if err != nil {
		return s.errorReply(e.req, err), protocol.ToWire(err).Status
	}
	return reply, 200
}

// errorReply encodes err as the reply to req; a server error is logged.
func (s *Socket) errorReply(req protocol.Request, err error) []byte {
	we := protocol.ToWire(err)
	if we.Status >= 500 {
		s.g.log.Error().Err(err).Str("method", req.Method).Str("conn", s.id).Msg("request failed")
	}
	return req.ErrorReply(we)
}

// logPanic logs a handler's panic with its stack.
func (s *Socket) logPanic(method string, v any) {
	s.g.log.Error().Str("method", method).Str("conn", s.id).Str("panic", fmt.Sprint(v)).
		Bytes("stack", debug.Stack()).Msg("handler panicked")
}

// detach copies req out of the frame's buffer, which the transport reuses
// once the frame is handled, for an error reply encoded later.
func detach(req protocol.Request) protocol.Request {
	req.ID, req.Params = bytes.Clone(req.ID), bytes.Clone(req.Params)
	return req
}
