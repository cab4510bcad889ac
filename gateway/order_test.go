package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// collector reads every frame of a socket in the background and keeps the
// logged events (by "eid", in arrival order), the message ids among them,
// the asks, and the message ids that message_read events named.
type collector struct {
	t    testing.TB
	c    *client
	done chan struct{}

	mu        sync.Mutex
	eids      []string
	messages  []string
	asks      []string
	read      []string
	responses map[string]json.RawMessage // replies by request id
	other     []string                   // anything else
	err       error
}

func collect(t testing.TB, c *client) *collector {
	k := &collector{t: t, c: c, done: make(chan struct{}), responses: map[string]json.RawMessage{}}
	go func() {
		defer close(k.done)
		for {
			_, data, err := c.c.Read(context.Background())
			if err != nil {
				k.mu.Lock()
				k.err = err
				k.mu.Unlock()
				return
			}
			k.add(data)
		}
	}()
	t.Cleanup(func() { _ = c.c.CloseNow(); <-k.done })
	return k
}

func (k *collector) add(data []byte) {
	var f map[string]json.RawMessage
	_ = json.Unmarshal(data, &f)
	k.mu.Lock()
	defer k.mu.Unlock()
	for kind, body := range f {
		var ev struct {
			ID        string   `json:"_id"`
			EID       string   `json:"eid"`
			IDs       []string `json:"ids"`
			ServerMID string   `json:"server_mid"`
		}
		_ = json.Unmarshal(body, &ev)
		var reply struct {
			ID string `json:"id"`
		}
		switch {
		case kind == "response" && json.Unmarshal(body, &reply) == nil && reply.ID != "":
			k.responses[reply.ID] = body
		case kind == "ask":
			k.asks = append(k.asks, ev.ServerMID)
		case ev.EID != "":
			k.eids = append(k.eids, ev.EID)
			if kind == "message" {
				k.messages = append(k.messages, ev.ID)
			}
			if kind == "message_read" {
				k.read = append(k.read, ev.IDs...)
			}
		default:
			k.other = append(k.other, string(data))
		}
	}
}

// wait waits until cond holds on the collector's state.
func (k *collector) wait(what string, within time.Duration, cond func(k *collector) bool) {
	k.t.Helper()
	deadline := time.Now().Add(within)
	for {
		k.mu.Lock()
		ok, err := cond(k), k.err
		k.mu.Unlock()
		if ok {
			return
		}
		if err != nil || time.Now().After(deadline) {
			k.mu.Lock()
			k.t.Fatalf("waiting for %s: %d events, %d messages, %d asks (%v)", what, len(k.eids), len(k.messages), len(k.asks), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call sends a request and waits for its reply (by request id).
func (k *collector) call(id, method, params string) json.RawMessage {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := k.c.c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"request":{%q:%s,"id":%q}}`, method, params, id))); err != nil {
		k.t.Fatalf("%s: %v", method, err)
	}
	var out json.RawMessage
	k.wait(method+" reply", 10*time.Second, func(k *collector) bool {
		out = k.responses[id]
		return out != nil
	})
	return out
}

func (k *collector) snapshot() (eids, messages, asks, read []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.eids), slices.Clone(k.messages), slices.Clone(k.asks), slices.Clone(k.read)
}

// logOrder is the user's event log as a fresh socket replays it from the
// start (connect {since:""}): the commit order every live stream must follow.
func logOrder(t testing.TB, n *node, a account) (eids, messages []string) {
	t.Helper()
	tok, _ := n.token(t, a, "log-reader")
	c := n.dial(t)
	defer c.c.CloseNow()
	c.send(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"log-reader","since":""},"id":"cn"}}`, tok))
	for {
		data, err := c.read(30 * time.Second)
		if err != nil {
			t.Fatalf("replay the log: %v", err)
		}
		var f map[string]json.RawMessage
		_ = json.Unmarshal(data, &f)
		if up, ok := f["catch_up"]; ok {
			if strings.Contains(string(up), "truncated") {
				t.Fatalf("log replay truncated: %s", up)
			}
			return eids, messages
		}
		for kind, body := range f {
			var ev struct {
				ID  string `json:"_id"`
				EID string `json:"eid"`
			}
			_ = json.Unmarshal(body, &ev)
			if ev.EID != "" {
				eids = append(eids, ev.EID)
				if kind == "message" {
					messages = append(messages, ev.ID)
				}
			}
		}
	}
}

// without returns list without the ids in drop.
func without(list, drop []string) []string {
	skip := map[string]bool{}
	for _, id := range drop {
		skip[id] = true
	}
	out := []string{}
	for _, id := range list {
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out
}

// compareStreams reports how got differs from want: missing, repeated, and
// out-of-order events; all zero means got is want exactly.
func compareStreams(want, got []string) (missing, repeated, outOfOrder int) {
	index := map[string]int{}
	for i, id := range want {
		index[id] = i
	}
	seen := map[string]bool{}
	last := -1
	for _, id := range got {
		if seen[id] {
			repeated++
			continue
		}
		seen[id] = true
		i, ok := index[id]
		if !ok {
			outOfOrder++ // not in the log at all
			continue
		}
		if i < last {
			outOfOrder++
		}
		last = max(last, i)
	}
	for _, id := range want {
		if !seen[id] {
			missing++
		}
	}
	return missing, repeated, outOfOrder
}

// TestLiveOrder: two senders put 3,000 messages each into one group as fast
// as their sockets go, on one node and on two nodes (each sender on its
// own node). Every socket of every member, on either node, receives the
// log's events in the log's order, each exactly once, with nothing missing
// (only the events its own sends caused are not sent to it).
func TestLiveOrder(t *testing.T) {
	t.Run("one node", func(t *testing.T) {
		n := startNode(t, unlimited)
		liveOrder(t, n, n)
	})
	t.Run("two nodes", func(t *testing.T) {
		ns := startCluster(t, 2, unlimited)
		liveOrder(t, ns[0], ns[1])
	})
}

func liveOrder(t *testing.T, n1, n2 *node) {
	const each = 3000
	s1, s2, r := n1.signUp(t, "sender_one"), n2.signUp(t, "sender_two"), n1.signUp(t, "reader")
	sockets := map[string]*collector{
		"s1 on node 1": collect(t, n1.connected(t, s1, "s1a")),
		"s1 on node 2": collect(t, n2.connected(t, s1, "s1b")),
		"s2 on node 2": collect(t, n2.connected(t, s2, "s2a")),
		"r on node 1":  collect(t, n1.connected(t, r, "ra")),
		"r on node 2":  collect(t, n2.connected(t, r, "rb")),
	}
	owner := map[string]account{"s1 on node 1": s1, "s1 on node 2": s1, "s2 on node 2": s2, "r on node 1": r, "r on node 2": r}
	setup := n1.connected(t, s1, "setup")
	got := setup.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"order","participants":[%q,%q]},"id":"c"}}`, s2.id, r.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	_ = setup.c.Close(websocket.StatusNormalClosure, "")

	start := time.Now()
	var wg sync.WaitGroup
	for _, name := range []string{"s1 on node 1", "s2 on node 2"} {
		k := sockets[name]
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for i := range each {
				f := fmt.Sprintf(`{"message":{"id":"%s-%d","cid":%q,"body":"m%d"}}`, strings.ReplaceAll(name, " ", "_"), i, cid, i)
				if err := k.c.c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
					t.Errorf("%s: send: %v", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for name, k := range sockets {
		want := 2 * each
		if name == "s1 on node 1" || name == "s2 on node 2" {
			want = each
			k.wait(name+" asks", 2*time.Minute, func(k *collector) bool { return len(k.asks) == each })
		}
		k.wait(name+" messages", 2*time.Minute, func(k *collector) bool { return len(k.messages) >= want })
	}
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond) // anything extra would arrive now

	logs := map[string][]string{}
	for _, a := range []account{s1, s2, r} {
		logs[a.id], _ = logOrder(t, n2, a)
	}
	for name, k := range sockets {
		eids, msgs, asks, _ := k.snapshot()
		want := without(logs[owner[name].id], asks) // its own sends come back as asks
		missing, repeated, outOfOrder := compareStreams(want, eids)
		t.Logf("%s: %d events (%d messages) received; missing %d, repeated %d, out of order %d", name, len(eids), len(msgs), missing, repeated, outOfOrder)
		if missing+repeated+outOfOrder > 0 || !slices.Equal(eids, want) {
			t.Errorf("%s: the live stream is not the log's order", name)
		}
	}
	t.Logf("%d messages committed and delivered in %v", 2*each, elapsed.Round(time.Millisecond))
}

// TestHistoryOrderAcrossNodes: alice on node 1 and bob on node 2 post into
// one group in the same second, 500 rounds of three messages each, while
// carol reads on node 2. At quiet points every 10 rounds,
// every member's history (message_list), last_message, unread count and
// read ticks follow commit order: the order carol's socket received, which
// is checked against the log itself.
func TestHistoryOrderAcrossNodes(t *testing.T) {
	ns := startCluster(t, 2, unlimited)
	alice, bob, carol := ns[0].signUp(t, "alice"), ns[1].signUp(t, "bob"), ns[1].signUp(t, "carol")
	setup := ns[0].connected(t, alice, "setup")
	got := setup.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"history","participants":[%q,%q]},"id":"c"}}`, bob.id, carol.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	_ = setup.c.Close(websocket.StatusNormalClosure, "")
	ka, kb, kc := collect(t, ns[0].connected(t, alice, "a")), collect(t, ns[1].connected(t, bob, "b")), collect(t, ns[1].connected(t, carol, "c"))
	members := map[string]*collector{"alice": ka, "bob": kb, "carol": kc}
	from := map[string]string{} // message id -> author
	carolRead := 0              // messages carol has read

	const rounds, per = 500, 3
	check := func(round int) {
		t.Helper()
		// Quiet: every ask is back and carol has every message.
		_, order, _, _ := kc.snapshot()
		for _, who := range []*collector{ka, kb} {
			_, _, asks, _ := who.snapshot()
			for _, id := range asks {
				from[id] = map[*collector]string{ka: "alice", kb: "bob"}[who]
			}
		}
		for name, k := range members {
			var list struct {
				Messages []struct {
					ID     string `json:"_id"`
					Status string `json:"status"`
				} `json:"messages"`
			}
			_ = json.Unmarshal(k.call(fmt.Sprint("ml", round), "message_list", fmt.Sprintf(`{"cid":%q,"limit":100}`, cid)), &list)
			want := slices.Clone(order[max(0, len(order)-100):])
			slices.Reverse(want)
			var ids []string
			for _, m := range list.Messages {
				ids = append(ids, m.ID)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("round %d: %s's message_list is not the newest 100 in commit order", round, name)
			}
			var convs struct {
				Conversations []struct {
					LastMessage struct {
						ID string `json:"_id"`
					} `json:"last_message"`
					Unread int `json:"unread_messages_count"`
				} `json:"conversations"`
			}
			_ = json.Unmarshal(k.call(fmt.Sprint("cl", round), "conversation_list", `{}`), &convs)
			if len(convs.Conversations) != 1 || convs.Conversations[0].LastMessage.ID != order[len(order)-1] {
				t.Fatalf("round %d: %s's last_message is %+v, want %s", round, name, convs.Conversations, order[len(order)-1])
			}
			unread := 0
			for i, id := range order {
				if from[id] != name && (name != "carol" || i >= carolRead) {
					unread++
				}
			}
			if got := convs.Conversations[0].Unread; got != unread {
				t.Fatalf("round %d: %s's unread count is %d, want %d", round, name, got, unread)
			}
		}
		// carol reads up to the newest: each author is told about exactly
		// the messages of theirs not read before, and sees them read.
		kc.call(fmt.Sprint("rd", round), "message_read", fmt.Sprintf(`{"cid":%q}`, cid))
		carolRead = len(order)
		for name, k := range map[string]*collector{"alice": ka, "bob": kb} {
			var mine []string
			for _, id := range order {
				if from[id] == name {
					mine = append(mine, id)
				}
			}
			k.wait(name+"'s read ticks", 10*time.Second, func(k *collector) bool { return len(k.read) >= len(mine) })
			_, _, _, read := k.snapshot()
			slices.Sort(read)
			slices.Sort(mine)
			if !slices.Equal(read, mine) {
				t.Fatalf("round %d: %s was told of %d read messages, want exactly their %d", round, name, len(read), len(mine))
			}
			var list struct {
				Messages []struct {
					From   string `json:"from"`
					Status string `json:"status"`
				} `json:"messages"`
			}
			_ = json.Unmarshal(k.call(fmt.Sprint("tick", round), "message_list", fmt.Sprintf(`{"cid":%q,"limit":100}`, cid)), &list)
			for _, m := range list.Messages {
				if m.Status != "" && m.Status != "read" {
					t.Fatalf("round %d: one of %s's messages is %q after carol read everything", round, name, m.Status)
				}
			}
		}
	}

	for round := range rounds {
		var wg sync.WaitGroup
		for name, k := range map[string]*collector{"alice": ka, "bob": kb} {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for i := range per {
					f := fmt.Sprintf(`{"message":{"id":"%s-%d-%d","cid":%q,"body":"round %d"}}`, name, round, i, cid, round)
					if err := k.c.c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			})
		}
		wg.Wait()
		sent := per * (round + 1)
		ka.wait("alice's asks", 30*time.Second, func(k *collector) bool { return len(k.asks) == sent })
		kb.wait("bob's asks", 30*time.Second, func(k *collector) bool { return len(k.asks) == sent })
		if (round+1)%10 == 0 { // 60 new messages: within the 100 a read reports (SAMA)
			kc.wait("carol's messages", 30*time.Second, func(k *collector) bool { return len(k.messages) == 2*sent })
			check(round)
		}
	}
	_, logMessages := logOrder(t, ns[0], carol)
	_, live, _, _ := kc.snapshot()
	if !slices.Equal(live, logMessages) {
		m, r, o := compareStreams(logMessages, live)
		t.Fatalf("carol's live order is not the log's: missing %d, repeated %d, out of order %d", m, r, o)
	}
	inversions := 0 // neighbours whose ids sort against commit order: what ordering by id got wrong
	for i := 1; i < len(logMessages); i++ {
		if logMessages[i] < logMessages[i-1] {
			inversions++
		}
	}
	t.Logf("%d messages; %d neighbours in commit order have ids in the other order", len(logMessages), inversions)
}
