package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as a process may choose.
	stat := []byte("4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 12345 0 0")
	if got, err := parseStatCPU(stat); err != nil || got != 325 {
		t.Fatalf("parseStatCPU = %d, %v; want 325", got, err)
	}
	if ppid, ok := parseStatPPID(stat); !ok || ppid != 17 {
		t.Fatalf("parseStatPPID = %d, %v; want 17", ppid, ok)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q) gave no error", bad)
		}
	}
}

// TestCPUMeter: this process's CPU grows while it spins, and a child shows
// up in its tree.
func TestCPUMeter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	child := exec.CommandContext(ctx, "sleep", "5")
	if err := child.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	if tree := processTrees([]int{os.Getpid()}); !slices.Contains(tree, child.Process.Pid) || tree[0] != os.Getpid() {
		t.Fatalf("tree of %d is %v, want it with child %d", os.Getpid(), tree, child.Process.Pid)
	}
	m := cpuMeter{pids: []int{os.Getpid()}, aux: []int{os.Getpid()}, tck: clockTicks(ctx)}
	// Spin until this process has used 300 ms of CPU by its own count
	// (however long that takes on a busy box), then the /proc figures
	// must show it too.
	a := m.read()
	d := a.to(m.read())
	for deadline := time.Now().Add(20 * time.Second); d.client < 300*time.Millisecond; d = a.to(m.read()) {
		if time.Now().After(deadline) {
			t.Fatalf("300 ms of CPU not reached in 20 s of spinning: %+v", d)
		}
		for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
		}
	}
	if !d.serverKnown || !d.auxKnown || d.server < 200*time.Millisecond || d.aux < 200*time.Millisecond {
		t.Fatalf("after 300 ms of CPU: %+v", d)
	}
	if p := pct(d.client, d.wall); p > 250 {
		t.Fatalf("spinning shows as %.0f%% of a core", p)
	}
	if (cpuMeter{tck: 100}).read().server != -1 {
		t.Fatal("no pids should read as unknown")
	}
}
