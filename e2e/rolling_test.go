package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/internal/testenv"
)

// TestRollingRestart runs three samagate processes on PostgreSQL and Redis
// under steady message load, and restarts each in turn as an operator
// would: SIGTERM, wait for the exit, start it again, wait for GET /ready.
// A draining node closes its sockets with 1012 spread over --drain-window;
// its devices reconnect to the other nodes and resume with "since". Every
// acknowledged message must then be on every device of its recipients
// exactly once. It reports, per restart, how the 1012 closes and the
// reconnects were spread, and the longest time a device was without a
// socket and without a message.
func TestRollingRestart(t *testing.T) {
	bin := samagateBinary(t)
	dir := t.TempDir()
	dbURL := testenv.Database(t)
	rs := startRedis(t, dir)
	const (
		nodes       = 3
		drainWindow = 3 * time.Second
	)
	var https, wss []string
	args := make([][]string, nodes)
	procs := make([]*proc, nodes)
	for i := range nodes {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		args[i] = []string{"--addr", addr, "--data-dir", dir, "--database-url", dbURL, "--redis-url", "redis://" + rs.addr(),
			"--node-id", fmt.Sprintf("node%d", i+1), "--insecure-cookie", "--log-format", "json",
			"--drain-window", drainWindow.String(), "--shutdown-timeout", "10s"}
		procs[i] = startProc(t, dir, fmt.Sprintf("node%d", i+1), bin, args[i]...)
		https, wss = append(https, "http://"+addr), append(wss, "ws://"+addr+"/")
	}
	for i := range nodes {
		waitHTTP(t, procs[i], https[i]+"/ready")
	}

	users := []string{"user0", "user1", "user2", "user3", "user4", "user5", "user6", "user7", "user8"}
	ids := map[string]string{}
	for i, u := range users {
		r := wsCall(t, wss[i%nodes], fmt.Sprintf(`{"request":{"user_create":{"login":%q,"password":"password-%s"},"id":"su"}}`, u, u))
		user, ok := r["response"].(map[string]any)["user"].(map[string]any)
		if !ok {
			t.Fatalf("user_create %s: %v", u, r)
		}
		ids[u] = user["_id"].(string)
	}
	convs := map[string][]string{}
	for _, c := range [][]string{
		{"g", "all", "user0", "user1", "user2", "user3", "user4", "user5", "user6", "user7", "user8"},
		{"g", "a", "user0", "user1", "user2"}, {"g", "b", "user3", "user4", "user5"}, {"g", "c", "user6", "user7", "user8"},
		{"u", "", "user0", "user4"}, {"u", "", "user2", "user7"},
	} {
		convs[createConversation(t, https[0], wss[0], ids, c[0], c[1], c[2:]...)] = c[2:]
	}
	mine := map[string][]string{}
	for cid, members := range convs {
		for _, m := range members {
			mine[m] = append(mine[m], cid)
		}
	}

	// Two devices per user, on different nodes: six per node.
	acks := make(chan ack, 1<<20)
	var devices []*device
	byUser := map[string][]*device{}
	for i, u := range users {
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
	waitConnected(t, devices)

	loadStart := time.Now()
	var sendWG sync.WaitGroup
	sendCtx, stopSending := context.WithCancel(context.Background())
	defer stopSending()
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

	type restart struct {
		sigterm, exited, ready time.Time
		exitCode               int
	}
	restarts := make([]restart, nodes)
	every := slices.Clone(procs) // every process run, restarted ones too
	for i := range nodes {
		r := &restarts[i]
		r.sigterm = time.Now()
		r.exitCode = procs[i].terminate(t, drainWindow+15*time.Second)
		r.exited = time.Now()
		if r.exitCode != 0 {
			t.Errorf("node%d exited %d after SIGTERM; log:\n%s", i+1, r.exitCode, procs[i].tail())
		}
		log := procs[i].all()
		for _, want := range []string{"draining: closing sockets with 1012", "shutting down"} {
			if !strings.Contains(log, want) {
				t.Errorf("node%d never logged %q", i+1, want)
			}
		}
		procs[i] = startProc(t, dir, fmt.Sprintf("node%d-restarted", i+1), bin, args[i]...)
		every = append(every, procs[i])
		waitHTTP(t, procs[i], https[i]+"/ready")
		r.ready = time.Now()
		t.Logf("node%d: SIGTERM, exited (code %d) after %v, ready again %v after SIGTERM", i+1, r.exitCode,
			r.exited.Sub(r.sigterm).Round(10*time.Millisecond), r.ready.Sub(r.sigterm).Round(10*time.Millisecond))
		time.Sleep(time.Second) // the moved devices settle on the others
	}
	time.Sleep(2 * time.Second)
	stopSending()
	sendWG.Wait()
	loadEnd := time.Now()
	time.Sleep(3 * time.Second) // the last asks' deliveries and catch-ups finish
	stop()
	wg.Wait()
	close(acks)

	acked, expected, once, missing, dups := checkDelivery(t, acks, convs, byUser, devices)
	t.Logf("messages acked: %d; deliveries expected: %d; exactly once: %d; missing: %d; duplicated: %d",
		acked, expected, once, missing, dups)

	// Per restart: when its devices got 1012, and when they were connected
	// again (to another node).
	var maxDown, maxSilence time.Duration
	var worstDown, worstSilence string
	for i, r := range restarts {
		var closes, backs []time.Duration
		other := 0
		for _, d := range devices {
			d.mu.Lock()
			for _, dr := range d.drops {
				if dr.node != i || dr.at.Before(r.sigterm) || dr.at.After(r.exited) {
					continue
				}
				if dr.code == websocket.StatusServiceRestart {
					closes = append(closes, dr.at.Sub(r.sigterm))
					if !dr.back.IsZero() {
						backs = append(backs, dr.back.Sub(r.sigterm))
					}
				} else {
					other++
				}
			}
			d.mu.Unlock()
		}
		if len(closes) == 0 {
			t.Errorf("node%d: no device got 1012", i+1)
			continue
		}
		if other > 0 {
			t.Errorf("node%d: %d sockets ended without 1012", i+1, other)
		}
		slices.Sort(closes)
		slices.Sort(backs)
		spread := closes[len(closes)-1] - closes[0]
		t.Logf("node%d: %d devices got 1012 from %v to %v after SIGTERM (spread %v over a %v drain window)",
			i+1, len(closes), closes[0].Round(time.Millisecond), closes[len(closes)-1].Round(time.Millisecond),
			spread.Round(time.Millisecond), drainWindow)
		if len(backs) != len(closes) {
			t.Errorf("node%d: %d of %d devices connected again", i+1, len(backs), len(closes))
		} else {
			t.Logf("node%d: they reconnected to the other nodes from %v to %v after SIGTERM (reconnect spread %v)", i+1,
				backs[0].Round(time.Millisecond), backs[len(backs)-1].Round(time.Millisecond),
				(backs[len(backs)-1] - backs[0]).Round(time.Millisecond))
		}
		if len(closes) >= 4 && spread < drainWindow/3 {
			t.Errorf("node%d: closes spread over %v only, want most of the %v window", i+1, spread, drainWindow)
		}
	}
	for _, d := range devices {
		d.mu.Lock()
		if d.maxDown > maxDown {
			maxDown, worstDown = d.maxDown, d.id
		}
		prev := loadStart.Add(time.Second)
		for _, at := range d.arrivals {
			if at.Before(prev) || at.After(loadEnd) {
				continue
			}
			if gap := at.Sub(prev); gap > maxSilence {
				maxSilence, worstSilence = gap, d.id
			}
			prev = at
		}
		d.mu.Unlock()
	}
	t.Logf("longest time a device was without a socket (1012 to connected again): %v (%s)", maxDown.Round(time.Millisecond), worstDown)
	t.Logf("longest gap between two messages a device received under load: %v (%s)", maxSilence.Round(time.Millisecond), worstSilence)
	if acked < 300 {
		t.Errorf("only %d messages acked: the load did not run", acked)
	}
	if maxDown > 2*time.Second {
		t.Errorf("a device was without a socket for %v, want under 2 s", maxDown)
	}
	for _, p := range every { // a clean leave: nobody took a restarted node for dead
		if strings.Contains(p.all(), "presence: a node died") {
			t.Errorf("%s reaped a node as dead", p.name)
		}
	}
	for i := range nodes {
		if code, err := httpStatus(https[i] + "/ready"); err != nil || code != http.StatusOK {
			t.Errorf("node%d /ready at the end: %d %v", i+1, code, err)
		}
	}
}

func httpStatus(url string) (int, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
