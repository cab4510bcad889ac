package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkDelivery measures the whole path over real loopback websockets:
// a sender pipelines messages into a conversation, each is made durable and
// acknowledged, and every other member's socket receives it. It reports
// messages accepted per second and events delivered to sockets per second.
//
//	go test -run '^$' -bench Delivery -benchtime 2000x ./gateway/
func BenchmarkDelivery(b *testing.B) {
	for _, members := range []int{2, 50} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			n := startNode(b, unlimited)
			benchDelivery(b, members, n, func(int) *node { return n })
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
			benchDelivery(b, members, ns[0], func(i int) *node { return ns[1+i%2] })
		})
	}
}

// benchDelivery runs one delivery benchmark: the sender on n, receiver i on
// place(i).
func benchDelivery(b *testing.B, members int, n *node, place func(int) *node) {
	accounts := make([]account, members)
	for i := range accounts {
		accounts[i] = n.signUp(b, fmt.Sprintf("member_%02d", i))
	}
	sender := n.connected(b, accounts[0], "d")
	var ids []string
	for _, a := range accounts[1:] {
		ids = append(ids, fmt.Sprintf("%q", a.id))
	}
	typ := `"type":"g","name":"bench"`
	if members == 2 {
		typ = `"type":"u"`
	}
	got := sender.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{%s,"participants":[%s]},"id":"c"}}`, typ, joinComma(ids)),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(b, got, "response.conversation._id")
	receivers := make([]*client, 0, members-1)
	for i, a := range accounts[1:] {
		receivers = append(receivers, place(i).connected(b, a, "d"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	counts := make([]int, len(receivers))
	b.ResetTimer()
	start := time.Now()
	for i, r := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for counts[i] < b.N {
				_, data, err := r.c.Read(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				var f map[string]json.RawMessage
				if json.Unmarshal(data, &f) == nil && f["message"] != nil {
					counts[i]++
				}
			}
		}()
	}
	go func() {
		for i := range b.N {
			frame := fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"benchmark message %d"}}`, i, cid, i)
			if err := sender.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for range b.N { // every message acknowledged
		if _, _, err := sender.c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	accepted := time.Since(start)
	wg.Wait()
	all := time.Since(start)
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*len(receivers))/all.Seconds(), "delivered-events/s")
}
