package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// privateChat signs alice and bob up, connects alice (device "d") and bob
// (device "phone", with the token returned), and has alice open a private
// chat; bob's socket has received its creation, whose eid is returned.
func privateChat(t *testing.T, n *node) (as, bs *client, bTok, cid, created string) {
	t.Helper()
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	as = n.connected(t, a, "d")
	bTok, _ = n.token(t, b, "phone")
	bs = n.connectWith(t, bTok, "phone")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"c"}}`, b.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	ev := bs.expect(`{"system_message":{"...":true}}`)
	return as, bs, bTok, str(t, got, "response.conversation._id"), str(t, ev, "system_message.eid")
}

// TestReconnectReplay: a device disconnects, events happen, it reconnects
// with connect {since} and receives exactly the missed events in order
// (no gap, no duplicate), then catch_up, then live events, even while the
// other side keeps sending during the replay.
func TestReconnectReplay(t *testing.T) {
	n := startNode(t, nil)
	as, bs, bTok, cid, _ := privateChat(t, n)

	send := func(body string) string {
		got := as.roundTrip(fmt.Sprintf(`{"message":{"id":%q,"cid":%q,"body":%q}}`, body, cid, body), `{"ask":{"...":true}}`)
		return str(t, got, "ask.server_mid")
	}
	first := send("live-0")
	bs.expect(`{"message":{"...":true,"body":"live-0"}}`)
	// An edit is not a message: its position arrives as "eid".
	as.roundTrip(`{"request":{"message_edit":{"id":"`+first+`","body":"live-0 edited"},"id":"ed"}}`, `{"response":{"id":"ed","success":true}}`)
	edit := bs.expect(`{"message_edit":{"...":true,"eid":"<string>"}}`)
	position := str(t, edit, "message_edit.eid") // the device's last seen position
	_ = bs.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "bob offline", func() bool { return n.app.Online() == 1 })

	var want []string
	for i := range 5 {
		want = append(want, send(fmt.Sprint("missed-", i)))
	}
	// Reconnect while alice keeps sending.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 10 {
			send(fmt.Sprint("during-", i))
		}
	}()
	bs = n.dial(t)
	bs.send(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"phone","since":%q},"id":"cn"}}`, bTok, position))
	bs.expect(`{"response":{"id":"cn","success":true}}`)
	wg.Wait()

	var seen []string
	caughtUp := false
	for len(seen) < 15 || !caughtUp { // catch_up may also come after all 15: those sent during it were replayed
		data, err := bs.read(5e9)
		if err != nil {
			t.Fatalf("after %d events: %v", len(seen), err)
		}
		var f map[string]json.RawMessage
		_ = json.Unmarshal(data, &f)
		if _, ok := f["catch_up"]; ok {
			if caughtUp {
				t.Fatal("two catch_up frames")
			}
			caughtUp = true
			continue
		}
		var m struct {
			ID   string `json:"_id"`
			Body string `json:"body"`
		}
		if err := json.Unmarshal(f["message"], &m); err != nil || m.ID == "" {
			t.Fatalf("unexpected frame %s", data)
		}
		seen = append(seen, m.ID)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("out of order or duplicate: %s after %s (all: %v)", seen[i], seen[i-1], seen)
		}
	}
	for i, id := range want {
		if seen[i] != id {
			t.Fatalf("missed event %d: got %s, want %s", i, seen[i], id)
		}
	}
	bs.quiet("end") // nothing extra: 15 events exactly once
}

// TestSlowClientReplay: a device comes back to a backlog far larger than a
// socket's send queue (250 messages of 60 KB, 15 MB, against 1 MiB) and
// reads slowly through a small receive buffer. The replay goes out as the
// device reads it: the socket is not closed as a slow consumer, every
// missed message arrives once and in order, then catch_up, and messages
// sent meanwhile follow in order behind the replay.
func TestSlowClientReplay(t *testing.T) {
	n := startNode(t, unlimited) // 250 messages of 60 KB in a row
	as, bs, bTok, cid, since := privateChat(t, n)
	_ = bs.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "bob offline", func() bool { return n.app.Online() == 1 })

	big := strings.Repeat("x", 60000)
	var want []string
	send := func(i int) {
		got := as.roundTrip(fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"%d %s"}}`, i, cid, i, big), `{"ask":{"...":true}}`)
		want = append(want, str(t, got, "ask.server_mid"))
	}
	for i := range 250 {
		send(i)
	}

	// A client with a 32 KiB receive buffer that reads one frame every 4 ms.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) }); err != nil {
			return err
		}
		return serr
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, n.ws, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	slow.SetReadLimit(1 << 20)
	connect := fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"phone","since":%q},"id":"cn"}}`, bTok, since)
	if err := slow.Write(ctx, websocket.MessageText, []byte(connect)); err != nil {
		t.Fatal(err)
	}
	var live sync.WaitGroup
	live.Go(func() {
		time.Sleep(200 * time.Millisecond) // the replay is under way
		for i := 250; i < 260; i++ {
			send(i)
		}
	})

	var seen []string
	caughtUp := -1
	for len(seen) < 265 {
		if caughtUp >= 0 && len(seen) == 260 {
			live.Wait()
			for i := 260; i < 265; i++ { // after catch_up: live
				send(i)
			}
		}
		_, data, err := slow.Read(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v (status %d)", len(seen), err, websocket.CloseStatus(err))
		}
		var f map[string]json.RawMessage
		_ = json.Unmarshal(data, &f)
		if _, ok := f["catch_up"]; ok {
			if caughtUp >= 0 {
				t.Fatal("two catch_up frames")
			}
			caughtUp = len(seen)
			continue
		}
		var m struct {
			ID string `json:"_id"`
		}
		if json.Unmarshal(f["message"], &m) == nil && m.ID != "" {
			seen = append(seen, m.ID)
		}
		if caughtUp < 0 {
			time.Sleep(4 * time.Millisecond)
		}
	}
	live.Wait()
	if !slices.Equal(seen, want) {
		missing, repeated, outOfOrder := compareStreams(want, seen)
		t.Fatalf("got %d messages: missing %d, repeated %d, out of order %d", len(seen), missing, repeated, outOfOrder)
	}
	if caughtUp < 250 || caughtUp > 260 {
		t.Fatalf("catch_up came after %d messages, want after the 250 missed ones (and those sent during the replay)", caughtUp)
	}
	t.Logf("15 MB backlog replayed to a slow reader; catch_up after %d messages, then live", caughtUp)
}
