package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/internal/testenv"
)

// TestScenariosAgainstAGateway runs fanout and connect, small and short,
// against gateways built from this tree, so the tool cannot rot: on one
// node (SQLite), and on two nodes (PostgreSQL + Redis) when make test
// provides them.
func TestScenariosAgainstAGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "samagate")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/samagate/samagate/cmd/samagate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	jsonl := filepath.Join(dir, "out.jsonl")
	// fanout saves the fixture and the gateway's data; connect reuses both.
	common := []string{"-spawn", bin, "-data-dir", filepath.Join(dir, "data"), "-fixture", filepath.Join(dir, "fixture.json"),
		"-out", jsonl, "-label", "e2e", "-rev", "test"}

	t.Run("fanout", func(t *testing.T) {
		args := append([]string{"fanout", "-groups", "3", "-members", "4", "-rates", "300",
			"-warmup", "500ms", "-window", "1500ms", "-drain", "3s"}, common...)
		r := runScenario[fanoutResult](t, args, jsonl)
		checkFanout(t, r, 1)
	})
	t.Run("connect", func(t *testing.T) {
		args := append([]string{"connect", "-users", "3", "-dialers", "4", "-warmup", "300ms", "-window", "1500ms"}, common...)
		r := runScenario[connectResult](t, args, jsonl)
		// Errors are tolerated up to 1%: while sockets are closed at this
		// pace the gateway, rarely, closes a new one during its upgrade.
		if r.Scenario != "connect" || r.Connects == 0 || r.Errors*100 > r.Connects || r.ConnectsPerS <= 0 || r.ConnectP50Ms <= 0 {
			t.Fatalf("connect line %+v", r)
		}
		if r.ServerCPUPer1000S == nil || r.ServerRSSKiB == 0 {
			t.Fatalf("no server figures in %+v", r)
		}
	})
	t.Run("fanout on two nodes", func(t *testing.T) {
		redis := testenv.Lookup(t, testenv.RedisEnv)
		db := testenv.Database(t)
		out := filepath.Join(t.TempDir(), "two.jsonl")
		args := []string{"fanout", "-spawn", bin, "-nodes", "2", "-database-url", db, "-redis-url", redis,
			"-groups", "2", "-members", "3", "-rates", "150", "-warmup", "500ms", "-window", "1500ms", "-drain", "3s", "-out", out}
		r := runScenario[fanoutResult](t, args, out)
		checkFanout(t, r, 2)
	})
}

// runScenario runs the bench with args and returns the last JSON line of
// jsonl.
func runScenario[T any](t *testing.T, args []string, jsonl string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", args[0], err, &stdout, &stderr)
	}
	t.Logf("%s:\n%s", args[0], &stdout)
	data, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var r T
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkFanout: everything sent in the window was acked and delivered to
// every other member, with plausible figures.
func checkFanout(t *testing.T, r fanoutResult, nodes int) {
	t.Helper()
	if r.Scenario != "fanout" || r.Nodes != nodes || r.MessagesSent == 0 || r.AchievedDeliveriesPerS <= 0 {
		t.Fatalf("fanout line %+v", r)
	}
	if r.DeliveriesExpected != r.MessagesSent*int64(r.Members-1) || r.DeliveriesMissing != 0 ||
		r.DeliveriesInWindow+r.DeliveriesLate != r.DeliveriesExpected {
		t.Fatalf("deliveries: expected %d, in window %d, late %d, missing %d",
			r.DeliveriesExpected, r.DeliveriesInWindow, r.DeliveriesLate, r.DeliveriesMissing)
	}
	if r.AckErrors != 0 || r.Unacked != 0 || r.AckedPerS <= 0 || r.SocketsClosed != 0 || r.OtherErrors != 0 {
		t.Fatalf("asks or sockets: %+v", r)
	}
	if r.DeliveryP50Ms <= 0 || r.DeliveryP99Ms < r.DeliveryP50Ms || r.DeliveryMaxMs < r.DeliveryP99Ms {
		t.Fatalf("latencies p50 %v p99 %v max %v", r.DeliveryP50Ms, r.DeliveryP99Ms, r.DeliveryMaxMs)
	}
	if r.ServerCPUPct == nil || r.ServerRSSKiB == 0 || r.ClientCPUPct <= 0 {
		t.Fatalf("no resource figures in %+v", r)
	}
}
