package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/samagate/samagate/internal/testenv"
)

// TestChannelScenario runs the channel scenario, small, against gateways
// built from this tree: every subscriber gets every post, on one node
// (SQLite) and across two (PostgreSQL + Redis) when make test provides
// them.
func TestChannelScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "samagate")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/samagate/samagate/cmd/samagate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	check := func(t *testing.T, r channelResult, nodes int) {
		t.Helper()
		if r.Scenario != "channel" || r.Nodes != nodes || r.Subscribers != 5 || r.Post != 1 || r.Delivered != 5 {
			t.Fatalf("channel line %+v", r)
		}
		if r.LastMs <= 0 || r.P50Ms > r.LastMs || r.AskMs <= 0 || r.RSSBeforeKiB == 0 || r.RSSPeakKiB < r.RSSBeforeKiB {
			t.Fatalf("figures of %+v", r)
		}
	}
	common := []string{"channel", "-spawn", bin, "-gateway-args", "--hash-memory-kib=64 --hash-time=1",
		"-subscribers", "5", "-posts", "2", "-gap", "100ms", "-wait", "10s"}
	t.Run("one node", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "one.jsonl")
		check(t, runScenario[channelResult](t, append(common, "-out", out), out), 1)
	})
	t.Run("two nodes", func(t *testing.T) {
		redis := testenv.Lookup(t, testenv.RedisEnv)
		db := testenv.Database(t)
		out := filepath.Join(t.TempDir(), "two.jsonl")
		args := append(common, "-nodes", "2", "-database-url", db, "-redis-url", redis, "-out", out)
		check(t, runScenario[channelResult](t, args, out), 2)
	})
}
