package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fanoutConfig are the flags of the fanout scenario.
type fanoutConfig struct {
	nodes       nodeFlags
	groups      int
	members     int
	rates       []float64
	warmup      time.Duration
	window      time.Duration
	drain       time.Duration
	bodyLen     int
	pacers      int
	concurrency int
	readers     int
	poll        time.Duration
	sources     string
	fixture     string
	prepareOnly bool
	label       string
	rev         string
	out         string
	timeout     time.Duration
	cpuProfile  string
}

// runFanout measures delivery latency of group messages at target rates of
// deliveries per second: groups of members sockets (one user and device
// each), one publisher per group pacing itself, every other member
// receiving; each target is run after the other on the same sockets.
func runFanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c fanoutConfig
	var rates string
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.nodes.register(fs)
	fs.IntVar(&c.groups, "groups", 100, "group conversations")
	fs.IntVar(&c.members, "members", 100, "sockets per group, one user and device each; one publishes")
	fs.StringVar(&rates, "rates", "30000,60000,90000,120000", "target deliveries per second (messages/s × (members-1)), run one after another")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "load before each measured window")
	fs.DurationVar(&c.window, "window", 20*time.Second, "measured window of each rate")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "longest wait after a window for its deliveries (counted late) and asks")
	fs.IntVar(&c.bodyLen, "body", 100, "message body bytes (at least 32; starts with the send time)")
	fs.IntVar(&c.pacers, "pacers", 4, "goroutines writing the publishers' messages")
	fs.IntVar(&c.concurrency, "concurrency", 64, "sockets opened in parallel")
	fs.IntVar(&c.readers, "readers", 2, "goroutines reading the sockets (one epoll each)")
	fs.DurationVar(&c.poll, "poll", time.Millisecond, "readers poll their epoll and sleep this long when it is drained, instead of blocking in it (0: block): the gateway's writes do not wake the client, as on a network; adds up to this to every latency")
	fs.StringVar(&c.sources, "sources", "127.0.0.1-127.0.0.9", "client source addresses")
	fs.StringVar(&c.fixture, "fixture", "", "users and groups file: used if present (the gateway must have that database), else prepared and saved")
	fs.BoolVar(&c.prepareOnly, "prepare-only", false, "prepare (and save -fixture), then stop")
	fs.StringVar(&c.label, "label", "", "label of the JSON lines (e.g. before, after, 2 nodes)")
	fs.StringVar(&c.rev, "rev", "", "git revision of the gateway, recorded in the JSON lines")
	fs.StringVar(&c.out, "out", "", "append one JSON line per rate to this file")
	fs.DurationVar(&c.timeout, "timeout", 90*time.Minute, "bound of the whole run (preparing 10,000 users takes minutes)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write the bench's own CPU profile of the measured rates to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.rates, err = parseRates(rates); err != nil {
		return err
	}
	if c.groups < 1 || c.members < 2 || c.bodyLen < 32 || c.pacers < 1 || c.concurrency < 1 || c.readers < 1 || c.window <= 0 {
		return errors.New("need -groups >= 1, -members >= 2, -body >= 32, -pacers, -concurrency, -readers >= 1, -window > 0")
	}
	if err := checkFDs(c.groups*c.members + 256); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	srcs, err := sources(c.sources)
	if err != nil {
		return err
	}
	tuning := append(unthrottled(), "--max-participants="+strconv.Itoa(max(c.members, 50)))
	cl, err := c.nodes.start(ctx, tuning, stderr)
	if err != nil {
		return err
	}
	defer cl.stop()
	fx, err := ensureFixture(ctx, c.fixture, cl.addrs[0], srcs[0], c.groups*c.members, c.groups, c.members, stderr)
	if err != nil || c.prepareOnly {
		return err
	}

	st := &fanoutState{receivers: int64(c.members - 1), stderr: stderr}
	for _, t := range c.rates {
		st.rates = append(st.rates, &rateStats{target: t})
	}
	socks, err := connectGroups(ctx, st, fx, cl.addrs, srcs, c.concurrency, c.readers, c.poll, stderr)
	if err != nil {
		return err
	}
	defer func() {
		st.stopping.Store(true)
		socks.close()
	}()
	aux, err := c.nodes.aux()
	if err != nil {
		return err
	}
	meter := cpuMeter{pids: cl.pids, aux: aux, tck: clockTicks(ctx)}
	if len(cl.pids) == 0 {
		fmt.Fprintln(stderr, "fanout: no -pids: server CPU and memory are not reported")
	}
	if c.cpuProfile != "" {
		stopProfile, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	printFanoutHeader(stdout)
	for i := range c.rates {
		r, err := measureRate(ctx, st, socks.pubs, i, c, meter)
		if err != nil {
			return err
		}
		r.runInfo = newRunInfo("fanout", c.label, c.rev, len(cl.addrs))
		r.Groups, r.Members, r.BodyBytes, r.WarmupS = c.groups, c.members, c.bodyLen, c.warmup.Seconds()
		printFanoutRow(stdout, r)
		if err := appendJSONLine(c.out, r); err != nil {
			return err
		}
	}
	return nil
}

// parseRates parses "30000,60000".
func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-rates: bad rate %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// checkFDs fails early when this process may not open n files.
func checkFDs(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	if uint64(n) > lim.Cur {
		return fmt.Errorf("the run needs about %d file descriptors, the limit is %d: fewer -groups or -members", n, lim.Cur)
	}
	return nil
}

// measureRate runs one target: pacers from now on, warm-up, the measured
// window, then a drain for the window's late deliveries and asks.
func measureRate(ctx context.Context, s *fanoutState, pubs []*publisher, idx int, c fanoutConfig, m cpuMeter) (fanoutResult, error) {
	rs := s.rates[idx]
	perSec := messageRate(rs.target, c.members)
	n := min(c.pacers, len(pubs))
	owned := make([][]*publisher, n)
	for i, p := range pubs {
		owned[i%n] = append(owned[i%n], p)
	}
	counts := make([]int, n)
	for i := range owned {
		counts[i] = len(owned[i])
	}
	shares := splitRate(perSec, counts)
	var phase atomic.Int32
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		// Pacers start a fraction of an interval apart, so their first
		// messages do not all leave at once.
		p := &pacer{pubs: owned[i], rate: idx, bodyLen: c.bodyLen,
			pace: pace{start: start.Add(time.Duration(float64(i) / perSec * float64(time.Second))), perSec: shares[i]}}
		wg.Go(func() { p.run(pctx, s, &phase) })
	}
	stop := func() {
		phase.Store(paceStopped)
		cancel()
		wg.Wait()
	}
	if err := sleepCtx(ctx, c.warmup); err != nil {
		stop()
		return fanoutResult{}, err
	}
	phase.Store(paceMeasured)
	r0, a0, in0 := m.read(), s.arrivals.Load(), s.inflight()
	if err := sleepCtx(ctx, c.window); err != nil {
		stop()
		return fanoutResult{}, err
	}
	stop()
	a1, in1, r1 := s.arrivals.Load(), s.inflight(), m.read()
	rs.windowEnd.Store(time.Now().UnixNano())
	rss := rssSumKiB(m.pids)

	// The drain: the window's deliveries and asks still owed.
	sent := rs.sent.Load()
	for deadline := time.Now().Add(c.drain); time.Now().Before(deadline); {
		refused := rs.ackErrors.Load()
		if rs.inWindow.Load()+rs.late.Load() >= (sent-refused)*s.receivers && rs.acked.Load()+refused >= sent {
			break
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return fanoutResult{}, err
		}
	}

	d := r0.to(r1)
	win := d.wall.Seconds()
	arrived := a1 - a0
	refused := rs.ackErrors.Load()
	expected := (sent - refused) * s.receivers
	r := fanoutResult{
		WindowS:                round(win),
		TargetDeliveriesPerS:   rs.target,
		AchievedDeliveriesPerS: round(float64(arrived) / win),
		MessagesSent:           sent,
		MessagesPerS:           round(float64(sent) / win),
		AckedPerS:              round(float64(rs.acked.Load()) / win),
		AckErrors:              refused,
		Unacked:                sent - rs.acked.Load() - refused,
		AskP50Ms:               round(ms(rs.ask.Quantile(0.5))),
		AskP99Ms:               round(ms(rs.ask.Quantile(0.99))),
		SendLagP99Ms:           round(ms(rs.sendLag.Quantile(0.99))),
		DeliveryP50Ms:          round(ms(rs.delivery.Quantile(0.5))),
		DeliveryP90Ms:          round(ms(rs.delivery.Quantile(0.9))),
		DeliveryP99Ms:          round(ms(rs.delivery.Quantile(0.99))),
		DeliveryP999Ms:         round(ms(rs.delivery.Quantile(0.999))),
		DeliveryMaxMs:          round(ms(rs.delivery.Max())),
		DeliveriesExpected:     expected,
		DeliveriesInWindow:     rs.inWindow.Load(),
		DeliveriesLate:         rs.late.Load(),
		InflightStart:          in0,
		InflightEnd:            in1,
		BacklogGrew:            backlogGrew(in0, in1, rs.target, s.receivers),
		ServerCPUPct:           optional(pct(d.server, d.wall), d.serverKnown),
		AuxCPUPct:              optional(pct(d.aux, d.wall), d.auxKnown),
		ServerRSSKiB:           rss,
		ClientCPUPct:           round(pct(d.client, d.wall)),
		SocketsClosed:          s.closed.Load(),
		OtherErrors:            s.otherErrors.Load(),
	}
	r.DeliveriesMissing = expected - r.DeliveriesInWindow - r.DeliveriesLate
	if arrived > 0 {
		r.ClientCPUUsPerDelivery = round(float64(d.client.Microseconds()) / float64(arrived))
	}
	return r, nil
}

// backlogGrew tells whether the deliveries owed grew over the window by
// more than 200 ms of the target rate (and more than 10 messages' worth):
// the gateway fell behind rather than jittered.
func backlogGrew(start, end int64, target float64, receivers int64) bool {
	return end-start > max(int64(0.2*target), 10*receivers)
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
