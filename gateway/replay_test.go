package gateway_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// TestReconnectReplay: a device disconnects, events happen, it reconnects
// with connect {since} and receives exactly the missed events in order
// (no gap, no duplicate), then catch_up, then live events, even while the
// other side keeps sending during the replay.
func TestReconnectReplay(t *testing.T) {
	n := startNode(t, nil)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	as := n.connected(t, a, "d")
	bTok, _ := n.token(t, b, "phone")
	bs := n.connectWith(t, bTok, "phone")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"c"}}`, b.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)

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
	for len(seen) < 15 {
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
	if !caughtUp {
		t.Fatal("no catch_up frame")
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
