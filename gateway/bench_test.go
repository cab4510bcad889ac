package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkDelivery measures the whole path over real loopback websockets:
// senders pipeline messages into a conversation, each is made durable and
// acknowledged, and every other member's socket receives it. It reports
// messages accepted per second and events delivered to sockets per second.
// With several senders, commits carry several messages and a socket gets
// several frames per run of releases, which share a write (outbox.go).
//
//	go test -run '^$' -bench Delivery -benchtime 2000x ./gateway/
func BenchmarkDelivery(b *testing.B) {
	for _, c := range []struct{ members, senders int }{{2, 1}, {50, 1}, {50, 8}} {
		name := fmt.Sprintf("members=%d", c.members)
		if c.senders > 1 {
			name += fmt.Sprintf(",senders=%d", c.senders)
		}
		b.Run(name, func(b *testing.B) {
			n := startNode(b, unlimited)
			benchDelivery(b, c.members, c.senders, n, func(int) *node { return n })
		})
	}
}

// BenchmarkClusterDelivery is BenchmarkDelivery across nodes: three nodes
// share PostgreSQL and Redis, the sender is on node 1 and every receiver on
// node 2 or 3, so each event crosses the Redis bus (one packet per node).
//
//	make test ARGS="-run '^$' -bench ClusterDelivery -benchtime 2000x ./gateway/"
func BenchmarkClusterDelivery(b *testing.B) {
	for _, members := range []int{2, 50} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			ns := startCluster(b, 3, unlimited)
			benchDelivery(b, members, 1, ns[0], func(i int) *node { return ns[1+i%2] })
		})
	}
}

// benchDelivery runs one delivery benchmark: the first senders members
// send, on n, b.N messages in all; every member's socket (member i on
// place(i)) reads what the others send.
func benchDelivery(b *testing.B, members, senders int, n *node, place func(int) *node) {
	accounts := make([]account, members)
	for i := range accounts {
		accounts[i] = n.signUp(b, fmt.Sprintf("member_%02d", i))
	}
	setup := n.connected(b, accounts[0], "setup")
	var ids []string
	for _, a := range accounts[1:] {
		ids = append(ids, fmt.Sprintf("%q", a.id))
	}
	typ := `"type":"g","name":"bench"`
	if members == 2 {
		typ = `"type":"u"`
	}
	got := setup.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{%s,"participants":[%s]},"id":"c"}}`, typ, joinComma(ids)),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(b, got, "response.conversation._id")
	_ = setup.c.Close(websocket.StatusNormalClosure, "")
	socks := make([]*client, members)
	for i, a := range accounts {
		if i < senders {
			socks[i] = n.connected(b, a, "d")
		} else {
			socks[i] = place(i-senders).connected(b, a, "d")
		}
	}
	perSender := make([]int, senders) // b.N messages in all
	for i := range b.N {
		perSender[i%senders]++
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var unacked atomic.Int64 // asks not received yet
	unacked.Store(int64(b.N))
	var accepted atomic.Int64 // when the last ask came, ns after start
	b.ResetTimer()
	start := time.Now()
	for i, s := range socks {
		events := b.N // what the member reads: the others' messages
		asks := 0
		if i < senders {
			events -= perSender[i]
			asks = perSender[i]
		}
		wg.Go(func() {
			for events > 0 || asks > 0 {
				_, data, err := s.c.Read(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				switch {
				case bytes.HasPrefix(data, []byte(`{"message":`)):
					events--
				case bytes.HasPrefix(data, []byte(`{"ask":`)):
					asks--
					if unacked.Add(-1) == 0 {
						accepted.Store(int64(time.Since(start)))
					}
				}
			}
		})
	}
	for k := range senders {
		wg.Go(func() {
			for i := range perSender[k] {
				frame := fmt.Sprintf(`{"message":{"id":"m%d-%d","cid":%q,"body":"benchmark message %d"}}`, k, i, cid, i)
				if err := socks[k].c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	all := time.Since(start)
	b.ReportMetric(float64(b.N)/time.Duration(accepted.Load()).Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*(members-1))/all.Seconds(), "delivered-events/s")
}
