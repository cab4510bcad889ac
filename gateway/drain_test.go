package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
)

// TestDrainSpreadsCloses: Close turns the node not-ready and refuses new
// websockets at once, while the sockets it has keep working until each is
// closed with 1012 at its own moment, spread over the drain window.
func TestDrainSpreadsCloses(t *testing.T) {
	const window = 1500 * time.Millisecond
	n := startNode(t, func(c *app.Config) { c.Gateway.DrainWindow = window })
	if code, rep := n.ready(t); code != http.StatusOK || rep["status"] != "ready" || rep["store"] != "ok" {
		t.Fatalf("GET /ready before the drain: got %d %v, want 200 ready", code, rep)
	}
	a := n.signUp(t, "alice")
	const sockets = 20
	clients := []*client{n.connected(t, a, "d0")}
	for range sockets - 1 {
		clients = append(clients, n.dial(t))
	}
	waitFor(t, "the sockets", func() bool { return n.app.Online() == sockets })

	closedAt := make([]time.Time, sockets)
	codes := make([]websocket.StatusCode, sockets)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for {
				if _, _, err := c.c.Read(ctx); err != nil {
					closedAt[i], codes[i] = time.Now(), websocket.CloseStatus(err)
					return
				}
			}
		})
	}
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- n.app.Close() }()

	time.Sleep(100 * time.Millisecond)
	if code, rep := n.ready(t); code != http.StatusServiceUnavailable || rep["status"] != "draining" {
		t.Errorf("GET /ready while draining: got %d %v, want 503 draining", code, rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, resp, err := websocket.Dial(ctx, n.ws, &websocket.DialOptions{HTTPClient: n.wsHTTP}); err == nil {
		_ = c.CloseNow()
		t.Error("a websocket was accepted while draining")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("upgrade while draining: got %v, want HTTP 503", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()

	var offsets []time.Duration
	for i := range clients {
		if codes[i] != websocket.StatusServiceRestart {
			t.Errorf("socket %d closed with %d, want 1012", i, codes[i])
		}
		offsets = append(offsets, closedAt[i].Sub(start))
	}
	slices.Sort(offsets)
	spread := offsets[len(offsets)-1] - offsets[0]
	t.Logf("%d sockets closed from %v to %v after Close began (window %v)", sockets,
		offsets[0].Round(time.Millisecond), offsets[len(offsets)-1].Round(time.Millisecond), window)
	if spread < window/2 || offsets[len(offsets)-1] > window+time.Second {
		t.Errorf("closes spread over %v, ending %v after the start; want most of the %v window and no later than 1 s after it",
			spread, offsets[len(offsets)-1], window)
	}
	// Even, not bunched: no tenth of the window holds a third of them.
	for i := range offsets {
		j := i
		for j < len(offsets) && offsets[j]-offsets[i] < window/10 {
			j++
		}
		if j-i > sockets/3 {
			t.Errorf("%d of %d closes within %v from %v", j-i, sockets, window/10, offsets[i])
			break
		}
	}
}

// ready asks GET /ready and decodes its JSON body.
func (n *node) ready(t testing.TB) (int, map[string]any) {
	t.Helper()
	resp, err := n.http.Get(n.base + "/ready")
	if err != nil {
		t.Fatalf("GET /ready: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("GET /ready: %d %q is not JSON", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /ready: Content-Type %q", ct)
	}
	return resp.StatusCode, rep
}
