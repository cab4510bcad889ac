package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
)

// TestCoalescedFanout: eight members send into a group at once, so commits
// carry several messages and a run of releases queues several frames on
// each socket. Every member's socket gets every other member's messages,
// each in a frame of its own, in one order shared by all sockets (commit
// order) and in each sender's order, and the frames share writes.
func TestCoalescedFanout(t *testing.T) {
	var frames, writes atomic.Int64
	n := startNode(t, func(c *app.Config) {
		unlimited(c)
		gateway.SetWriteHook(&c.Gateway, func(f, w int) {
			frames.Add(int64(f))
			writes.Add(int64(w))
		})
	})
	const members, senders, each = 20, 8, 40
	accounts := make([]account, members)
	var ids []string
	for i := range accounts {
		accounts[i] = n.signUp(t, fmt.Sprintf("fan_%02d", i))
		if i > 0 {
			ids = append(ids, fmt.Sprintf("%q", accounts[i].id))
		}
	}
	socks := make([]*client, members)
	for i, a := range accounts {
		socks[i] = n.connected(t, a, "d")
	}
	got := socks[0].roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"fan","participants":[%s]},"id":"c"}}`, joinComma(ids)),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	for _, s := range socks[1:] {
		s.expect(`{"system_message":{"...":true}}`)
	}
	frames.Store(0)
	writes.Store(0)

	orders := make([][]string, members) // message bodies as each socket got them
	var wg sync.WaitGroup
	for i, s := range socks {
		want := senders * each
		if i < senders {
			want -= each
		}
		wg.Go(func() {
			asks := 0
			for len(orders[i]) < want || (i < senders && asks < each) {
				data, err := s.read(30 * time.Second)
				if err != nil {
					t.Errorf("socket %d: %v after %d messages", i, err, len(orders[i]))
					return
				}
				var f struct {
					Message *struct{ Body string } `json:"message"`
					Ask     json.RawMessage        `json:"ask"`
				}
				if err := json.Unmarshal(data, &f); err != nil {
					t.Errorf("socket %d: a frame is not one JSON object: %q", i, data)
					return
				}
				switch {
				case f.Message != nil:
					orders[i] = append(orders[i], f.Message.Body)
				case f.Ask != nil:
					asks++
				}
			}
		})
	}
	for k := range senders {
		wg.Go(func() {
			for j := range each {
				socks[k].send(fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"%d.%d"}}`, j, cid, k, j))
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// One order: any two sockets got their common messages in the same order.
	pos := map[string]int{}
	for i, o := range orders {
		if i >= senders { // a non-sender got everything
			for p, b := range o {
				pos[b] = p
			}
			break
		}
	}
	for i, o := range orders {
		if !slices.IsSortedFunc(o, func(a, b string) int { return pos[a] - pos[b] }) {
			t.Fatalf("socket %d got the messages in another order than socket %d", i, senders)
		}
		next := make([]int, senders)
		for _, b := range o {
			var k, j int
			fmt.Sscanf(b, "%d.%d", &k, &j)
			if j != next[k] {
				t.Fatalf("socket %d: sender %d's message %d came before %d", i, k, j, next[k])
			}
			next[k]++
		}
	}
	f, w := frames.Load(), writes.Load()
	t.Logf("%d frames in %d writes to the connections (%.2f frames per write)", f, w, float64(f)/float64(w))
	if w >= f {
		t.Fatalf("%d frames in %d writes: no write carried several frames", f, w)
	}
}

// TestStalledPeerClosed: a peer that stops reading while its replies pile
// up (under the send queue bound) is closed by the write timeout.
func TestStalledPeerClosed(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		unlimited(c)
		c.Gateway.SendQueueBytes = 256 << 20
		c.Gateway.WriteTimeout = 500 * time.Millisecond
	})
	rc, _ := rawDial(t, n.app.Addr().String(), nil)
	waitFor(t, "the socket", func() bool { return n.app.Online() == 1 })
	frame := rawFrame([]byte(`{"request":{"ping":{},"id":"` + strings.Repeat("z", 60<<10) + `"}}`))
	_ = rc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for range 300 { // 18 MB of replies, more than the kernel buffers hold
		if _, err := rc.c.Write(frame); err != nil {
			break
		}
	}
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for n.app.Online() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a peer that reads nothing is still open after 20 s (write timeout 500 ms)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("closed %v after the last request", time.Since(start).Round(time.Millisecond))
}

// TestLongFrameFragmented: a reply longer than one write is sent as a
// fragmented message whose frames carry it whole; the frames around it
// are intact.
func TestLongFrameFragmented(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Gateway.MaxFrameBytes = 1 << 20 })
	c := n.dial(t)
	long := strings.Repeat("y", 150<<10)
	c.send(`{"request":{"ping":{},"id":"a"}}`)
	c.send(`{"request":{"ping":{},"id":"` + long + `"}}`)
	c.send(`{"request":{"ping":{},"id":"b"}}`)
	c.expect(`{"response":{"id":"a","pong":{}}}`)
	c.expect(`{"response":{"id":"` + long + `","pong":{}}}`)
	c.expect(`{"response":{"id":"b","pong":{}}}`)

	rc, _ := rawDial(t, n.app.Addr().String(), nil)
	_, _ = rc.c.Write(rawFrame([]byte(`{"request":{"ping":{},"id":"` + long + `"}}`)))
	var ops []byte
	var msg []byte
	for {
		op, fin, p, err := readRawFrame(rc.br, 5*time.Second, rc.c)
		if err != nil {
			t.Fatal(err)
		}
		ops, msg = append(ops, op), append(msg, p...)
		if fin {
			break
		}
	}
	if len(ops) < 2 || ops[0] != 1 || slices.ContainsFunc(ops[1:], func(op byte) bool { return op != 0 }) {
		t.Fatalf("opcodes %v, want a text frame and continuations", ops)
	}
	if want := `{"response":{"id":"` + long + `","pong":{}}}`; string(msg) != want {
		t.Fatalf("reassembled %d bytes, want the %d-byte reply", len(msg), len(want))
	}
	t.Logf("a %d-byte reply went out in %d frames", len(msg), len(ops))
}

// readRawFrame reads one server frame with its FIN bit.
func readRawFrame(br *bufio.Reader, timeout time.Duration, c net.Conn) (op byte, fin bool, payload []byte, err error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, false, nil, err
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return 0, false, nil, fmt.Errorf("header %x: RSV or mask bit set", h)
	}
	size := int(h[1] & 0x7f)
	switch size {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, false, nil, err
		}
		size = int(b[0])<<8 | int(b[1])
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, false, nil, err
		}
		size = 0
		for _, x := range b {
			size = size<<8 | int(x)
		}
	}
	payload = make([]byte, size)
	_, err = io.ReadFull(br, payload)
	return h[0] & 0x0f, h[0]&0x80 != 0, payload, err
}

// TestNoDeflate: a client offering permessage-deflate is not granted it:
// the gateway writes its frames uncompressed (transport.go, writeTexts).
func TestNoDeflate(t *testing.T) {
	n := startNode(t, nil)
	c, err := net.DialTimeout("tcp", n.app.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("the gateway accepted extension %q; its frames are written uncompressed", ext)
	}
}
