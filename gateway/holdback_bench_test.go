package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
)

// BenchmarkClusterHoldBack measures what restoring commit order costs on
// two nodes under fan-out load: a 100-member group, half its members'
// sockets on each node, four senders (two per node) pipelining messages at
// a fixed total rate, 300 or 600 messages/s, so the nodes are offered
// 30,000 or 60,000 deliveries/s. It reports the deliveries per second
// reached, the hold-back of each node's sequencer (how long a commit waited
// for one with a lower number: p50 and p99 of the node's commits) and the
// end-to-end latency from a send to a member's socket (p50, p99). b.N is
// the number of messages. The members' sockets are read in this process.
//
//	make bench-holdback
func BenchmarkClusterHoldBack(b *testing.B) {
	for _, rate := range []float64{300, 600} {
		b.Run(fmt.Sprintf("offered=%.0fk-deliveries-per-s", rate/10), func(b *testing.B) { benchHoldBack(b, rate) })
	}
}

func benchHoldBack(b *testing.B, rate float64) {
	const members, senders = 100, 4
	ns := startCluster(b, 2, func(c *app.Config) {
		unlimited(c)
		c.Chat.MaxParticipants = members
	})
	accounts := make([]account, members)
	for i := range accounts {
		accounts[i] = ns[i%2].signUp(b, fmt.Sprintf("member_%03d", i))
	}
	var ids []string
	for _, a := range accounts[1:] {
		ids = append(ids, fmt.Sprintf("%q", a.id))
	}
	setup := ns[0].connected(b, accounts[0], "setup")
	got := setup.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"bench","participants":[%s]},"id":"c"}}`, joinComma(ids)),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(b, got, "response.conversation._id")
	_ = setup.c.Close(websocket.StatusNormalClosure, "")

	socks := make([]*client, members)
	for i, a := range accounts {
		socks[i] = ns[i%2].connected(b, a, "d")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var sentAt sync.Map // message client id -> time sent
	latencies := make([][]time.Duration, members)
	var wg sync.WaitGroup
	perSender := max(1, b.N/senders)
	want := make([]int, members) // messages each socket gets: all but its own sends
	for i := range members {
		want[i] = perSender * senders
		if i < senders {
			want[i] -= perSender
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i, s := range socks {
		wg.Go(func() {
			for n := 0; n < want[i]; {
				_, data, err := s.c.Read(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				// The body names the message; found without decoding the
				// frame, so the clients (in this process) cost little.
				body, ok := bodyOf(data)
				if !ok {
					continue
				}
				if at, ok := sentAt.Load(body); ok {
					latencies[i] = append(latencies[i], time.Since(at.(time.Time)))
				}
				n++
			}
		})
	}
	for k := range senders {
		wg.Go(func() {
			tick := time.NewTicker(time.Second * senders / time.Duration(rate))
			defer tick.Stop()
			for n := range perSender {
				<-tick.C
				body := fmt.Sprintf("s%d-%d", k, n)
				sentAt.Store(body, time.Now())
				f := fmt.Sprintf(`{"message":{"id":%q,"cid":%q,"body":%q}}`, body, cid, body)
				if err := socks[k].c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	delivered := 0
	for _, l := range latencies {
		all = append(all, l...)
		delivered += len(l)
	}
	if len(all) == 0 {
		b.Fatal("nothing delivered")
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	b.ReportMetric(float64(delivered)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "e2e-p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "e2e-p99-ms")
	for i, n := range ns {
		p50, p99, count := n.app.OrderHoldBack()
		b.Logf("node %d: %d commits released; hold-back p50 %v, p99 %v (upper bounds of quarter-octave buckets)", i+1, count, p50, p99)
		b.ReportMetric(float64(p99.Microseconds())/1000, fmt.Sprintf("hold-p99-ms/node%d", i+1))
		b.ReportMetric(float64(p50.Microseconds())/1000, fmt.Sprintf("hold-p50-ms/node%d", i+1))
	}
}

// bodyOf finds the body of a message event frame without decoding it.
func bodyOf(frame []byte) (string, bool) {
	if !bytes.HasPrefix(frame, []byte(`{"message":`)) {
		return "", false
	}
	i := bytes.Index(frame, []byte(`"body":"`))
	if i < 0 {
		return "", false
	}
	rest := frame[i+len(`"body":"`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}
