package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// connectConfig are the flags of the connect scenario.
type connectConfig struct {
	nodes   nodeFlags
	users   int
	dialers int
	keep    bool
	maxOpen int
	warmup  time.Duration
	window  time.Duration
	sources string
	fixture string
	prepare bool
	label   string
	rev     string
	out     string
	timeout time.Duration
}

// runConnect measures what opening an authenticated socket costs: dialers
// each open a websocket, send connect with a prepared user's token, wait
// for the success reply, close it (or keep it with -keep) and start over.
func runConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c connectConfig
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.nodes.register(fs)
	fs.IntVar(&c.users, "users", 200, "prepared users (signed up and logged in first); connects take their tokens in turn")
	fs.IntVar(&c.dialers, "dialers", 200, "connections being opened at any time")
	fs.BoolVar(&c.keep, "keep", false, "keep each socket open until the window ends (default: close it after its connect reply)")
	fs.IntVar(&c.maxOpen, "max-open", 15000, "with -keep, stop when this many sockets are held (the process has about 20,000 fds)")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "connects before the measured window")
	fs.DurationVar(&c.window, "window", 20*time.Second, "measured window")
	fs.StringVar(&c.sources, "sources", "127.0.0.1-127.0.0.9", "client source addresses")
	fs.StringVar(&c.fixture, "fixture", "", "users file: used if present (the gateway must have that database), else prepared and saved")
	fs.BoolVar(&c.prepare, "prepare-only", false, "prepare (and save -fixture), then stop")
	fs.StringVar(&c.label, "label", "", "label of the JSON line")
	fs.StringVar(&c.rev, "rev", "", "git revision of the gateway, recorded in the JSON line")
	fs.StringVar(&c.out, "out", "", "append the JSON line to this file")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "bound of the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.users < 1 || c.dialers < 1 || c.window <= 0 || c.maxOpen < 1 {
		return errors.New("need -users, -dialers, -max-open >= 1 and -window > 0")
	}
	need := c.dialers + 256
	if c.keep {
		need += c.maxOpen
	}
	if err := checkFDs(need); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	srcs, err := sources(c.sources)
	if err != nil {
		return err
	}
	cl, err := c.nodes.start(ctx, unthrottled(), stderr)
	if err != nil {
		return err
	}
	defer cl.stop()
	fx, err := ensureFixture(ctx, c.fixture, cl.addrs[0], srcs[0], c.users, 0, 0, stderr)
	if err != nil || c.prepare {
		return err
	}
	if len(cl.pids) == 0 {
		fmt.Fprintln(stderr, "connect: no -pids: server CPU and memory are not reported")
	}
	aux, err := c.nodes.aux()
	if err != nil {
		return err
	}
	r, err := measureConnects(ctx, c, fx.Users[:c.users], cl, srcs, cpuMeter{pids: cl.pids, aux: aux, tck: clockTicks(ctx)}, stderr)
	if err != nil {
		return err
	}
	r.runInfo = newRunInfo("connect", c.label, c.rev, len(cl.addrs))
	printConnect(stdout, r)
	return appendJSONLine(c.out, r)
}

// connectRun is the shared state of the dialers.
type connectRun struct {
	frames   [][]byte // the connect request of each user
	addrs    []string
	srcs     []net.IP
	next     atomic.Int64
	measured atomic.Bool
	connects atomic.Int64
	errors   atomic.Int64
	open     hist // dial to connect reply
	request  hist // connect request to reply
	keep     bool
	maxOpen  int64
	capped   chan struct{}
	capOnce  sync.Once

	mu   sync.Mutex
	held []*wsConn // guarded by mu

	stderr    io.Writer
	errLogged atomic.Int64
}

// measureConnects runs the dialers through the warm-up and the window and
// reads the figures; held sockets are closed when it returns.
func measureConnects(ctx context.Context, c connectConfig, users []fixtureUser, cl *cluster, srcs []net.IP, m cpuMeter, stderr io.Writer) (connectResult, error) {
	cr := &connectRun{addrs: cl.addrs, srcs: srcs, keep: c.keep, maxOpen: int64(c.maxOpen), capped: make(chan struct{}), stderr: stderr}
	for _, u := range users {
		cr.frames = append(cr.frames, []byte(`{"request":{"connect":{"token":`+strconv.Quote(u.Token)+
			`,"device_id":`+strconv.Quote(u.Device)+`},"id":"c"}}`))
	}
	dctx, stopDialers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range c.dialers {
		wg.Go(func() { cr.dial(dctx) })
	}
	defer func() {
		stopDialers()
		wg.Wait()
		for _, w := range cr.held {
			w.close()
		}
	}()
	if err := sleepCtx(ctx, c.warmup); err != nil {
		return connectResult{}, err
	}
	cr.measured.Store(true)
	r0 := m.read()
	capped := false
	select {
	case <-ctx.Done():
		return connectResult{}, ctx.Err()
	case <-time.After(c.window):
	case <-cr.capped:
		capped = true
		fmt.Fprintf(stderr, "connect: %d sockets held (-max-open): the window ends early\n", c.maxOpen)
	}
	cr.measured.Store(false)
	r1 := m.read()
	rss := rssSumKiB(m.pids)
	cr.mu.Lock()
	held := int64(len(cr.held))
	cr.mu.Unlock()

	d := r0.to(r1)
	n := cr.connects.Load()
	per1000 := func(cpu time.Duration) float64 {
		if n == 0 {
			return 0
		}
		return cpu.Seconds() / float64(n) * 1000
	}
	return connectResult{
		Dialers: c.dialers, Users: len(users), Keep: c.keep,
		WarmupS: c.warmup.Seconds(), WindowS: round(d.wall.Seconds()),
		Connects: n, ConnectsPerS: round(float64(n) / d.wall.Seconds()), Errors: cr.errors.Load(),
		ConnectP50Ms: round(ms(cr.open.Quantile(0.5))), ConnectP99Ms: round(ms(cr.open.Quantile(0.99))),
		RequestP50Ms: round(ms(cr.request.Quantile(0.5))), RequestP99Ms: round(ms(cr.request.Quantile(0.99))),
		OpenAtEnd: held, Capped: capped,
		ServerCPUS:        optional(d.server.Seconds(), d.serverKnown),
		ServerCPUPer1000S: optional(per1000(d.server), d.serverKnown),
		ServerCPUPct:      optional(pct(d.server, d.wall), d.serverKnown),
		ServerRSSKiB:      rss,
		AuxCPUPer1000S:    optional(per1000(d.aux), d.auxKnown),
		ClientCPUS:        round(d.client.Seconds()),
		ClientCPUPer1000S: round(per1000(d.client)),
		ClientCPUPct:      round(pct(d.client, d.wall)),
	}, nil
}

// dial opens, connects and closes (or keeps) sockets until ctx ends.
func (cr *connectRun) dial(ctx context.Context) {
	for ctx.Err() == nil {
		k := cr.next.Add(1)
		start := time.Now()
		w, sent, err := cr.connectOnce(ctx, k)
		if ctx.Err() != nil {
			if w != nil {
				w.close()
			}
			return
		}
		done := time.Now()
		measured := cr.measured.Load()
		if err != nil {
			if measured {
				cr.errors.Add(1)
			}
			if cr.errLogged.Add(1) <= 5 {
				fmt.Fprintf(cr.stderr, "connect: %v\n", err)
			}
			_ = sleepCtx(ctx, 10*time.Millisecond) // no hot loop against a refusing gateway
			continue
		}
		if measured {
			cr.connects.Add(1)
			cr.open.Record(done.Sub(start))
			cr.request.Record(done.Sub(sent))
		}
		if !cr.keep {
			w.close()
			continue
		}
		cr.mu.Lock()
		cr.held = append(cr.held, w)
		full := int64(len(cr.held)) >= cr.maxOpen
		cr.mu.Unlock()
		if full {
			cr.capOnce.Do(func() { close(cr.capped) })
			<-ctx.Done()
			return
		}
	}
}

// connectOnce opens socket k (user, node and source address in turn) and
// sends connect; it returns the socket, when the request left, and an
// error unless the reply was success.
func (cr *connectRun) connectOnce(ctx context.Context, k int64) (*wsConn, time.Time, error) {
	addr := cr.addrs[k%int64(len(cr.addrs))]
	w, err := dialWS(ctx, cr.srcs[k%int64(len(cr.srcs))], addr, 1024)
	if err != nil {
		return nil, time.Time{}, err
	}
	_ = w.c.SetDeadline(time.Now().Add(handshakeTimeout))
	stop := context.AfterFunc(ctx, func() { _ = w.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	sent := time.Now()
	if err := w.writeText(cr.frames[k%int64(len(cr.frames))]); err != nil {
		w.close()
		return nil, sent, fmt.Errorf("connect on %s: %w", addr, err)
	}
	for {
		frame, err := w.next()
		if err != nil {
			w.close()
			return nil, sent, fmt.Errorf("connect on %s: %w", addr, err)
		}
		if !hasPrefix(frame, `{"response":`) || !bytes.Contains(frame, []byte(`"id":"c"`)) {
			continue
		}
		if !bytes.Contains(frame, []byte(`"success":true`)) {
			w.close()
			return nil, sent, fmt.Errorf("connect on %s: %.200s", addr, frame)
		}
		_ = w.c.SetDeadline(time.Time{})
		return w, sent, nil
	}
}
