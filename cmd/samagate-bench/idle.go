package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
		nf := nodeFlags{spawn: c.spawn, nodes: 1}
		g, err := nf.start(ctx, []string{"--signup-throttle-address=-1", "--max-sockets-per-address=-1"}, stderr)
		if err != nil {
			return err
		}
		defer g.stop()
		c.addr, c.pid = g.addrs[0], g.pids[0]
	}
	if c.pid == 0 {
		return errors.New("need -pid or -spawn to measure the gateway's memory")
	}
	t, err := newTarget(c.addr)
	if err != nil {
		return err
	}

	fx, err := ensureFixture(ctx, "", c.addr, srcs[0], c.users, 0, 0, stderr)
	if err != nil {
		return err
	}
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
	start := time.Now()
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
			if _, err := call(ectx, wc, "c", "connect", map[string]string{"token": fx.Users[u].Token, "device_id": fx.Users[u].Device}); err != nil {
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
