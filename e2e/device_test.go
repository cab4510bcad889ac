package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsCall opens a socket to base, sends one frame and returns the first reply.
func wsCall(t *testing.T, wsURL, frame string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// login posts /login and returns the access token.
func login(t *testing.T, httpBase, user, device string) string {
	t.Helper()
	body := fmt.Sprintf(`{"login":%q,"password":"password-%s","device_id":%q}`, user, user, device)
	resp, err := http.Post(httpBase+"/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("login %s: status %d, %v", user, resp.StatusCode, err)
	}
	return out.AccessToken
}

// ack is a message the server acknowledged.
type ack struct {
	id, cid string
	from    *device
}

// device is one client device: it stays connected, reconnecting to the next
// node (with "since" = the exact last event it received) when its socket
// dies, and counts every message it receives: a second copy of any message
// is a duplicate, catch-up or not.
type device struct {
	user, id, token string
	urls            []string // ws URLs of every node
	start           int      // node it first connects to

	mu         sync.Mutex
	conn       *websocket.Conn
	got        map[string]int // message _id -> copies received
	last       string         // the last event id received: the resume position
	caughtUp   int            // catch-ups completed
	reconnects int
	acks       chan ack
	drops      []drop        // bound sockets lost
	downSince  time.Time     // when the last bound socket was lost; zero while bound
	maxDown    time.Duration // longest time from losing a bound socket to the next connect
	arrivals   []time.Time   // when each message arrived
}

// drop is a bound socket of a device that ended: when, with which close
// code (0 when the connection failed without one), on which node, and when
// the device was connected again (zero if never).
type drop struct {
	at, back time.Time
	code     websocket.StatusCode
	node     int
}

func newDevice(user, id, token string, urls []string, start int, acks chan ack) *device {
	return &device{user: user, id: id, token: token, urls: urls, start: start, got: map[string]int{}, acks: acks}
}

// run keeps the device connected until ctx ends.
func (d *device) run(ctx context.Context) {
	node := d.start
	for ctx.Err() == nil {
		if err := d.session(ctx, node); err != nil && ctx.Err() == nil {
			node = (node + 1) % len(d.urls) // the next node; a dead one fails fast
			d.mu.Lock()
			d.reconnects++
			d.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// session connects once to the node and reads until the socket fails.
func (d *device) session(ctx context.Context, node int) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	c, _, err := websocket.Dial(dctx, d.urls[node], nil)
	cancel()
	if err != nil {
		return err
	}
	c.SetReadLimit(1 << 22)
	defer c.CloseNow()
	d.mu.Lock()
	since := d.last
	d.mu.Unlock()
	prm := map[string]any{"token": d.token, "device_id": d.id}
	if since != "" {
		prm["since"] = since
	}
	frame, _ := json.Marshal(map[string]any{"request": map[string]any{"connect": prm, "id": "cn"}})
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = c.Write(wctx, websocket.MessageText, frame)
	cancel()
	if err != nil {
		return err
	}
	connected := false
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			d.mu.Lock()
			d.conn = nil
			if connected && ctx.Err() == nil {
				d.downSince = time.Now()
				d.drops = append(d.drops, drop{at: d.downSince, code: websocket.CloseStatus(err), node: node})
			}
			d.mu.Unlock()
			return err
		}
		var f map[string]map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			return err
		}
		if r, ok := f["response"]; ok && r["id"] == "cn" {
			if r["success"] != true {
				return fmt.Errorf("connect: %s", data)
			}
			connected = true
			d.mu.Lock()
			d.conn = c
			if !d.downSince.IsZero() {
				d.maxDown = max(d.maxDown, time.Since(d.downSince))
				d.downSince = time.Time{}
				d.drops[len(d.drops)-1].back = time.Now()
			}
			d.mu.Unlock()
			continue
		}
		if !connected {
			continue
		}
		d.handle(f)
	}
}

func (d *device) handle(f map[string]map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for kind, body := range f {
		switch kind {
		case "ask":
			mid, _ := body["mid"].(string)
			sid, _ := body["server_mid"].(string)
			if cid, _, ok := strings.Cut(mid, "|"); ok && sid != "" {
				d.acks <- ack{id: sid, cid: cid, from: d} // buffered for the whole run
			}
		case "message":
			id, _ := body["_id"].(string)
			d.got[id]++ // a second copy is a duplicate: the test fails on it
			d.arrivals = append(d.arrivals, time.Now())
		case "catch_up":
			d.caughtUp++
			continue
		}
		if eid, _ := body["eid"].(string); eid != "" {
			d.last = eid
		}
	}
}

// send writes a message to cid if the device is connected; the client id
// carries the conversation so the ask can be matched.
func (d *device) send(ctx context.Context, cid string, n int) {
	d.mu.Lock()
	c := d.conn
	d.mu.Unlock()
	if c == nil {
		return
	}
	frame := fmt.Sprintf(`{"message":{"id":"%s|%s-%d","cid":%q,"body":"m %d"}}`, cid, d.id, n, cid, n)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = c.Write(wctx, websocket.MessageText, []byte(frame))
}

// createConversation has members[0] create a conversation of typ with the
// other members (ids maps logins to user ids), and returns its id.
func createConversation(t *testing.T, httpBase, wsURL string, ids map[string]string, typ, name string, members ...string) string {
	t.Helper()
	var pids []string
	for _, m := range members[1:] {
		pids = append(pids, ids[m])
	}
	prm, _ := json.Marshal(map[string]any{"type": typ, "name": name, "participants": pids})
	tok := login(t, httpBase, members[0], "setup")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, f := range []string{
		fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"setup"},"id":"cn"}}`, tok),
		fmt.Sprintf(`{"request":{"conversation_create":%s,"id":"cc"}}`, prm),
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Response struct {
				ID           string         `json:"id"`
				Conversation map[string]any `json:"conversation"`
			} `json:"response"`
		}
		if json.Unmarshal(data, &r) == nil && r.Response.ID == "cc" {
			return r.Response.Conversation["_id"].(string)
		}
	}
}

// checkDelivery checks that every acknowledged message (acks, closed) is on
// every device of its conversation's members (convs: cid -> logins) but the
// sender's exactly once, and that no device got any message twice.
func checkDelivery(t *testing.T, acks <-chan ack, convs map[string][]string, byUser map[string][]*device, devices []*device) (acked, expected, once, missing, dups int) {
	t.Helper()
	for _, d := range devices {
		d.mu.Lock()
		for id, n := range d.got {
			if n > 1 {
				dups++
				t.Errorf("%s got message %s %d times", d.id, id, n)
			}
		}
		d.mu.Unlock()
	}
	for a := range acks {
		acked++
		for _, m := range convs[a.cid] {
			for _, d := range byUser[m] {
				if d == a.from {
					continue // the sending device has the ask
				}
				expected++
				d.mu.Lock()
				n := d.got[a.id]
				d.mu.Unlock()
				switch n {
				case 0:
					missing++
					if missing <= 10 {
						t.Errorf("%s never got message %s from %s", d.id, a.id, a.from.id)
					}
				case 1:
					once++
				}
			}
		}
	}
	return acked, expected, once, missing, dups
}
