package gateway_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/internal/procstat"
)

// rawConn is a websocket spoken by hand over TCP, for attacks a client
// library will not make: writing frames as fast as TCP takes them and
// reading nothing meanwhile.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// rawDial opens a websocket to addr (host:port) with extra request header
// lines; it returns the HTTP status of the upgrade and, on 101, the socket.
func rawDial(t testing.TB, addr string, header http.Header) (*rawConn, int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", addr)
	b.WriteString("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatalf("write upgrade: %v", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read upgrade response: %v", err)
	}
	_ = c.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = c.Close()
		return nil, resp.StatusCode
	}
	rc := &rawConn{c: c, br: br}
	t.Cleanup(func() { _ = c.Close() })
	return rc, resp.StatusCode
}

// rawFrame encodes one masked client text frame. The mask key is zero, so
// the payload goes out as is (masking XORs with the key).
func rawFrame(payload []byte) []byte {
	h := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126, byte(n>>8), byte(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	h = append(h, 0, 0, 0, 0)
	return append(h, payload...)
}

// readFrame reads one server frame: its opcode and payload.
func (r *rawConn) readFrame(timeout time.Duration) (byte, []byte, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 16<<20 {
		return 0, nil, errors.New("server frame too large")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r.br, p); err != nil {
		return 0, nil, err
	}
	return h[0] & 0x0f, p, nil
}

// readUntilClose reads server frames until the close frame and returns how
// many text frames came before it and the close code (0: the connection
// ended without a close frame).
func (r *rawConn) readUntilClose(timeout time.Duration) (texts, code int) {
	for {
		op, p, err := r.readFrame(timeout)
		if err != nil {
			return texts, 0
		}
		switch op {
		case 0x1:
			texts++
		case 0x8:
			if len(p) >= 2 {
				return texts, int(binary.BigEndian.Uint16(p))
			}
			return texts, 1005
		}
	}
}

// rssBytes is the resident set size of this process.
func rssBytes(t testing.TB) int64 {
	t.Helper()
	n, err := procstat.RSS(0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
