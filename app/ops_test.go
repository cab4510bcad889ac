package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/auth"
)

// nbio starts pool goroutines at package init; IgnoreCurrent skips those.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDebugAddr: --debug-addr serves the Go profiles on its own listener
// only (never on the public port), is off by default, and stops with the
// node.
func TestDebugAddr(t *testing.T) {
	start := func(debug string) *app.App {
		cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), DebugAddr: debug}
		cfg.Auth.Hash = auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
		a := app.New(cfg, zerolog.New(io.Discard))
		if err := a.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return a
	}
	off := start("")
	if off.DebugAddr() != nil {
		t.Fatalf("debug listener without --debug-addr: %v", off.DebugAddr())
	}
	if _, body := get(t, "http://"+off.Addr().String()+"/debug/pprof/"); strings.Contains(body, "goroutine") {
		t.Fatal("the public port serves the profiles")
	}
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}

	on := start("127.0.0.1:0")
	base := "http://" + on.DebugAddr().String()
	status, body := get(t, base+"/debug/pprof/")
	if status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("profile index: %d %.200q", status, body)
	}
	if status, body := get(t, base+"/debug/pprof/goroutine?debug=1"); status != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200q", status, body)
	}
	if _, body := get(t, "http://"+on.Addr().String()+"/debug/pprof/"); strings.Contains(body, "goroutine") {
		t.Fatal("the public port serves the profiles")
	}
	if err := on.Close(); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get(base + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		t.Fatal("the debug listener still answers after Close")
	}
}

// TestMetricsAddr: --metrics-addr serves Prometheus metrics on its own
// listener only, is off by default, and shares the debug listener when
// both name the same address.
func TestMetricsAddr(t *testing.T) {
	start := func(metrics, debug string) *app.App {
		cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), MetricsAddr: metrics, DebugAddr: debug}
		cfg.Auth.Hash = auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}
		a := app.New(cfg, zerolog.New(io.Discard))
		if err := a.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		return a
	}
	off := start("", "")
	if off.MetricsAddr() != nil {
		t.Fatalf("metrics listener without --metrics-addr: %v", off.MetricsAddr())
	}
	if _, body := get(t, "http://"+off.Addr().String()+"/metrics"); strings.Contains(body, "samagate_") {
		t.Fatal("the public port serves the metrics")
	}

	on := start("127.0.0.1:0", "")
	status, body := get(t, "http://"+on.MetricsAddr().String()+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, "samagate_build_info{") || !strings.Contains(body, `samagate_sockets{state="bound"} 0`) {
		t.Fatalf("metrics: %d %.300q", status, body)
	}
	if _, body := get(t, "http://"+on.Addr().String()+"/metrics"); strings.Contains(body, "samagate_") {
		t.Fatal("the public port serves the metrics")
	}
	if on.DebugAddr() != nil {
		t.Fatal("a debug listener without --debug-addr")
	}

	both := start("127.0.0.1:0", "127.0.0.1:0")
	if both.MetricsAddr().String() != both.DebugAddr().String() {
		t.Fatalf("one address, two listeners: %v and %v", both.MetricsAddr(), both.DebugAddr())
	}
	base := "http://" + both.MetricsAddr().String()
	if status, body := get(t, base+"/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("shared listener, metrics: %d", status)
	}
	if status, body := get(t, base+"/debug/pprof/"); status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("shared listener, profiles: %d", status)
	}
}
