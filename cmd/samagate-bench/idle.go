package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/samagate/samagate/internal/procstat"
)

// idleConfig are the flags of the idle scenario.
type idleConfig struct {
	addr        string
	spawn       string
	pid         int
	conns       int
	users       int
	sources     string
	concurrency int
	hold        time.Duration
	timeout     time.Duration
}

// runIdle opens many authenticated sockets and reports the gateway's RSS
// growth per socket. Kernel socket buffers are not in RSS, so the figure is
// the gateway's own memory per idle authenticated connection.
func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c idleConfig
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9001", "gateway address (loopback only; it must run with --signup-throttle-address -1); ignored with -spawn")
	fs.StringVar(&c.spawn, "spawn", "", "path of a samagate binary to start on a free loopback port with a temp data dir")
	fs.IntVar(&c.pid, "pid", 0, "pid of the gateway to measure (not needed with -spawn)")
	fs.IntVar(&c.conns, "n", 15000, "connections to open")
	fs.IntVar(&c.users, "users", 300, "distinct users; the connections are spread over them (several tabs per device)")
	fs.StringVar(&c.sources, "sources", "127.0.0.1-127.0.0.9", "client source addresses")
	fs.IntVar(&c.concurrency, "concurrency", 64, "connections opened in parallel")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "how long to hold all connections before measuring")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound of the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.conns <= 0 || c.users <= 0 || c.concurrency <= 0 {
		return errors.New("-n, -users and -concurrency must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	srcs, err := sources(c.sources)
	if err != nil {
		return err
	}

	if c.spawn != "" {
		g, err := spawnGateway(ctx, c.spawn, stderr)
		if err != nil {
			return err
		}
		defer g.stop()
		c.addr, c.pid = g.addr, g.cmd.Process.Pid
	}
	if c.pid == 0 {
		return errors.New("need -pid or -spawn to measure the gateway's memory")
	}
	t, err := newTarget(c.addr)
	if err != nil {
		return err
	}

	start := time.Now()
	tokens, devices, err := prepareUsers(ctx, t, srcs[0], c.users)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "idle: %d users signed up and logged in in %s\n", c.users, time.Since(start).Round(time.Millisecond))
	before, err := settledRSS(c.pid)
	if err != nil {
		return err
	}

	dialers := make([]*dialer, len(srcs))
	for i, s := range srcs {
		dialers[i] = newDialer(s)
	}
	conns := make([]*websocket.Conn, c.conns)
	defer func() {
		for _, wc := range conns {
			if wc != nil {
				_ = wc.CloseNow()
			}
		}
	}()
	var opened atomic.Int64
	start = time.Now()
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(c.concurrency)
	for i := range c.conns {
		eg.Go(func() error {
			u := i % c.users
			wc, err := dialers[i%len(dialers)].wsDial(ectx, t)
			if err != nil {
				return err
			}
			conns[i] = wc
			if _, err := call(ectx, wc, "c", "connect", map[string]string{"token": tokens[u], "device_id": devices[u]}); err != nil {
				return fmt.Errorf("conn %d: %w", i, err)
			}
			// Answer the gateway's pings from here on; the socket stays idle.
			conns[i] = wc
			_ = wc.CloseRead(ctx)
			if n := opened.Add(1); n%5000 == 0 {
				fmt.Fprintf(stderr, "idle: %d connections open\n", n)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("open connections (%d open): %w", opened.Load(), err)
	}
	fmt.Fprintf(stderr, "idle: %d connections open and authenticated in %s; holding %s\n",
		c.conns, time.Since(start).Round(time.Millisecond), c.hold)
	select {
	case <-time.After(c.hold):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := settledRSS(c.pid)
	if err != nil {
		return err
	}
	per := float64(after-before) / float64(c.conns)
	fmt.Fprintf(stdout, "idle: conns=%d users=%d sources=%d rss_before=%d KiB rss_after=%d KiB per_conn=%.2f KiB\n",
		c.conns, c.users, len(srcs), before, after, per)
	return nil
}

// prepareUsers signs up n users over one websocket and logs each in over
// HTTP with its own device, returning the access tokens and device ids.
func prepareUsers(ctx context.Context, t target, src net.IP, n int) ([]string, []string, error) {
	d := newDialer(src)
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	tokens, devices := make([]string, n), make([]string, n)
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(4)
	for w := range 4 {
		eg.Go(func() error {
			wc, err := d.wsDial(ectx, t)
			if err != nil {
				return err
			}
			defer wc.CloseNow()
			for i := w; i < n; i += 4 {
				login := fmt.Sprintf("bench_%s_%d", run, i)
				if _, err := call(ectx, wc, "u"+strconv.Itoa(i), "user_create",
					map[string]string{"login": login, "password": "bench-password"}); err != nil {
					return err
				}
				dev := "bench-device-" + strconv.Itoa(i)
				tok, err := login2(ectx, d.client, t, login, dev)
				if err != nil {
					return err
				}
				mu.Lock()
				tokens[i], devices[i] = tok, dev
				mu.Unlock()
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	return tokens, devices, nil
}

func login2(ctx context.Context, hc *http.Client, t target, name, dev string) (string, error) {
	return login(ctx, hc, t, name, "bench-password", dev)
}

// settledRSS asks the gateway to collect garbage and return free memory to
// the OS (SIGUSR1, handled by samagate), waits, and reads its RSS, so that
// both readings count live memory rather than garbage awaiting collection.
func settledRSS(pid int) (int64, error) {
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return 0, fmt.Errorf("signal gateway: %w", err)
	}
	time.Sleep(2 * time.Second)
	return rssKiB(pid)
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(pid int) (int64, error) {
	n, err := procstat.RSS(pid)
	return n >> 10, err
}

// spawned is a gateway process started by the bench.
type spawned struct {
	cmd  *exec.Cmd
	addr string
	dir  string
}

// spawnGateway starts bin on a free loopback port with a temp data dir and
// waits for /health. The bench signs up every user from one address and
// opens thousands of sockets per source address, so the per-address
// sign-up limit and socket cap are off on the spawned gateway.
func spawnGateway(ctx context.Context, bin string, stderr io.Writer) (*spawned, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	dir, err := os.MkdirTemp("", "samagate-bench-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--addr", addr, "--data-dir", dir, "--log-level", "warn", "--insecure-cookie",
		"--signup-throttle-address", "-1", "--max-sockets-per-address", "-1")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	g := &spawned{cmd: cmd, addr: addr, dir: dir}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.stop()
			return nil, fmt.Errorf("gateway at %s did not become healthy", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the spawned gateway gracefully (bounded) and removes its data.
func (g *spawned) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
	_ = os.RemoveAll(g.dir)
}
