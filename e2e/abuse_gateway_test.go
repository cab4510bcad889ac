package e2e_test

// The gateway's part of the abuse suite (issue 10): each attack runs
// against a real samagate process with its default limits, over real
// sockets on 127.0.0.1, and logs the figure it measured.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/samagate/samagate/internal/procstat"
)

// gatewayNode is one samagate process started for an attack.
type gatewayNode struct {
	p           *proc
	addr        string // 127.0.0.1:port
	base, wsURL string
}

// gatewayStart runs samagate on a free loopback port with SQLite in a temp
// dir and the extra flags.
func gatewayStart(t *testing.T, flags ...string) *gatewayNode {
	t.Helper()
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	args := append([]string{"--addr", addr, "--data-dir", dir, "--insecure-cookie", "--log-format", "json"}, flags...)
	p := startProc(t, dir, "samagate", samagateBinary(t), args...)
	n := &gatewayNode{p: p, addr: addr, base: "http://" + addr, wsURL: "ws://" + addr + "/"}
	waitHTTP(t, p, n.base+"/health")
	return n
}

// gatewayUser signs a user up (password "password-<login>", as login
// expects) and returns its id.
func (n *gatewayNode) gatewayUser(t *testing.T, login string) string {
	t.Helper()
	got := wsCall(t, n.wsURL, fmt.Sprintf(`{"request":{"user_create":{"login":%q,"password":"password-%s"},"id":"u"}}`, login, login))
	user, _ := got["response"].(map[string]any)["user"].(map[string]any)
	id, _ := user["_id"].(string)
	if id == "" {
		t.Fatalf("sign up %s: %v", login, got)
	}
	return id
}

// gatewayRSS is the process's resident set size in bytes.
func (n *gatewayNode) gatewayRSS(t *testing.T) int64 {
	t.Helper()
	rss, err := procstat.RSS(n.p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return rss
}

// gatewaySocket is a client websocket with a 10 s deadline on each call.
type gatewaySocket struct {
	t *testing.T
	c *websocket.Conn
}

func (n *gatewayNode) gatewayDial(t *testing.T) *gatewaySocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, n.wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &gatewaySocket{t: t, c: c}
}

func (s *gatewaySocket) send(frame string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		s.t.Fatalf("send: %v", err)
	}
}

// next reads one frame as JSON, or returns the read error.
func (s *gatewaySocket) next() (map[string]map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := s.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		s.t.Fatalf("frame %s: %v", data, err)
	}
	return out, nil
}

func (s *gatewaySocket) call(frame string) map[string]map[string]any {
	s.t.Helper()
	s.send(frame)
	out, err := s.next()
	if err != nil {
		s.t.Fatalf("reply to %.80s: %v", frame, err)
	}
	return out
}

// gatewayStatus is a reply's error status, 0 for none.
func gatewayStatus(f map[string]map[string]any) int {
	for _, v := range f {
		if e, ok := v["error"].(map[string]any); ok {
			s, _ := e["status"].(float64)
			return int(s)
		}
	}
	return 0
}

// gatewayConnect binds a fresh socket as login on device.
func (n *gatewayNode) gatewayConnect(t *testing.T, token, device string) *gatewaySocket {
	t.Helper()
	s := n.gatewayDial(t)
	got := s.call(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":%q},"id":"cn"}}`, token, device))
	if got["response"]["success"] != true {
		t.Fatalf("connect: %v", got)
	}
	return s
}

// TestGatewayFrameFlood: the review's attack on a real process, 3,000
// frames of 60 KB written by one socket as fast as TCP takes them while it
// reads nothing. The socket is closed with 4002 and the process's RSS stays
// near where it was; a bystander's pings keep being answered meanwhile.
func TestGatewayFrameFlood(t *testing.T) {
	n := gatewayStart(t)
	bystander := n.gatewayDial(t)
	_ = n.p.cmd.Process.Signal(syscall.SIGUSR1) // collect garbage, return it to the OS
	time.Sleep(time.Second)
	before := n.gatewayRSS(t)
	var peak atomic.Int64
	peak.Store(before)
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := n.gatewayRSS(t); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var worst atomic.Int64
	pinged := make(chan struct{})
	go func() { // the bystander's round trips while the flood lasts
		defer close(pinged)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := bystander.c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"request":{"ping":{},"id":"b%d"}}`, i)))
			if err == nil {
				_, _, err = bystander.c.Read(ctx)
			}
			cancel()
			if err != nil {
				return
			}
			if d := int64(time.Since(start)); d > worst.Load() {
				worst.Store(d)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	rc := gatewayRawDial(t, n.addr)
	frame := gatewayRawFrame([]byte(`{"request":{"ping":{"pad":"` + strings.Repeat("x", 60_000) + `"},"id":"p"}}`))
	res := make(chan [2]int, 1)
	go func() {
		a, c := rc.readUntilClose(30 * time.Second)
		res <- [2]int{a, c}
	}()
	start := time.Now()
	_ = rc.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	written := 0
	for ; written < 3000; written++ {
		if _, err := rc.c.Write(frame); err != nil {
			break
		}
	}
	r := <-res
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	<-sampled
	<-pinged
	growth := peak.Load() - before
	t.Logf("3,000 × 60 KB frames offered from one socket: %d written, %d answered, closed with %d after %s; RSS %.1f MB -> peak %.1f MB (+%.1f MB); bystander's worst ping %s",
		written, r[0], r[1], took.Round(time.Millisecond), float64(before)/(1<<20), float64(peak.Load())/(1<<20),
		float64(growth)/(1<<20), time.Duration(worst.Load()).Round(time.Millisecond))
	if r[1] != 4002 {
		t.Errorf("close code: got %d, want 4002", r[1])
	}
	if growth > 32<<20 {
		t.Errorf("RSS grew by %.1f MB, want under 32 MB", float64(growth)/(1<<20))
	}
	if got := bystander.call(`{"request":{"ping":{},"id":"after"}}`); got["response"]["pong"] == nil {
		t.Errorf("bystander after the flood: got %v, want a pong", got)
	}
}

// TestGatewayRequestLimits: with the default limits one socket pipelining
// 300 pings gets its burst answered and 429 for the rest; one user
// sending 120 messages at once gets about its message burst stored and
// 429 for the rest, in the message's own reply shape; and a user cannot
// bind more than 100 sockets to one node.
func TestGatewayRequestLimits(t *testing.T) {
	n := gatewayStart(t)
	n.gatewayUser(t, "alice")
	bobID := n.gatewayUser(t, "bob")
	tok := login(t, n.base, "alice", "d")

	s := n.gatewayDial(t)
	for i := range 300 {
		s.send(fmt.Sprintf(`{"request":{"ping":{},"id":"p%d"}}`, i))
	}
	answered, limited := 0, 0
	for range 300 {
		f, err := s.next()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch st := gatewayStatus(f); {
		case st == 0:
			answered++
		case st == http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("unexpected reply %v", f)
		}
	}
	t.Logf("300 pings at once from one socket: %d answered, %d got 429 (burst 100, 50/s)", answered, limited)
	if answered < 100 || answered > 130 || answered+limited != 300 {
		t.Errorf("got %d answered and %d limited, want about 100 answered (the burst) and the rest 429", answered, limited)
	}

	a := n.gatewayConnect(t, tok, "d")
	cid, _ := a.call(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc"}}`, bobID))["response"]["conversation"].(map[string]any)["_id"].(string)
	if cid == "" {
		t.Fatal("no conversation")
	}
	for i := range 120 {
		a.send(fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"flood %d"}}`, i, cid, i))
	}
	asks, refused := 0, 0
	for range 120 {
		f, err := a.next()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch {
		case f["ask"] != nil:
			asks++
		case gatewayStatus(f) == http.StatusTooManyRequests && f["message"] != nil:
			refused++
		default:
			t.Fatalf("unexpected reply %v", f)
		}
	}
	t.Logf("120 messages at once from one user: %d stored, %d got 429 (burst 50, 20/s)", asks, refused)
	if asks < 50 || asks > 80 || asks+refused != 120 {
		t.Errorf("got %d stored and %d refused, want about 50 stored and the rest 429", asks, refused)
	}

	var socks []*gatewaySocket
	for i := range 100 {
		if i == 0 {
			socks = append(socks, a)
			continue
		}
		socks = append(socks, n.gatewayConnect(t, tok, "d"))
	}
	extra := n.gatewayDial(t)
	got := extra.call(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"d"},"id":"cn"}}`, tok))
	t.Logf("101st socket of one user: %v", got["response"]["error"])
	if gatewayStatus(got) != http.StatusTooManyRequests {
		t.Errorf("101st connect: got %v, want 429", got)
	}
	_ = socks[50].c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = extra.call(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"d"},"id":"cn"}}`, tok))
		if got["response"]["success"] == true || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got["response"]["success"] != true {
		t.Errorf("connect after one of the 100 closed: got %v, want success", got)
	}
}

// TestGatewayOnlineListOverflow: online_list with the largest offset
// panicked the handler (offset+limit overflowed) and the request was
// never answered. Now it is answered, and so is everything after it.
func TestGatewayOnlineListOverflow(t *testing.T) {
	n := gatewayStart(t)
	n.gatewayUser(t, "alice")
	s := n.gatewayConnect(t, login(t, n.base, "alice", "d"), "d")
	answered := 0
	for i := range 20 {
		got := s.call(fmt.Sprintf(`{"request":{"online_list":{"offset":9223372036854775807,"limit":100},"id":"o%d"}}`, i))
		if users, ok := got["response"]["users"].([]any); !ok || len(users) != 0 {
			t.Fatalf("online_list at the largest offset: got %v, want users []", got)
		}
		if got := s.call(`{"request":{"online_list":{"count":true},"id":"c"}}`); got["response"]["count"] != float64(1) {
			t.Fatalf("online_list count: got %v, want 1", got)
		}
		answered += 2
	}
	t.Logf("20 online_list at offset 2^63-1, each followed by a count: %d of 40 answered", answered)
}

// TestGatewaySessionExpiry: with a 2 s session lifetime a live socket is
// closed with 4103 when its session expires.
func TestGatewaySessionExpiry(t *testing.T) {
	n := gatewayStart(t, "--refresh-ttl", "2s", "--access-ttl", "1s")
	n.gatewayUser(t, "alice")
	at := time.Now().Add(2 * time.Second)
	s := n.gatewayConnect(t, login(t, n.base, "alice", "d"), "d")
	for {
		_, err := s.next()
		if err == nil {
			continue
		}
		late := time.Since(at)
		code := websocket.CloseStatus(err)
		t.Logf("session of 2s: socket closed with %d at most %s after its expiry", code, late.Round(time.Millisecond))
		if code != 4103 {
			t.Fatalf("close: got %d (%v), want 4103", code, err)
		}
		if late > 2*time.Second {
			t.Fatalf("closed %s after the expiry, want within 2s", late)
		}
		return
	}
}

// gatewayRawConn is a websocket spoken by hand over TCP: it writes frames
// as fast as TCP takes them and reads nothing unless asked.
type gatewayRawConn struct {
	c  net.Conn
	br *bufio.Reader
}

func gatewayRawDial(t *testing.T, addr string) *gatewayRawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	_ = c.SetDeadline(time.Time{})
	return &gatewayRawConn{c: c, br: br}
}

// gatewayRawFrame is one masked client text frame (zero mask key: the
// payload goes out as is).
func gatewayRawFrame(payload []byte) []byte {
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
	return append(append(h, 0, 0, 0, 0), payload...)
}

// readUntilClose counts the server's text frames until its close frame
// and returns them with the close code (0: no close frame came).
func (r *gatewayRawConn) readUntilClose(timeout time.Duration) (texts, code int) {
	_ = r.c.SetReadDeadline(time.Now().Add(timeout))
	for {
		var h [2]byte
		if _, err := io.ReadFull(r.br, h[:]); err != nil {
			return texts, 0
		}
		n := int64(h[1] & 0x7f)
		var err error
		switch n {
		case 126:
			var b [2]byte
			_, err = io.ReadFull(r.br, b[:])
			n = int64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			_, err = io.ReadFull(r.br, b[:])
			n = int64(binary.BigEndian.Uint64(b[:]))
		}
		if err != nil || n > 16<<20 {
			return texts, 0
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r.br, p); err != nil {
			return texts, 0
		}
		switch h[0] & 0x0f {
		case 0x1:
			texts++
		case 0x8:
			if len(p) < 2 {
				return texts, 1005
			}
			return texts, int(binary.BigEndian.Uint16(p))
		}
	}
}
