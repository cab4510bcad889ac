package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// readyState is GET /ready's status code and JSON body.
type readyState struct {
	code int
	body struct {
		Status string `json:"status"`
		Store  string `json:"store"`
		Redis  string `json:"redis"`
		Node   string `json:"node"`
	}
	raw string
}

func getReady(base string) (readyState, error) {
	var s readyState
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(base + "/ready")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return s, err
	}
	s.code, s.raw = resp.StatusCode, string(b)
	return s, json.Unmarshal(b, &s.body)
}

// waitReady polls GET /ready until it answers code with the status, at
// most within, and returns that answer and how long it took.
func waitReady(t *testing.T, base string, code int, status string, within time.Duration) (readyState, time.Duration) {
	t.Helper()
	start := time.Now()
	var last readyState
	var lastErr error
	for time.Since(start) < within {
		last, lastErr = getReady(base)
		if lastErr == nil && last.code == code && last.body.Status == status {
			return last, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET /ready: no %d %q within %v; last %d %s (%v)", code, status, within, last.code, last.raw, lastErr)
	return last, 0
}

// TestReadiness runs one node of a cluster on a PostgreSQL and a Redis the
// test owns. GET /ready is 503 while PostgreSQL is stopped and 200 after it
// comes back, the same for Redis, while GET /health (liveness) stays 200;
// on SIGTERM it is 503 "draining" at once, new websockets are refused with
// 503 while the open one keeps working until it gets 1012, and the process
// exits 0.
func TestReadiness(t *testing.T) {
	bin := samagateBinary(t)
	dir := t.TempDir()
	pg := startPostgres(t)
	rs := startRedis(t, dir)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	base := "http://" + addr
	p := startProc(t, dir, "node1", bin, "--addr", addr, "--data-dir", dir, "--database-url", pg.url(),
		"--redis-url", "redis://"+rs.addr(), "--node-id", "node1", "--log-format", "json",
		"--drain-window", "2s", "--shutdown-timeout", "5s")
	waitHTTP(t, p, base+"/health")
	s, _ := waitReady(t, base, http.StatusOK, "ready", 10*time.Second)
	if s.body.Store != "ok" || s.body.Redis != "ok" || s.body.Node != "node1" {
		t.Fatalf("ready: got %s", s.raw)
	}

	pg.stop()
	s, took := waitReady(t, base, http.StatusServiceUnavailable, "unavailable", 10*time.Second)
	if s.body.Store != "unreachable" || s.body.Redis != "ok" {
		t.Errorf("PostgreSQL stopped: got %s, want store unreachable, redis ok", s.raw)
	}
	t.Logf("PostgreSQL stopped: 503 after %v: %s", took.Round(10*time.Millisecond), s.raw)
	waitHTTP(t, p, base+"/health") // liveness is not readiness
	pg.start()
	_, took = waitReady(t, base, http.StatusOK, "ready", 10*time.Second)
	t.Logf("PostgreSQL started again: 200 after %v", took.Round(10*time.Millisecond))

	redisBin := rs.p.cmd.Path
	rs.p.kill()
	s, took = waitReady(t, base, http.StatusServiceUnavailable, "unavailable", 10*time.Second)
	if s.body.Redis != "unreachable" || s.body.Store != "ok" {
		t.Errorf("Redis down: got %s, want redis unreachable, store ok", s.raw)
	}
	t.Logf("Redis down: 503 after %v: %s", took.Round(10*time.Millisecond), s.raw)
	rs.start(redisBin)
	_, took = waitReady(t, base, http.StatusOK, "ready", 10*time.Second)
	t.Logf("Redis started again: 200 after %v", took.Round(10*time.Millisecond))

	// Drain: an open socket, then SIGTERM.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()
	exited := make(chan int, 1)
	sigterm := time.Now()
	go func() { exited <- p.terminate(t, 15*time.Second) }()
	s, took = waitReady(t, base, http.StatusServiceUnavailable, "draining", 2*time.Second)
	t.Logf("SIGTERM: 503 after %v: %s", took.Round(10*time.Millisecond), s.raw)
	if nc, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", nil); err == nil {
		_ = nc.CloseNow()
		t.Error("a websocket was accepted while draining")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("upgrade while draining: got %v, want HTTP 503", err)
	}
	err = <-closed
	if code := websocket.CloseStatus(err); code != websocket.StatusServiceRestart {
		t.Errorf("open socket: got %v, want close 1012", err)
	}
	t.Logf("open socket closed with 1012 %v after SIGTERM (drain window 2s)", time.Since(sigterm).Round(10*time.Millisecond))
	if code := <-exited; code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; log:\n%s", code, p.tail())
	}
}
