package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Why a reactor: on this box a blocking read per socket costs two read
// syscalls per delivery (the one that returns the frame and the one that
// finds the socket empty and parks the goroutine), plus a goroutine wake
// through the scheduler; the client would use more CPU than the gateway it
// measures. A reactor waits on thousands of sockets with one epoll_wait and
// reads each ready socket once, parsing every whole frame in its buffer.

// rconn is a websocket handed over to a reactor: its own dup of the
// socket's descriptor, out of Go's poller, non-blocking.
type rconn struct {
	fd        int
	publisher bool
	buf       []byte // bytes read, not yet parsed (a partial frame); reactor only
	frag      []byte // a fragmented message being joined; reactor only
	dead      bool   // reactor only

	wmu  sync.Mutex
	wbuf []byte // guarded by wmu
	mask uint32 // guarded by wmu
}

// rconnBuf is the read buffer of a socket: a few frames of a fan-out run.
const rconnBuf = 4096

// detach takes a websocket whose handshake (and first requests) are done
// out of Go's runtime poller: it duplicates the descriptor (close-on-exec),
// keeps the bytes already buffered, and closes the original, which removes
// it from Go's epoll; the socket lives on in the duplicate.
func detach(w *wsConn) (*rconn, error) {
	tc, ok := w.c.(*net.TCPConn)
	if !ok {
		return nil, errors.New("detach: not a TCP connection")
	}
	sc, err := tc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("detach: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := sc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return nil, fmt.Errorf("detach: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("detach: dup: %w", derr)
	}
	rc := &rconn{fd: fd, buf: make([]byte, 0, rconnBuf), mask: w.mask}
	if n := w.br.Buffered(); n > 0 {
		b, _ := w.br.Peek(n)
		rc.buf = append(rc.buf, b...)
	}
	_ = tc.Close()
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("detach: %w", err)
	}
	return rc, nil
}

// writeTimeout bounds a write that finds the socket's send buffer full.
const writeTimeout = 10 * time.Second

// writeText sends one masked text frame. A full send buffer (the gateway
// not reading) is waited for in short sleeps, up to writeTimeout.
func (c *rconn) writeText(payload []byte) error { return c.writeFrame(opText, payload) }

// writeFrame sends one masked frame under the write lock.
func (c *rconn) writeFrame(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendFrame(c.wbuf[:0], op, payload, &c.mask)
	b := c.wbuf
	var deadline time.Time
	for len(b) > 0 {
		n, err := syscall.Write(c.fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch {
		case err == syscall.EAGAIN:
			if deadline.IsZero() {
				deadline = time.Now().Add(writeTimeout)
			} else if time.Now().After(deadline) {
				return errors.New("write: send buffer full for 10s")
			}
			time.Sleep(200 * time.Microsecond)
		case err == syscall.EINTR:
		case err != nil:
			return fmt.Errorf("write: %w", err)
		}
	}
	return nil
}

// parseFrame reads one whole server frame at the start of b; size is 0
// when b holds only part of one.
func parseFrame(b []byte) (fin bool, op byte, payload []byte, size int, err error) {
	if len(b) < 2 {
		return false, 0, nil, 0, nil
	}
	if b[1]&0x80 != 0 {
		return false, 0, nil, 0, errors.New("websocket: masked server frame")
	}
	h, n := 2, uint64(b[1]&0x7f)
	switch n {
	case 126:
		if h = 4; len(b) < h {
			return false, 0, nil, 0, nil
		}
		n = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if h = 10; len(b) < h {
			return false, 0, nil, 0, nil
		}
		n = binary.BigEndian.Uint64(b[2:])
	}
	if n > maxFramePayload {
		return false, 0, nil, 0, fmt.Errorf("websocket: frame of %d bytes", n)
	}
	if uint64(len(b)-h) < n {
		return false, 0, nil, 0, nil
	}
	return b[0]&0x80 != 0, b[0] & 0x0f, b[h : h+int(n)], h + int(n), nil
}

// reactor reads a set of rconns from one goroutine. Its sockets are all
// added before run; run hands each whole message to handle, answers
// pings, and counts the sockets the gateway closes.
type reactor struct {
	epfd   int
	conns  map[int32]*rconn
	handle func(c *rconn, msg []byte, now int64)
	closed func(c *rconn, err error)
	// poll, when positive, is how long the reactor sleeps when it found
	// its sockets drained, instead of waiting in epoll_wait (see run).
	poll time.Duration
	stop atomic.Bool
}

// newReactor makes a reactor that hands messages to handle and sockets the
// gateway closed (not those shut down at the end) to closed.
func newReactor(handle func(*rconn, []byte, int64), closed func(*rconn, error)) (*reactor, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &reactor{epfd: fd, conns: map[int32]*rconn{}, handle: handle, closed: closed}, nil
}

// add registers c (level-triggered: a socket read only in part is
// reported again). Call it before run.
func (r *reactor) add(c *rconn) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		return fmt.Errorf("epoll add: %w", err)
	}
	r.conns[int32(c.fd)] = c
	return nil
}

// run serves the sockets until stop is set (checked every 100 ms).
//
// With poll set it never waits in epoll_wait: it takes what is ready, and
// sleeps poll when that was less than a full list of events. A reader
// blocked in epoll_wait makes every write of the gateway to one of its
// sockets also wake it up, inside the gateway's write(2): on loopback that
// is a good part of a gateway's cost per delivery which, on a network, the
// client's own machine pays. Polling keeps that cost out of the gateway's
// figures (and lowers the client's) at the price of up to poll added to
// every latency measured.
func (r *reactor) run() {
	for _, c := range r.conns { // frames that came with the hand-over
		if len(c.buf) > 0 {
			r.parse(c, time.Now().UnixNano())
		}
	}
	events := make([]syscall.EpollEvent, 256)
	wait := 100
	if r.poll > 0 {
		wait = 0
	}
	for !r.stop.Load() {
		n, err := syscall.EpollWait(r.epfd, events, wait)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			if c := r.conns[ev.Fd]; c != nil && !c.dead {
				r.readOnce(c)
			}
		}
		if r.poll > 0 && n < len(events) {
			time.Sleep(r.poll)
		}
	}
}

// readOnce reads what one ready socket holds (once) and handles every
// whole frame.
func (r *reactor) readOnce(c *rconn) {
	if len(c.buf) == cap(c.buf) { // a frame larger than the buffer
		c.buf = append(c.buf, make([]byte, cap(c.buf))...)[:len(c.buf)]
	}
	n, err := syscall.Read(c.fd, c.buf[len(c.buf):cap(c.buf)])
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil:
		r.kill(c, err)
		return
	case n == 0:
		r.kill(c, errors.New("EOF"))
		return
	}
	c.buf = c.buf[:len(c.buf)+n]
	r.parse(c, time.Now().UnixNano())
}

// parse handles every whole frame in c's buffer and keeps the rest.
func (r *reactor) parse(c *rconn, now int64) {
	off := 0
	for {
		fin, op, p, size, err := parseFrame(c.buf[off:])
		if err != nil {
			r.kill(c, err)
			return
		}
		if size == 0 {
			break
		}
		off += size
		if err := r.frame(c, fin, op, p, now); err != nil {
			r.kill(c, err)
			return
		}
	}
	rest := copy(c.buf, c.buf[off:])
	c.buf = c.buf[:rest]
}

// frame handles one frame: messages (joined if fragmented), pings, close.
func (r *reactor) frame(c *rconn, fin bool, op byte, p []byte, now int64) error {
	switch op {
	case opText, opBinary:
		if fin {
			r.handle(c, p, now)
			return nil
		}
		c.frag = append(c.frag[:0], p...)
	case opContinuation:
		c.frag = append(c.frag, p...)
		if fin {
			r.handle(c, c.frag, now)
			c.frag = c.frag[:0]
		}
	case opPing:
		return c.writeFrame(opPong, p)
	case opClose:
		code := 1005
		if len(p) >= 2 {
			code = int(binary.BigEndian.Uint16(p))
		}
		_ = c.writeFrame(opClose, p[:min(len(p), 2)])
		return &closeError{code: code}
	}
	return nil
}

// kill drops a socket the gateway closed or broke.
func (r *reactor) kill(c *rconn, err error) {
	c.dead = true
	_ = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	if r.closed != nil {
		r.closed(c, err)
	}
}

// shutdown closes every socket and the epoll; call it after run returned.
func (r *reactor) shutdown() {
	for _, c := range r.conns {
		_ = syscall.Close(c.fd)
	}
	_ = syscall.Close(r.epfd)
}
