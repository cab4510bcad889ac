package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Websocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// maxFramePayload bounds what a server frame may announce, so a broken
// peer cannot make the bench allocate without limit.
const maxFramePayload = 16 << 20

// handshakeTimeout bounds the TCP connect and upgrade of one socket.
const handshakeTimeout = 10 * time.Second

// wsConn is a client websocket spoken by hand over TCP. The load tool
// holds ten thousand of them beside the gateway on a small box, so a read
// costs one bufio fill and no allocation (a frame that fits the buffer is
// returned in place), and a write builds its frame in a reused buffer.
// One goroutine reads (next); writes may come from any goroutine.
type wsConn struct {
	c   net.Conn
	br  *bufio.Reader
	big []byte // frames larger than br's buffer and fragmented messages; reader only

	wmu  sync.Mutex
	wbuf []byte // guarded by wmu
	mask uint32 // xorshift state of masking keys, guarded by wmu
}

// closeError is a close frame received from the server.
type closeError struct {
	code int
}

func (e *closeError) Error() string {
	return fmt.Sprintf("websocket closed by server, code %d", e.code)
}

// dialWS opens a websocket to ws://addr/ from the local address src (nil:
// any) with a read buffer of bufSize bytes. ctx bounds the handshake.
func dialWS(ctx context.Context, src net.IP, addr string, bufSize int) (*wsConn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	d := net.Dialer{}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
		d.Control = bindNoPort
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// The handshake's reads and writes are bounded by ctx.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	w, err := handshake(c, addr, bufSize)
	if !stop() || err != nil {
		_ = c.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("upgrade %s from %s: %w", addr, c.LocalAddr(), err)
	}
	return w, nil
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT socket option.
const ipBindAddressNoPort = 24

// bindNoPort lets the kernel choose the source port at connect time, from
// the whole 4-tuple, instead of at bind time (a bind to a source address
// must otherwise pick a port unique to that address, and runs out of them,
// or reuses ports whose connections are in TIME_WAIT, at thousands of
// connects a second).
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	}); err != nil {
		return err
	}
	return serr
}

// handshake sends the upgrade request and checks the 101 answer.
func handshake(c net.Conn, addr string, bufSize int) (*wsConn, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(c, bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("bad Sec-WebSocket-Accept")
	}
	return &wsConn{c: c, br: br, mask: binary.LittleEndian.Uint32(nonce[:4]) | 1}, nil
}

// writeText sends one text frame.
func (w *wsConn) writeText(payload []byte) error { return w.writeFrame(opText, payload) }

// writeFrame sends one masked, final frame.
func (w *wsConn) writeFrame(op byte, payload []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.wbuf = appendFrame(w.wbuf[:0], op, payload, &w.mask)
	_, err := w.c.Write(w.wbuf)
	return err
}

// appendFrame appends a masked, final client frame (clients must mask, RFC
// 6455 5.3). The key comes from the xorshift state *mask: unpredictable
// enough for a peer that only unmasks.
func appendFrame(b []byte, op byte, payload []byte, mask *uint32) []byte {
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	*mask ^= *mask << 13
	*mask ^= *mask >> 17
	*mask ^= *mask << 5
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], *mask)
	b = append(b, k[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range b[start:] {
		b[start+i] ^= k[i&3]
	}
	return b
}

// next returns the next text or binary message. Pings are answered,
// pongs skipped, fragments joined; a close frame is answered and returned
// as a *closeError. The payload is valid until the next call.
func (w *wsConn) next() ([]byte, error) {
	fragmented := false
	for {
		fin, op, n, err := w.header()
		if err != nil {
			return nil, err
		}
		if op >= opClose { // control frames: at most 125 bytes, never fragmented
			p, err := w.payload(n, false)
			if err != nil {
				return nil, err
			}
			switch op {
			case opPing:
				if err := w.writeFrame(opPong, p); err != nil {
					return nil, err
				}
			case opClose:
				code := 1005
				if len(p) >= 2 {
					code = int(binary.BigEndian.Uint16(p))
				}
				_ = w.writeFrame(opClose, p[:min(len(p), 2)])
				return nil, &closeError{code: code}
			}
			continue
		}
		if op == opContinuation != fragmented {
			return nil, fmt.Errorf("websocket: unexpected opcode %d", op)
		}
		if !fin || fragmented {
			if !fragmented {
				w.big = w.big[:0]
				fragmented = true
			}
			if _, err := w.payload(n, true); err != nil {
				return nil, err
			}
			if fin {
				return w.big, nil
			}
			continue
		}
		return w.payload(n, false)
	}
}

// header reads a frame header: fin, opcode and payload length.
func (w *wsConn) header() (fin bool, op byte, n int, err error) {
	h, err := w.br.Peek(2)
	if err != nil {
		return false, 0, 0, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		return false, 0, 0, errors.New("websocket: masked server frame")
	}
	size, length := 2, uint64(h[1]&0x7f)
	switch length {
	case 126:
		size = 4
	case 127:
		size = 10
	}
	if size > 2 {
		if h, err = w.br.Peek(size); err != nil {
			return false, 0, 0, err
		}
		if size == 4 {
			length = uint64(binary.BigEndian.Uint16(h[2:]))
		} else {
			length = binary.BigEndian.Uint64(h[2:])
		}
	}
	if length > maxFramePayload {
		return false, 0, 0, fmt.Errorf("websocket: frame of %d bytes", length)
	}
	_, _ = w.br.Discard(size)
	return fin, op, int(length), nil
}

// payload reads n bytes of payload: in place in the read buffer when they
// fit and appendBig is false, else appended to w.big.
func (w *wsConn) payload(n int, appendBig bool) ([]byte, error) {
	if !appendBig && n <= w.br.Size() {
		p, err := w.br.Peek(n)
		if err != nil {
			return nil, err
		}
		_, _ = w.br.Discard(n) // p stays valid until the next read
		return p, nil
	}
	if !appendBig {
		w.big = w.big[:0]
	}
	start := len(w.big)
	w.big = append(w.big, make([]byte, n)...)
	for off := start; off < len(w.big); {
		m, err := w.br.Read(w.big[off:])
		if err != nil {
			return nil, err
		}
		off += m
	}
	return w.big, nil
}

// close sends a normal close frame, without waiting for the answer, and
// closes the TCP connection.
func (w *wsConn) close() {
	_ = w.c.SetWriteDeadline(time.Now().Add(time.Second))
	_ = w.writeFrame(opClose, []byte{0x03, 0xe8}) // 1000
	_ = w.c.Close()
}
