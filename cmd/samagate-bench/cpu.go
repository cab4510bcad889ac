package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the kernel's clock ticks per second (getconf CLK_TCK), the
// unit of utime and stime in /proc/<pid>/stat; 100 on Linux if getconf is
// missing.
func clockTicks(ctx context.Context) int64 {
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

// procCPUTicks is utime+stime of process pid, in clock ticks.
func procCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("read cpu: no command in %.40q", stat)
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("read cpu: %d fields after the command", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("read cpu: utime %q stime %q", f[11], f[12])
	}
	return utime + stime, nil
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reads the CPU time of the gateway processes, of auxiliary
// processes (PostgreSQL, Redis: each with its descendants, as PostgreSQL
// runs a process per connection) and of the bench, so a window's figures
// are differences of two readings.
type cpuMeter struct {
	pids []int
	aux  []int
	tck  int64
}

// cpuReading is one reading of a cpuMeter.
type cpuReading struct {
	at     time.Time
	server time.Duration // summed over the pids; -1 if a pid could not be read
	aux    time.Duration // summed over the aux trees; -1 if none or unreadable
	client time.Duration
}

// read takes one reading.
func (m cpuMeter) read() cpuReading {
	r := cpuReading{at: time.Now(), client: selfCPU(), server: m.sum(m.pids), aux: -1}
	if len(m.aux) > 0 {
		r.aux = m.sum(processTrees(m.aux))
	}
	return r
}

// sum is the CPU time of pids, -1 if there are none or one is unreadable.
func (m cpuMeter) sum(pids []int) time.Duration {
	if len(pids) == 0 {
		return -1
	}
	var ticks int64
	for _, pid := range pids {
		t, err := procCPUTicks(pid)
		if err != nil {
			return -1
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / time.Duration(m.tck)
}

// processTrees lists roots and their live descendants (a process that
// ended between two readings takes its CPU time with it: the aux figure is
// a lower bound when connections come and go).
func processTrees(roots []int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return roots
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if ppid, ok := parseStatPPID(b); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	seen := map[int]bool{}
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// parseStatPPID reads the parent pid (field 4) of a /proc/<pid>/stat line.
func parseStatPPID(stat []byte) (int, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// cpuDelta is what the processes used between two readings.
type cpuDelta struct {
	wall, server, aux, client time.Duration
	serverKnown, auxKnown     bool
}

// to is the CPU used from reading a to reading b.
func (a cpuReading) to(b cpuReading) cpuDelta {
	return cpuDelta{wall: b.at.Sub(a.at), server: b.server - a.server, aux: b.aux - a.aux, client: b.client - a.client,
		serverKnown: a.server >= 0 && b.server >= 0, auxKnown: a.aux >= 0 && b.aux >= 0}
}

// pct is cpu as a percentage of one core over wall time (200% is both
// cores of a 2-core box).
func pct(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / wall.Seconds()
}

// rssSumKiB is the summed resident memory of pids (0 if one is unreadable).
func rssSumKiB(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		n, err := rssKiB(pid)
		if err != nil {
			return 0
		}
		sum += n
	}
	return sum
}

// startCPUProfile profiles this process into path until the returned
// function is called, to see what the client spends per delivery.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
