package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nodeFlags are the flags of a scenario that drives one or several
// gateways: spawned by the bench, or already running.
type nodeFlags struct {
	spawn       string
	nodes       int
	databaseURL string
	redisURL    string
	dataDir     string
	gatewayArgs string
	addrs       string
	pids        string
	auxPids     string
}

// register adds the flags to fs.
func (f *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.spawn, "spawn", "", "samagate binary to start on free loopback ports (abuse limits off); empty: use -addrs")
	fs.IntVar(&f.nodes, "nodes", 1, "gateways to spawn; more than 1 needs -database-url and -redis-url")
	fs.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL URL passed to every spawned gateway (--database-url)")
	fs.StringVar(&f.redisURL, "redis-url", "", "Redis URL passed to every spawned gateway (--redis-url)")
	fs.StringVar(&f.dataDir, "data-dir", "", "spawned node i keeps its data in <dir>/node<i> (reused if present, kept at the end); empty: temp dirs, removed")
	fs.StringVar(&f.gatewayArgs, "gateway-args", "", "more flags for every spawned gateway, space-separated")
	fs.StringVar(&f.addrs, "addrs", "127.0.0.1:9001", "running gateways to target, comma-separated (loopback only); ignored with -spawn")
	fs.StringVar(&f.pids, "pids", "", "their pids, comma-separated in the same order, for CPU and memory figures; ignored with -spawn")
	fs.StringVar(&f.auxPids, "aux-pids", "", "pids of other processes on the box (PostgreSQL's postmaster, Redis), comma-separated; their CPU, with their children's, is reported apart")
}

// aux parses -aux-pids.
func (f nodeFlags) aux() ([]int, error) { return parsePids("-aux-pids", f.auxPids) }

// parsePids parses a comma-separated list of pids (empty: none).
func parsePids(flagName, list string) ([]int, error) {
	if list == "" {
		return nil, nil
	}
	var out []int
	for _, p := range strings.Split(list, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("%s: bad pid %q", flagName, p)
		}
		out = append(out, pid)
	}
	return out, nil
}

// unthrottled are the gateway flags that take the abuse limits out of a
// load run's way: the bench signs up thousands of users and opens
// thousands of sockets from a few addresses, and publishes as fast as
// asked.
func unthrottled() []string {
	return []string{
		"--signup-throttle-address=-1", "--max-sockets-per-address=-1", "--max-sockets-per-user=-1",
		"--socket-rate=off", "--user-rate=off", "--user-message-rate=off",
		"--max-inflight-frames=-1", "--max-inflight-bytes=-1",
		"--access-ttl=24h", // a prepared fixture outlives a long series of runs
	}
}

// cluster is the gateways under test.
type cluster struct {
	addrs []string
	pids  []int // empty when not known (-addrs without -pids)
	procs []*spawned
}

// stop ends the spawned gateways.
func (c *cluster) stop() {
	for _, p := range c.procs {
		p.stop()
	}
}

// start spawns the gateways (tuning: flags as --name=value, each passed
// only if the binary has it, so an older revision still runs) or checks
// the addresses of running ones.
func (f nodeFlags) start(ctx context.Context, tuning []string, stderr io.Writer) (*cluster, error) {
	if f.spawn == "" {
		return f.attach()
	}
	if f.nodes < 1 {
		return nil, errors.New("-nodes must be at least 1")
	}
	if f.nodes > 1 && (f.databaseURL == "" || f.redisURL == "") {
		return nil, errors.New("-nodes > 1 needs -database-url and -redis-url")
	}
	known, err := binaryFlags(ctx, f.spawn)
	if err != nil {
		return nil, err
	}
	base := []string{"--log-level=warn", "--insecure-cookie"}
	if f.databaseURL != "" {
		base = append(base, "--database-url="+f.databaseURL)
	}
	if f.redisURL != "" {
		base = append(base, "--redis-url="+f.redisURL)
	}
	args, dropped := supported(append(base, tuning...), known)
	if len(dropped) > 0 {
		fmt.Fprintf(stderr, "bench: %s has no %s; not passed\n", f.spawn, strings.Join(dropped, ", "))
	}
	args = append(args, strings.Fields(f.gatewayArgs)...)
	run := randomHex(3)
	c := &cluster{}
	for i := range f.nodes {
		nodeArgs := args
		if f.redisURL != "" {
			nodeArgs = append(nodeArgs[:len(nodeArgs):len(nodeArgs)], fmt.Sprintf("--node-id=bench%d-%s", i+1, run))
		}
		dir := ""
		if f.dataDir != "" {
			dir = filepath.Join(f.dataDir, fmt.Sprintf("node%d", i+1))
		}
		p, err := spawnGateway(ctx, f.spawn, dir, nodeArgs, stderr)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, p)
		c.addrs = append(c.addrs, p.addr)
		c.pids = append(c.pids, p.cmd.Process.Pid)
	}
	return c, nil
}

// attach checks -addrs and -pids of running gateways.
func (f nodeFlags) attach() (*cluster, error) {
	c := &cluster{}
	for _, a := range strings.Split(f.addrs, ",") {
		a = strings.TrimSpace(a)
		if _, err := newTarget(a); err != nil {
			return nil, err
		}
		c.addrs = append(c.addrs, a)
	}
	pids, err := parsePids("-pids", f.pids)
	if err != nil || len(pids) == 0 {
		return c, err
	}
	c.pids = pids
	if len(c.pids) != len(c.addrs) {
		return nil, fmt.Errorf("-pids has %d pids for %d -addrs", len(c.pids), len(c.addrs))
	}
	return c, nil
}

// binaryFlags lists the flags bin's --help shows: samagate's format
// ("  --name (ENV, default ...)") or the flag package's ("  -name value").
func binaryFlags(ctx context.Context, bin string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput() // exit status 0 or 2 by version
	flagName := regexp.MustCompile(`(?m)^\s+--?([a-z0-9][a-z0-9-]*)`)
	known := map[string]bool{}
	for _, m := range flagName.FindAllSubmatch(out, -1) {
		known[string(m[1])] = true
	}
	if !known["addr"] {
		return nil, fmt.Errorf("%s --help lists no --addr flag: not a samagate binary?", bin)
	}
	return known, nil
}

// supported keeps the flags of args (--name or --name=value) that are
// known and names the dropped ones.
func supported(args []string, known map[string]bool) (kept, dropped []string) {
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if known[name] {
			kept = append(kept, a)
		} else {
			dropped = append(dropped, "--"+name)
		}
	}
	return kept, dropped
}

// randomHex is n random bytes in hex, to tell one run's node ids from
// another's on a shared Redis.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// spawned is a gateway process started by the bench.
type spawned struct {
	cmd     *exec.Cmd
	addr    string
	dir     string
	tempDir bool
	done    chan struct{}
}

// spawnGateway starts bin on a free loopback port with data in dir (a
// temp dir when empty) and waits for /health.
func spawnGateway(ctx context.Context, bin, dir string, args []string, stderr io.Writer) (*spawned, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	temp := dir == ""
	if temp {
		if dir, err = os.MkdirTemp("", "samagate-bench-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--addr", addr, "--data-dir", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		if temp {
			_ = os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	g := &spawned{cmd: cmd, addr: addr, dir: dir, tempDir: temp, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(g.done) }()
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		select {
		case <-g.done:
			g.stop()
			return nil, fmt.Errorf("gateway %s exited before it was healthy", bin)
		case <-ctx.Done():
			g.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("gateway at %s did not become healthy", addr)
		}
	}
}

// stop ends the spawned gateway gracefully (bounded) and removes its data
// if it was a temp dir.
func (g *spawned) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
	if g.tempDir {
		_ = os.RemoveAll(g.dir)
	}
}
