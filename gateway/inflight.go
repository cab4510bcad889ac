package gateway

import (
	"sync/atomic"

	"github.com/samagate/samagate/protocol"
)

// The event loop reads every connection as fast as its peer writes and
// queues each frame for the socket's in-order handler (transport.go). A
// handler waits (a commit, a query), so without a bound one peer can make
// the queue, and the memory of the node, grow as fast as it can send:
// 3,000 frames of 60 KB took a node from 80 to 389 MB in 0.4 s.
//
// inflight bounds that queue per socket, in frames (Config.MaxInflightFrames:
// queued or, for a pipelined message, committing, until answered:
// pipeline.go) and in bytes read but not handled yet
// (Config.MaxInflightBytes; a message in flight holds its params, decoded,
// at most maxPipelined of them). Past
// either bound the socket is closed with CloseFlood (4002, reconnect
// allowed) and the frames it still had queued are dropped unhandled. The
// library offers no way to stop reading one connection of its
// level-triggered event loop (backpressure), and closing frees everything
// the socket held at once.
//
// Bytes are counted without knowing where frames end: read is the number
// of bytes read from the connection when a frame is queued, and a handled
// frame's mark becomes done, so read - done is what was read after the
// last handled frame's chunk of input: the queued frames and a partial
// one, short by at most the one chunk (64 KiB) that chunk ended with.
type inflight struct {
	read   int64        // owned by the event loop: bytes read from the connection
	done   atomic.Int64 // read when the last handled frame was queued
	frames atomic.Int32 // queued, not handled yet, or pipelined, not answered yet
	hooked bool         // owned by the event loop: Execute is wrapped (transport.go)
}

// onRead counts n bytes read from the connection, before they are parsed;
// false: the socket is over its byte bound (and closed) or closing, and
// the bytes must be dropped. Event loop goroutine.
func (s *Socket) onRead(n int) bool {
	if s.isClosing() {
		return false
	}
	s.in.read += int64(n)
	if max := s.g.cfg.MaxInflightBytes; max > 0 && s.in.read-s.in.done.Load() > int64(max) {
		s.flood("bytes")
		return false
	}
	return true
}

// onQueue admits one parsed frame to the handler's queue and returns the
// mark its completion reports to onHandled; false: over the frame bound
// (the socket is closed) or closing, and the frame must be dropped. Event
// loop goroutine.
func (s *Socket) onQueue() (int64, bool) {
	if s.isClosing() {
		return 0, false
	}
	n := s.in.frames.Add(1)
	if max := s.g.cfg.MaxInflightFrames; max > 0 && n > int32(max) {
		s.in.frames.Add(-1)
		s.flood("frames")
		return 0, false
	}
	return s.in.read, true
}

// onHandled records that the frame queued at mark is done (or was never
// queued after all). Handler goroutine.
func (s *Socket) onHandled(mark int64) {
	s.in.frames.Add(-1)
	if mark > s.in.done.Load() {
		s.in.done.Store(mark)
	}
}

// flood closes a socket over its in-flight bound with CloseFlood.
func (s *Socket) flood(what string) {
	s.g.log.Info().Str("conn", s.id).Str("addr", s.clientAddr()).Str("bound", what).Int32("frames", s.in.frames.Load()).
		Int64("bytes", s.in.read-s.in.done.Load()).Msg("socket flooded its frame queue: closed")
	s.close(protocol.CloseFlood)
}
