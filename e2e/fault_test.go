package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/internal/testenv"
)

// TestClusterFaults runs three samagate processes sharing PostgreSQL and a
// Redis the test owns. Users' devices are spread over the nodes and send
// messages steadily. One node is killed with SIGKILL, and later Redis is
// killed and restarted empty. Devices of the dead node reconnect to the
// others with "since" = the exact last event they received. While Redis is
// down, commits cannot be published: the nodes read them from the log. Every
// message
// that got an ask must then be on every device of its recipients exactly
// once (no device may get any message twice, in catch-up or live), and the
// dead node's users must be announced offline within 10 s.
func TestClusterFaults(t *testing.T) {
	bin := samagateBinary(t)
	dir := t.TempDir()
	dbURL := testenv.Database(t)
	rs := startRedis(t, dir)
	if keep := os.Getenv("SAMAGATE_TEST_KEEP_LOGS"); keep != "" {
		t.Cleanup(func() {
			if t.Failed() {
				_ = exec.Command("cp", "-r", dir, filepath.Join(keep, time.Now().Format("150405.000"))).Run()
			}
		})
	}

	const nodes = 3
	var https, wss []string
	var procs []*proc
	for i := range nodes {
		port := freePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p := startProc(t, dir, fmt.Sprintf("node%d", i+1), bin,
			"--addr", addr, "--data-dir", dir, "--database-url", dbURL, "--redis-url", "redis://"+rs.addr(),
			"--node-id", fmt.Sprintf("node%d", i+1), "--insecure-cookie", "--log-format", "json")
		waitHTTP(t, p, "http://"+addr+"/health")
		procs = append(procs, p)
		https, wss = append(https, "http://"+addr), append(wss, "ws://"+addr+"/")
	}

	// Users u0..u8 with two devices each on different nodes; zed lives only
	// on node 2 (the one to be killed); wat follows zed from node 1.
	users := []string{"user0", "user1", "user2", "user3", "user4", "user5", "user6", "user7", "user8", "zedo", "watcher"}
	ids := map[string]string{}
	for i, u := range users {
		r := wsCall(t, wss[i%nodes], fmt.Sprintf(`{"request":{"user_create":{"login":%q,"password":"password-%s"},"id":"su"}}`, u, u))
		user, ok := r["response"].(map[string]any)["user"].(map[string]any)
		if !ok {
			t.Fatalf("user_create %s: %v", u, r)
		}
		ids[u] = user["_id"].(string)
	}
	convs := map[string][]string{} // cid -> participant logins
	create := func(typ, name string, members ...string) {
		convs[createConversation(t, https[0], wss[0], ids, typ, name, members...)] = members
	}
	create("g", "all", "user0", "user1", "user2", "user3", "user4", "user5", "user6", "user7", "user8")
	create("g", "a", "user0", "user1", "user2")
	create("g", "b", "user3", "user4", "user5")
	create("g", "c", "user6", "user7", "user8")
	create("u", "", "user0", "user4")
	create("u", "", "user2", "user7")

	acks := make(chan ack, 1<<20)
	var devices []*device
	byUser := map[string][]*device{}
	for i, u := range users[:9] {
		for k := range 2 {
			start := (i + k) % nodes
			id := fmt.Sprintf("%s-d%d", u, k)
			d := newDevice(u, id, login(t, https[start], u, id), wss, start, acks)
			devices = append(devices, d)
			byUser[u] = append(byUser[u], d)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Go(func() { d.run(ctx) })
	}
	defer func() { stop(); wg.Wait() }()

	// zed's only socket is on node 2; wat follows zed from node 1.
	zedTok := login(t, https[1], "zedo", "zed-phone")
	zedCtx, zedCancel := context.WithTimeout(context.Background(), time.Minute)
	defer zedCancel()
	zed, _, err := websocket.Dial(zedCtx, wss[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zed.CloseNow()
	_ = zed.Write(zedCtx, websocket.MessageText, []byte(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"zed-phone"},"id":"cn"}}`, zedTok)))
	if _, _, err := zed.Read(zedCtx); err != nil {
		t.Fatal(err)
	}
	offlineAt := make(chan time.Time, 1)
	go watchOffline(t, wss[0], login(t, https[0], "watcher", "wat-web"), ids["zedo"], offlineAt)

	// Every device sends to its user's conversations in turn.
	mine := map[string][]string{}
	for cid, members := range convs {
		for _, m := range members {
			mine[m] = append(mine[m], cid)
		}
	}
	waitConnected(t, devices)
	var sendWG sync.WaitGroup
	sendCtx, stopSending := context.WithCancel(context.Background())
	for _, d := range devices {
		sendWG.Go(func() {
			tick := time.NewTicker(150 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-sendCtx.Done():
					return
				case <-tick.C:
				}
				cs := mine[d.user]
				d.send(sendCtx, cs[n%len(cs)], n)
			}
		})
	}

	time.Sleep(2 * time.Second)
	killed := time.Now()
	procs[1].kill()
	t.Logf("node2 killed (SIGKILL)")
	var offline time.Duration
	select {
	case at := <-offlineAt:
		offline = at.Sub(killed)
	case <-time.After(15 * time.Second):
		t.Fatal("zed (only on the dead node) was not announced offline within 15 s")
	}
	time.Sleep(time.Second)
	// Down for a second: the commits made meanwhile cannot be published,
	// and every node must read them from the log.
	rs.restart(time.Second)
	t.Logf("redis restarted (empty) after 1 s down")
	time.Sleep(4 * time.Second)
	stopSending()
	sendWG.Wait()
	// Let reconnects, catch-ups and bus recoveries finish.
	time.Sleep(4 * time.Second)
	stop()
	wg.Wait()
	close(acks)

	acked, expected, once, missing, dups := checkDelivery(t, acks, convs, byUser, devices)
	var reconnects, catchUps int
	for _, d := range devices {
		d.mu.Lock()
		reconnects += d.reconnects
		catchUps += d.caughtUp
		d.mu.Unlock()
	}
	t.Logf("messages acked: %d; deliveries expected: %d; exactly once: %d; missing: %d; duplicated: %d", acked, expected, once, missing, dups)
	t.Logf("device reconnects: %d; catch-ups from the exact last event: %d; dead node's user announced offline %v after the kill",
		reconnects, catchUps, offline.Round(10*time.Millisecond))
	// The survivors must have gone through the fault paths, not around them.
	for _, i := range []int{0, 2} {
		log := procs[i].all()
		for _, want := range []string{"restoring it", "node state restored", "read missing commits from the log"} {
			if !strings.Contains(log, want) {
				t.Errorf("node%d never logged %q", i+1, want)
			}
		}
		t.Logf("node%d: %s", i+1, recoveries(log))
	}
	if acked < 100 {
		t.Errorf("only %d messages acked: the load did not run", acked)
	}
	if offline > 10*time.Second {
		t.Errorf("dead node's user offline after %v, want within 10 s", offline)
	}
	if reconnects < 6 {
		t.Errorf("only %d reconnects: the dead node's devices did not move", reconnects)
	}
}

// waitConnected waits until every device has a bound socket.
func waitConnected(t *testing.T, ds []*device) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, d := range ds {
		for {
			d.mu.Lock()
			ok := d.conn != nil
			d.mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not connect", d.id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// watchOffline follows userID and reports when it is announced offline.
func watchOffline(t *testing.T, url, token, userID string, at chan<- time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Error(err)
		return
	}
	defer c.CloseNow()
	for _, f := range []string{
		fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"wat-web"},"id":"cn"}}`, token),
		fmt.Sprintf(`{"request":{"user_last_activity_subscribe":{"id":%q},"id":"sub"}}`, userID),
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Error(err)
			return
		}
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var f struct {
			LastActivity map[string]int64 `json:"last_activity"`
		}
		if json.Unmarshal(data, &f) == nil && f.LastActivity[userID] > 0 {
			at <- time.Now()
			return
		}
	}
}

// recoveries sums what a node's log says it read from the event log in
// place of commit packets that never came (lost on the bus, or committed by
// the dead node and never published) and numbers it found void.
func recoveries(log string) string {
	runs, commits, void, events := 0, 0, 0, 0
	for _, line := range strings.Split(log, "\n") {
		var l struct {
			Message string `json:"message"`
			Commits int    `json:"commits"`
			Void    int    `json:"void"`
			Events  int    `json:"events"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == "order: read missing commits from the log" {
			runs++
			commits += l.Commits
			void += l.Void
			events += l.Events
		}
	}
	return fmt.Sprintf("%d reads of the log took %d missing commits (%d void, %d events)", runs, commits, void, events)
}
