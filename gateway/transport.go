package gateway

// This is the only file that knows the websocket library. samagate uses
// lesismal/nbio: an epoll event loop serves HTTP and websockets on one port,
// and an idle socket holds no goroutine and no read buffer. Measured on our
// 2-core box this keeps an idle authenticated socket far below the 8 KiB bar
// (see README "Performance"); coder/websocket measured 23 KiB and gobwas/ws
// 6 KiB, both with a goroutine per socket. To swap libraries, re-implement
// this file: newTransport, wsConn and the upgrade handler.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/rs/zerolog"
	"github.com/samagate/samagate/protocol"
)

// wsConn is what a Socket needs from a websocket connection.
type wsConn interface {
	// writeTexts writes frames, in order, as text frames without blocking
	// the caller (see nbConn.writeTexts); sent counts the bytes before
	// each write to the connection. It reports how many writes it made.
	writeTexts(frames [][]byte, chunk int, sent *atomic.Int64) (writes int, err error)
	// writePing queues a websocket ping.
	writePing() error
	// closeWith sends a close frame with code and reason, then closes.
	closeWith(code int, reason string)
	// closeStalled closes a connection whose queued bytes made no
	// progress (the write timeout; logged as CloseSlowConsumer).
	closeStalled()
	// remoteAddr is the peer address, host:port.
	remoteAddr() string
}

// nbConn adapts *websocket.Conn to wsConn. It is one pointer, so a socket
// holds it in its interface field without an allocation of its own.
type nbConn struct{ c *websocket.Conn }

// maxFrameHeader is the longest header of an unmasked server frame.
const maxFrameHeader = 10

// writeTexts encodes frames as unmasked server text frames (opcode 1, FIN,
// no RSV bit: the upgrader never negotiates permessage-deflate, see
// newTransport) and writes them to the event loop's connection, small ones
// together, at most chunk bytes per Write: a run of queued frames costs one
// write(2) where the library's WriteMessage costs one per frame. The
// connection's Write never blocks: what the kernel does not take is copied
// to its queue, bounded by MaxWriteBufferSize (past it the connection is
// closed, CloseSlowConsumer). A frame longer than one chunk is sent as a
// fragmented message of chunk-sized frames, as the library does for long
// messages, so no single write outgrows the queue of a healthy socket;
// only control frames (ping, pong, close) can come between its fragments,
// which the protocol allows, because every text frame of a socket is
// written under its outbox lock (outbox.go). Each frame stays one JSON
// object: SAMA clients parse one object per frame.
func (n nbConn) writeTexts(frames [][]byte, chunk int, sent *atomic.Int64) (writes int, err error) {
	w := n.c.UnderlayerConn()
	alloc := n.c.Engine.BodyAllocator
	put := func(b []byte) error {
		sent.Add(int64(len(b)))
		writes++
		_, err := w.Write(b)
		return err
	}
	room := chunk - maxFrameHeader // the longest payload sent whole
	for len(frames) > 0 {
		if f := frames[0]; len(f) > room {
			for op, rest := byte(0x1), f; len(rest) > 0; op = 0x0 {
				piece := rest[:min(len(rest), room)]
				rest = rest[len(piece):]
				if len(rest) == 0 {
					op |= 0x80 // FIN on the last fragment
				}
				pbuf := alloc.Malloc(len(piece) + maxFrameHeader)
				b := append(appendFrameHeader((*pbuf)[:0], op, len(piece)), piece...)
				err = put(b)
				alloc.Free(pbuf)
				if err != nil {
					return writes, err
				}
			}
			frames = frames[1:]
			continue
		}
		size, k := 0, 0
		for ; k < len(frames) && len(frames[k]) <= room; k++ {
			fs := wireSize(len(frames[k]))
			if k > 0 && size+fs > chunk {
				break
			}
			size += fs
		}
		pbuf := alloc.Malloc(size)
		b := (*pbuf)[:0]
		for _, f := range frames[:k] {
			b = append(appendFrameHeader(b, 0x81, len(f)), f...)
		}
		err = put(b)
		alloc.Free(pbuf)
		if err != nil {
			return writes, err
		}
		frames = frames[k:]
	}
	return writes, nil
}

// appendFrameHeader appends the header of an unmasked frame: first byte b0
// (FIN, opcode), then the 7, 16 or 64-bit payload length n.
func appendFrameHeader(b []byte, b0 byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, b0, byte(n))
	case n < 1<<16:
		return append(b, b0, 126, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
}

func (n nbConn) writePing() error { return n.c.WriteMessage(websocket.PingMessage, nil) }

func (n nbConn) closeWith(code int, reason string) {
	_ = n.c.WriteClose(code, reason)
	_ = n.c.Close()
}

func (n nbConn) closeStalled() { n.c.CloseWithError(nbio.ErrWriteTimeout) }

func (n nbConn) remoteAddr() string { return n.c.RemoteAddr().String() }

// transport owns the event loop engine and the websocket upgrader.
type transport struct {
	engine   *nbhttp.Engine
	upgrader *websocket.Upgrader
	// sockets maps each open connection to its socket, so the engine's
	// written-bytes callback can count a socket's backlog.
	sockets sync.Map // *nbio.Conn -> *Socket
	// upgrading hands each upgrade's client address slot to the socket
	// OnOpen makes of it.
	upgrading sync.Map // remote address -> *addrSlot
}

// newTransport builds the engine for ln. ws receives websocket upgrades (on
// any path, as SAMA, when the request asks for one); plain HTTP goes to next.
func newTransport(ln net.Listener, g *Gateway, next http.Handler) *transport {
	t := &transport{}
	u := websocket.NewUpgrader()
	u.KeepaliveTime = g.cfg.KeepaliveTimeout
	// The library's own limit only guards memory; frames between
	// MaxFrameBytes and this hard cap get a 413 reply and the socket lives.
	u.MessageLengthLimit = g.cfg.hardFrameLimit()
	u.CheckOrigin = g.checkOrigin
	u.HandshakeTimeout = g.cfg.HandshakeTimeout
	// writeTexts encodes text frames itself, never compressed: compression
	// stays off (the upgrader's EnableCompression is never called, so a
	// client's permessage-deflate offer is declined; TestNoDeflate).
	u.SetPingHandler(func(c *websocket.Conn, data string) {
		// The library's own handler, plus the pong's bytes in the socket's
		// count, so that its backlog (sent - written) stays exact.
		if s, ok := c.Session().(*Socket); ok {
			s.sent.Add(int64(wireSize(len(data))))
		}
		if err := c.WriteMessage(websocket.PongMessage, []byte(data)); err != nil {
			_ = c.Close()
		}
	})
	u.OnOpen(func(c *websocket.Conn) {
		s := g.newSocket(nbConn{c})
		if slot, ok := t.upgrading.LoadAndDelete(c.RemoteAddr().String()); ok {
			s.addr = slot.(*addrSlot)
		}
		c.SetSession(s)
		if nc := pollerConn(c); nc != nil {
			t.sockets.Store(nc, s)
		}
	})
	u.OnMessage(func(c *websocket.Conn, mt websocket.MessageType, data []byte) {
		s, ok := c.Session().(*Socket)
		if !ok {
			return
		}
		// nbio runs the frames of one connection one at a time, in order.
		s.handleFrame(data)
	})
	u.SetCloseHandler(echoClose)
	u.OnClose(func(c *websocket.Conn, err error) {
		if nc := pollerConn(c); nc != nil {
			t.sockets.Delete(nc)
		}
		s, ok := c.Session().(*Socket)
		if !ok {
			return
		}
		s.closed(closeCause(err))
	})
	t.upgrader = u

	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		if g.draining.Load() {
			http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
			return
		}
		slot, ok := g.reserveAddr(r)
		if !ok {
			http.Error(w, "Too many connections from this address.", http.StatusTooManyRequests)
			return
		}
		// OnOpen, called by Upgrade on this goroutine, gives the slot to the
		// socket before the event loop can see it.
		t.upgrading.Store(r.RemoteAddr, slot)
		_, err := u.Upgrade(w, r, nil)
		if slot, ok := t.upgrading.LoadAndDelete(r.RemoteAddr); ok { // no socket took it
			g.releaseAddr(slot.(*addrSlot))
		}
		if err != nil {
			g.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket upgrade failed")
		}
	})

	listened := false
	t.engine = nbhttp.NewEngine(nbhttp.Config{
		Name:    "samagate",
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		Listen: func(network, addr string) (net.Listener, error) {
			if listened {
				return nil, errors.New("listen: listener already in use")
			}
			listened = true
			return ln, nil
		},
		Handler:                 mux,
		MaxWriteBufferSize:      g.cfg.SendQueueBytes,
		ReleaseWebsocketPayload: true,
		KeepaliveTime:           g.cfg.KeepaliveTimeout,
		MaxHTTPBodySize:         int(g.cfg.MaxHTTPBodyBytes),
		WriteTimeout:            g.cfg.WriteTimeout,
	})
	u.Engine = t.engine
	// Every write to a connection is counted here, so the socket is found
	// through the connection's own session pointers (the upgrader's
	// *websocket.Conn, then OnOpen's *Socket), not the sockets map: a map
	// lookup per write was 5 % of a node's CPU at 30k deliveries/s.
	t.engine.Engine.OnWrittenSize(func(c *nbio.Conn, _ []byte, n int) {
		if wc, ok := c.Session().(*websocket.Conn); ok {
			if s, ok := wc.Session().(*Socket); ok {
				s.written.Add(int64(n))
			}
		}
	})

	t.engine.Engine.OnData(t.onData(raceHandoff(t.engine)))
	return t
}

// onData is the event loop's handler of bytes read from a connection: a
// socket's bytes are counted against its in-flight bound (inflight.go)
// before they are parsed into frames, and dropped once it is over.
func (t *transport) onData(handoff *sync.RWMutex) func(c *nbio.Conn, data []byte) {
	return func(c *nbio.Conn, data []byte) {
		if handoff != nil {
			handoff.RLock()
			//lint:ignore SA2001 see raceHandoff: acquiring the lock makes the setup writes visible
			handoff.RUnlock()
		}
		if v, ok := t.sockets.Load(c); ok {
			s := v.(*Socket)
			if !s.in.hooked {
				s.in.hooked = true
				hookQueue(s)
			}
			if !s.onRead(len(data)) {
				return
			}
		}
		c.DataHandler()(c, data)
	}
}

// hookQueue wraps the function the library queues each parsed frame of the
// socket with (ping, pong and close frames too), so that each is admitted
// against the socket's in-flight bound and reports when it is handled. It
// runs on the connection's event loop goroutine, the only one that parses
// its frames and calls Execute, before the first bytes it counts are
// parsed.
func hookQueue(s *Socket) {
	nc, ok := s.conn.(nbConn)
	if !ok {
		return
	}
	exec := nc.c.Execute
	nc.c.Execute = func(job func()) bool {
		mark, ok := s.onQueue()
		if !ok {
			return false // the library frees the frame
		}
		if !exec(func() {
			defer s.onHandled(mark)
			job()
		}) {
			s.onHandled(mark)
			return false
		}
		return true
	}
}

// pollerConn is the event loop's connection under a websocket: the one the
// written-bytes callback names.
func pollerConn(c *websocket.Conn) *nbio.Conn {
	switch u := c.UnderlayerConn().(type) {
	case *nbio.Conn:
		return u
	case *nbhttp.Conn:
		nc, _ := u.Conn.(*nbio.Conn)
		return nc
	}
	return nil
}

// start begins serving.
func (t *transport) start() error {
	if err := t.engine.Start(); err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	return nil
}

// shutdown stops accepting and closes every connection still open.
func (t *transport) shutdown(ctx context.Context) error {
	return t.engine.Shutdown(ctx)
}

// isUpgrade reports whether r asks for a websocket.
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		headerHasToken(r.Header.Get("Connection"), "upgrade")
}

func headerHasToken(v, token string) bool {
	for _, part := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// closeCause turns the library's close error into a samagate close code, used
// as the label in logs and metrics.
func closeCause(err error) int {
	var ce *websocket.CloseError
	switch {
	case err == nil:
		return 1000
	case errors.As(err, &ce):
		return ce.Code // the peer's close frame (echoClose)
	case errors.Is(err, nbio.ErrOverflow), errors.Is(err, nbio.ErrWriteTimeout):
		return protocol.CloseSlowConsumer
	case errors.Is(err, nbio.ErrReadTimeout):
		return protocol.CloseKeepaliveTimeout
	case errors.Is(err, websocket.ErrMessageTooLarge):
		return protocol.CloseTooBig
	}
	return 1006
}

// echoClose answers a peer's close frame with the same code, as the
// library's own handler does, after recording the code as the connection's
// close error: the library records it only when it is not 1000, and a
// normal close was then reported as whatever ended the connection next
// (the peer's TCP close: 1006), about once in a few hundred closes.
func echoClose(c *websocket.Conn, code int, reason string) {
	c.SetCloseError(&websocket.CloseError{Code: code, Reason: reason}) // the first error recorded stays
	if code == 1005 {                                                  // the peer sent no code: none is echoed
		_ = c.WriteMessage(websocket.CloseMessage, nil)
		return
	}
	payload := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(code))
	copy(payload[2:], reason)
	_ = c.WriteMessage(websocket.CloseMessage, payload)
}

// keepaliveTimeoutDefault leaves room for two missed pings.
const keepaliveTimeoutDefault = 75 * time.Second

// RouteLibraryLogs sends the websocket library's own log lines (which go to
// a process-wide logger of that library) to log at debug level, errors at
// warn. Call it once from main; it changes process-wide state.
func RouteLibraryLogs(log zerolog.Logger) {
	logging.SetLogger(libLogger{log})
}

type libLogger struct{ log zerolog.Logger }

func (l libLogger) Debug(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l libLogger) Info(format string, v ...any)  { l.log.Debug().Msgf(format, v...) }
func (l libLogger) Warn(format string, v ...any)  { l.log.Debug().Msgf(format, v...) }
func (l libLogger) Error(format string, v ...any) { l.log.Warn().Msgf(format, v...) }

// raceHandoff returns, in -race builds, the lock that makes nbio's
// accept-to-poller handoff visible to the race detector (nil otherwise).
// The accept goroutine prepares a connection and hands it to the poller
// goroutine through epoll, an ordering the detector cannot see; releasing
// the lock when the connection is registered (onOpen runs in the accept
// goroutine after every setup write) and taking it before each read event
// (onData) shows it. Production reads pay nothing.
func raceHandoff(e *nbhttp.Engine) *sync.RWMutex {
	if !raceEnabled {
		return nil
	}
	handoff := &sync.RWMutex{}
	e.Engine.OnOpen(func(*nbio.Conn) {
		handoff.Lock()
		//lint:ignore SA2001 the empty critical section is the point: it publishes the setup writes
		handoff.Unlock()
	})
	return handoff
}
