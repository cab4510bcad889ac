package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
)

// scrape is one reading of a node's /metrics: "name{labels}" -> value,
// labels as Prometheus prints them (sorted by name).
type scrape map[string]float64

func (n *node) scrape(t testing.TB) scrape {
	t.Helper()
	addr := n.app.MetricsAddr()
	if addr == nil {
		t.Fatal("no metrics listener")
	}
	resp, err := n.http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	out := scrape{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsScrape: a scripted session moves the counters it should:
// sockets up and down, users and devices online, one wrong password, one
// slow-consumer close, requests by method, replies, deliveries and writes.
func TestMetricsScrape(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		unlimited(c) // the slow client floods on purpose
		c.Gateway.SendQueueBytes = 256 << 10
		c.MetricsAddr = "127.0.0.1:0"
	})
	before := n.scrape(t)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	a1, a2 := n.connected(t, a, "laptop"), n.connected(t, a, "phone")
	b1 := n.connected(t, b, "laptop")
	slow := n.dial(t)
	gone := n.dial(t) // a browser leaving the page
	_ = gone.c.Close(websocket.StatusGoingAway, "")
	waitFor(t, "four sockets", func() bool { return n.app.Online() == 4 })

	mid := n.scrape(t)
	for key, want := range map[string]float64{
		`samagate_sockets{state="bound"}`: 3, `samagate_sockets{state="unauthenticated"}`: 1,
		`samagate_users_online`: 2, `samagate_devices_online`: 3, `samagate_draining`: 0,
	} {
		if got := mid[key]; got != want {
			t.Errorf("%s: got %v, want %v", key, got, want)
		}
	}

	if status, body, _ := n.httpLogin(t, `{"login":"alice","password":"not-hers","device_id":"x"}`, nil); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: got %d %s", status, body)
	}
	got := a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc"}}`, b.id),
		`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	for _, c := range []*client{a2, b1} {
		c.expect(`{"system_message":{"...":true}}`)
	}
	a1.roundTrip(fmt.Sprintf(`{"message":{"id":"m-1","cid":%q,"body":"hello"}}`, cid), `{"ask":{"...":true,"mid":"m-1"}}`)
	for _, c := range []*client{a2, b1} {
		c.expect(`{"message":{"...":true,"body":"hello"}}`)
	}
	a1.roundTrip(`{"request":{"no_such_method":{},"id":"u1"}}`, `{"response":{"id":"u1","error":{"...":true}}}`)
	a1.roundTrip(`{"request":{"ping":{},"id":"p1"}}`, `{"response":{"id":"p1","pong":{}}}`)

	// The slow client asks for 60 KiB replies and never reads them.
	frame := `{"request":{"ping":{},"id":"` + strings.Repeat("z", 60<<10) + `"}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 2000 && n.app.Online() == 4; i++ {
		if err := slow.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			break
		}
	}
	waitFor(t, "the slow consumer closed", func() bool { return n.app.Online() == 3 })
	_ = a2.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "a2 closed", func() bool { return n.app.Online() == 2 })

	after := n.scrape(t)
	delta := func(key string) float64 { return after[key] - before[key] }
	for key, want := range map[string]float64{
		`samagate_logins_total{result="wrong_password"}`:                        1,
		`samagate_logins_total{result="ok"}`:                                    3,
		`samagate_socket_closes_total{code="4000",reason="slow_consumer"}`:      1,
		`samagate_socket_closes_total{code="1000",reason="normal"}`:             3, // two sign-up sockets and a2
		`samagate_frames_received_total{method="connect"}`:                      3,
		`samagate_frames_received_total{method="user_create"}`:                  2,
		`samagate_frames_received_total{method="message"}`:                      1,
		`samagate_frames_received_total{method="unknown"}`:                      1,
		`samagate_request_duration_seconds_count{method="conversation_create"}`: 1,
		`samagate_request_errors_total{status="404"}`:                           1,
	} {
		if got := delta(key); got != want {
			t.Errorf("%s: moved by %v, want %v", key, got, want)
		}
	}
	for _, key := range []string{`samagate_frames_received_total{method="ping"}`, `samagate_frames_sent_total{kind="reply"}`,
		`samagate_frames_sent_total{kind="event"}`, `samagate_deliveries_total`, `samagate_socket_writes_total`,
		`samagate_commit_batch_size_count`, `samagate_commit_duration_seconds_count`} {
		if delta(key) <= 0 {
			t.Errorf("%s did not move (%v -> %v)", key, before[key], after[key])
		}
	}
	if got := after[`samagate_deliveries_total`] - before[`samagate_deliveries_total`]; got < 4 {
		t.Errorf("deliveries: got %v, want at least 4 (conversation_created and the message to a2 and b1)", got)
	}
	if os.Getenv(clusterEnv) == "1" { // PostgreSQL, Redis and the bus
		for _, key := range []string{`samagate_postgres_pool_connections{state="total"}`,
			`samagate_redis_pool_connections{state="total"}`, `samagate_node_heartbeats_total`} {
			if after[key] <= 0 {
				t.Errorf("cluster node: %s = %v, want > 0", key, after[key])
			}
		}
		// A commit is published once the node has seen the other one at a
		// heartbeat; messages are sent until one is.
		i := 0
		waitFor(t, "a commit published on the bus", func() bool {
			i++
			a1.roundTrip(fmt.Sprintf(`{"message":{"id":"bus-%d","cid":%q,"body":"hi"}}`, i, cid), `{"ask":{"...":true}}`)
			return n.scrape(t)[`samagate_bus_publish_duration_seconds_count`] > 0
		})
	}
	for key, want := range map[string]float64{
		`samagate_sockets{state="bound"}`: 2, `samagate_sockets{state="unauthenticated"}`: 0,
		`samagate_users_online`: 2, `samagate_devices_online`: 2,
	} {
		if got := after[key]; got != want {
			t.Errorf("after the closes, %s: got %v, want %v", key, got, want)
		}
	}
}
