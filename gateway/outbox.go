package gateway

import (
	"github.com/samagate/samagate/protocol"
	"sync"
	"time"
)

// Write coalescing. One write(2) per websocket frame made fan-out the main
// cost of a node (issue 11: 70 % of its CPU at 90k deliveries/s). Now the
// sequencer releases a run of commits by queuing their frames on the
// recipients' outboxes, then writes each socket it touched once: its queued
// frames go out together (transport.go, writeTexts), each still a frame of
// its own (SAMA clients parse one JSON object per frame). The busier the
// node, the longer the runs and the more frames share a write.
//
// Every other frame of a socket (a reply, a live event, a replayed event,
// catch_up, the close frame) is written at once with send, behind whatever
// the socket has queued, under the same lock: a socket's frames leave in
// the order they were queued, whoever queued them, as when each was
// written at once.

// outbox is what a socket has to send: frames queued but not written yet,
// the watchdog of its write timeout while its connection holds unsent
// bytes, and the replies it owes in request order while messages are in
// flight (pipeline.go). A socket has one only while any of these is the
// case (an idle socket has none); they come from the gateway's pool.
type outbox struct {
	frames [][]byte    // queued, oldest first; shared bytes, never modified
	stall  *time.Timer // armed while the connection holds unsent bytes
	seen   int64       // Socket.written when the watchdog last looked

	replies []*pendingReply // awaited, in request order (pipeline.go)
	replier bool            // the goroutine writing them runs
	changed chan struct{}   // closed when a reply is written, if someone waits
}

// outboxCap is the largest list of frames an outbox keeps for reuse.
const outboxCap = 1024

// newOutbox is the pool's constructor.
func newOutbox() any { return &outbox{frames: make([][]byte, 0, 8)} }

// send writes frame now, after the frames the socket has queued. It never
// blocks: a socket that cannot keep up is closed by the transport
// (CloseSlowConsumer) or by its write timeout. Once a write fails the
// connection is gone, and the frames it still has queued are dropped.
func (s *Socket) send(frame []byte) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.queueLocked(frame)
	s.flushLocked()
}

// sendAll is send for several frames, written together.
func (s *Socket) sendAll(frames [][]byte) {
	if len(frames) == 0 {
		return
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, f := range frames {
		s.queueLocked(f)
	}
	s.flushLocked()
}

// queueEvent queues a logged event released in commit order, to be written
// by the next flush. While the socket replays the log, released events are
// not queued: the replay reads them from the log in their turn, so the
// socket sees one ordered stream with neither gap nor repeat. It reports
// whether the caller must flush the socket: the outbox was empty.
func (s *Socket) queueEvent(frame []byte) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.replaying {
		return false
	}
	return s.queueLocked(frame)
}

// queueLocked appends frame to the outbox and reports whether it was empty.
func (s *Socket) queueLocked(frame []byte) bool {
	o := s.outboxLocked()
	o.frames = append(o.frames, frame)
	return len(o.frames) == 1
}

// outboxLocked is the socket's outbox, taken from the pool if it has none.
func (s *Socket) outboxLocked() *outbox {
	if s.out == nil {
		s.out = s.g.outboxes.Get().(*outbox)
	}
	return s.out
}

// flush writes what the socket has queued.
func (s *Socket) flush() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.flushLocked()
}

// flushLocked writes the queued frames in as few writes as the transport
// allows, and arms the write timeout if the connection is left with unsent
// bytes.
func (s *Socket) flushLocked() {
	o := s.out
	if o == nil || len(o.frames) == 0 {
		return
	}
	writes, err := s.conn.writeTexts(o.frames, s.g.writeChunk, &s.sent)
	s.g.counts.writes.Add(int64(writes))
	if h := s.g.cfg.writeHook; h != nil {
		h(len(o.frames), writes)
	}
	clear(o.frames)
	o.frames = o.frames[:0]
	if err != nil {
		if s.markClosing(closeSendFailed) {
			s.g.log.Debug().Err(err).Str("conn", s.id).Msg("send failed: dropping the frames still queued")
		}
	} else if o.stall == nil && s.pending() > 0 {
		o.seen = s.written.Load()
		o.stall = time.AfterFunc(s.g.cfg.WriteTimeout, s.checkStall)
	}
	s.releaseOutboxLocked()
}

// checkStall is the write timeout's watchdog, armed while the connection
// holds unsent bytes: it closes the socket when no byte was written for a
// whole WriteTimeout (so within one to two of them after the peer stopped
// reading), looks again later while bytes are moving, and goes away once
// they are all written. The transport's queue bound catches a peer that
// falls behind by SendQueueBytes sooner.
func (s *Socket) checkStall() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	o := s.out
	if o == nil || o.stall == nil {
		return // the socket closed
	}
	switch w := s.written.Load(); {
	case s.pending() == 0:
		o.stall = nil
		s.releaseOutboxLocked()
	case w != o.seen:
		o.seen = w
		o.stall.Reset(s.g.cfg.WriteTimeout)
	default:
		o.stall = nil
		s.releaseOutboxLocked()
		s.markClosing(protocol.CloseSlowConsumer)
		s.g.log.Info().Str("conn", s.id).Int64("unsent", s.pending()).Dur("timeout", s.g.cfg.WriteTimeout).
			Msg("socket made no write progress: closed as a slow consumer")
		s.conn.closeStalled()
	}
}

// releaseOutboxLocked returns an outbox that holds nothing to the pool.
func (s *Socket) releaseOutboxLocked() {
	o := s.out
	if o == nil || len(o.frames) > 0 || o.stall != nil || len(o.replies) > 0 || o.replier {
		return
	}
	s.out = nil
	if cap(o.frames) <= outboxCap && cap(o.replies) <= outboxCap {
		o.replies = o.replies[:0]
		s.g.outboxes.Put(o)
	}
}

// dropOutbox forgets what a closed socket still had queued and stops its
// watchdog. Replies awaited stay: the replier ends once their commits do
// (their writes fail).
func (s *Socket) dropOutbox() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	o := s.out
	if o == nil {
		return
	}
	if o.stall != nil {
		o.stall.Stop()
		o.stall = nil
	}
	clear(o.frames)
	o.frames = o.frames[:0]
	s.releaseOutboxLocked()
}

// fanout is the run of releases in progress: the sockets it queued frames
// on, each written once when the run ends (flushReleased) or when it has
// queued fanoutFrames frames. Guarded by the sequencer's lock: release and
// flushReleased run only under it.
type fanout struct {
	dirty  []*Socket // may name a socket twice (it was flushed meanwhile): the second flush finds nothing
	frames int
}

// fanoutFrames bounds the frames one run queues before they are written, so
// a long run neither holds many frames nor delays the first ones much.
const fanoutFrames = 16384

// flushShare is the fewest sockets of a run one more goroutine writes.
// Writing is the run's cost (a write(2) to loopback is about 10 µs, most of
// it the kernel's); one goroutine writing every socket of a busy node was
// the queue of its fan-out (issue 11: p50 285 ms at 60k deliveries/s with a
// quarter of the box idle). A run of fewer sockets is not worth a handoff.
const flushShare = 64

// flushReleased writes every socket the run queued frames on, in parallel
// over up to Gateway.flushers goroutines (the sequencer's own among them),
// and returns once all are written: a run is still written whole before the
// next one is released (sequencer.go). Order holds whoever writes: a
// socket's frames leave in outbox order under its lock, and a socket named
// twice in the list is flushed whole by whichever gets it first.
func (g *Gateway) flushReleased() {
	f := &g.fan
	g.counts.deliveries.Add(int64(f.frames))
	n := len(f.dirty)
	if parts := min(g.flushers, n/flushShare); parts > 1 {
		per := (n + parts - 1) / parts
		var wg sync.WaitGroup
		for i := per; i < n; i += per {
			part := f.dirty[i:min(i+per, n)]
			wg.Go(func() { flushEach(part) })
		}
		flushEach(f.dirty[:per])
		wg.Wait()
	} else {
		flushEach(f.dirty)
	}
	clear(f.dirty)
	f.dirty = f.dirty[:0]
	f.frames = 0
}

// flushEach writes the sockets' outboxes one after the other.
func flushEach(socks []*Socket) {
	for _, s := range socks {
		s.flush()
	}
}
