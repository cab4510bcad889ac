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
