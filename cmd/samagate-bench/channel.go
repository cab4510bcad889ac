package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// channelConfig are the flags of the channel scenario.
type channelConfig struct {
	nodes       nodeFlags
	subscribers int
	posts       int
	gap         time.Duration
	wait        time.Duration
	sample      time.Duration
	bodyLen     int
	concurrency int
	readers     int
	poll        time.Duration
	sources     string
	fixture     string
	label       string
	rev         string
	out         string
	timeout     time.Duration
}

// channelResult is one JSON line of the channel scenario: one post.
type channelResult struct {
	runInfo
	Subscribers int   `json:"subscribers"`
	Post        int   `json:"post"`
	BodyBytes   int   `json:"body_bytes"`
	Delivered   int64 `json:"delivered"`
	// LastMs is from the send to the read of the post on the last
	// subscriber's socket: the time until every device has it.
	LastMs float64 `json:"last_device_ms"`
	P50Ms  float64 `json:"delivery_p50_ms"`
	P99Ms  float64 `json:"delivery_p99_ms"`
	AskMs  float64 `json:"ask_ms"`
	// RSS of the gateway processes (summed): just before the post, the
	// highest sampled until the last delivery, and after it.
	RSSBeforeKiB int64 `json:"server_rss_before_kib"`
	RSSPeakKiB   int64 `json:"server_rss_peak_kib"`
	RSSAfterKiB  int64 `json:"server_rss_after_kib"`
	RSSSamples   int   `json:"rss_samples"`
}

// runChannel measures one post to a channel with many connected
// subscribers: every subscriber's socket (one user and device each) is
// connected, the owner posts, and the run reports the time until the last
// subscriber's socket has read the post, and the gateways' memory while
// they fan it out. -posts repeats it on the same sockets.
func runChannel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c channelConfig
	fs := flag.NewFlagSet("channel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.nodes.register(fs)
	fs.IntVar(&c.subscribers, "subscribers", 10000, "connected subscribers of the channel, one user and device each, besides its owner")
	fs.IntVar(&c.posts, "posts", 1, "posts, one after another, each measured alone")
	fs.DurationVar(&c.gap, "gap", 2*time.Second, "pause between posts")
	fs.DurationVar(&c.wait, "wait", time.Minute, "longest wait for one post's deliveries")
	fs.DurationVar(&c.sample, "sample", 5*time.Millisecond, "how often the gateways' RSS is read during a post's fan-out")
	fs.IntVar(&c.bodyLen, "body", 100, "post body bytes (at least 32; starts with the send time)")
	fs.IntVar(&c.concurrency, "concurrency", 64, "sockets opened in parallel")
	fs.IntVar(&c.readers, "readers", 2, "goroutines reading the sockets (one epoll each)")
	fs.DurationVar(&c.poll, "poll", time.Millisecond, "readers poll their epoll and sleep this long when it is drained (0: block)")
	fs.StringVar(&c.sources, "sources", "127.0.0.1-127.0.0.9", "client source addresses")
	fs.StringVar(&c.fixture, "fixture", "", "users file: used if present (the gateway must have that database), else prepared and saved")
	fs.StringVar(&c.label, "label", "", "label of the JSON lines")
	fs.StringVar(&c.rev, "rev", "", "git revision of the gateway, recorded in the JSON lines")
	fs.StringVar(&c.out, "out", "", "append one JSON line per post to this file")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "bound of the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.subscribers < 1 || c.posts < 1 || c.bodyLen < 32 || c.concurrency < 1 || c.readers < 1 || c.wait <= 0 || c.sample <= 0 {
		return errors.New("need -subscribers, -posts >= 1, -body >= 32, -concurrency, -readers >= 1, -wait, -sample > 0")
	}
	if err := checkFDs(c.subscribers + 1 + 256); err != nil {
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
	fx, err := ensureFixture(ctx, c.fixture, cl.addrs[0], srcs[0], c.subscribers+1, 0, 0, stderr)
	if err != nil {
		return err
	}
	users := fx.Users[:c.subscribers+1]
	start := time.Now()
	cid, err := createChannel(ctx, cl.addrs[0], srcs[0], users)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "channel: %s made, %d subscribed in %s\n", cid, c.subscribers, time.Since(start).Round(time.Millisecond))

	// The channel is one "group" to connectGroups: its owner, member 0,
	// is the publisher; every subscriber receives.
	chfx := &fixture{Users: users, Groups: 1, Members: len(users), CIDs: []string{cid}}
	st := &fanoutState{receivers: int64(c.subscribers), stderr: stderr}
	for range c.posts {
		st.rates = append(st.rates, &rateStats{})
	}
	socks, err := connectGroups(ctx, st, chfx, cl.addrs, srcs, c.concurrency, c.readers, c.poll, stderr)
	if err != nil {
		return err
	}
	defer func() {
		st.stopping.Store(true)
		socks.close()
	}()
	if len(cl.pids) == 0 {
		fmt.Fprintln(stderr, "channel: no -pids: server memory is not reported")
	}
	fmt.Fprintf(stdout, "%5s %11s %10s %10s %10s %8s %12s %12s %12s\n",
		"post", "delivered", "last ms", "p50 ms", "p99 ms", "ask ms", "rss before", "rss peak", "rss after")
	for i := range c.posts {
		if err := sleepCtx(ctx, c.gap); err != nil {
			return err
		}
		r, err := measurePost(ctx, st, socks.pubs[0], i, c, cl.pids)
		if err != nil {
			return err
		}
		r.runInfo = newRunInfo("channel", c.label, c.rev, len(cl.addrs))
		fmt.Fprintf(stdout, "%5d %11d %10.1f %10.1f %10.1f %8.1f %9d KiB %9d KiB %9d KiB\n", r.Post, r.Delivered,
			r.LastMs, r.P50Ms, r.P99Ms, r.AskMs, r.RSSBeforeKiB, r.RSSPeakKiB, r.RSSAfterKiB)
		if err := appendJSONLine(c.out, r); err != nil {
			return err
		}
	}
	return nil
}

// measurePost sends post i and waits for every subscriber to read it,
// sampling the gateways' RSS meanwhile.
func measurePost(ctx context.Context, st *fanoutState, pub *publisher, i int, c channelConfig, pids []int) (channelResult, error) {
	rs := st.rates[i]
	r := channelResult{Subscribers: c.subscribers, Post: i, BodyBytes: c.bodyLen, RSSBeforeKiB: rssSumKiB(pids)}
	var peak atomic.Int64
	peak.Store(r.RSSBeforeKiB)
	samples := 0
	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(c.sample)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			if v := rssSumKiB(pids); v > peak.Load() {
				peak.Store(v)
			}
			samples++
		}
	}()
	stamp := appendStamp(nil, time.Now(), i, phaseMeasured)
	pub.seq++
	frame := appendMessageFrame(nil, stamp, pub.idx, pub.seq, pub.cid, c.bodyLen)
	err := pub.c.writeText(frame)
	if err == nil {
		st.sentDeliveries.Add(st.receivers)
		rs.sent.Add(1)
		deadline := time.Now().Add(c.wait)
		for rs.inWindow.Load() < st.receivers && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
	}
	stopSampling()
	<-sampled
	if err != nil {
		return r, fmt.Errorf("post %d: %w", i, err)
	}
	r.RSSPeakKiB, r.RSSSamples, r.RSSAfterKiB = peak.Load(), samples, rssSumKiB(pids)
	r.Delivered = rs.inWindow.Load()
	r.LastMs = round(ms(rs.delivery.Max()))
	r.P50Ms, r.P99Ms = round(ms(rs.delivery.Quantile(0.5))), round(ms(rs.delivery.Quantile(0.99)))
	r.AskMs = round(ms(rs.ask.Max()))
	if r.Delivered < st.receivers {
		fmt.Fprintf(st.stderr, "channel: post %d reached %d of %d subscribers within %s\n", i, r.Delivered, st.receivers, c.wait)
	}
	return r, nil
}

// createChannel has users[0] create a channel and every other user
// subscribe to it (conversation_subscribe), over a few sockets that bind
// to one user after the other.
func createChannel(ctx context.Context, addr string, src net.IP, users []fixtureUser) (string, error) {
	bind := func(w *wsConn, u fixtureUser) error {
		return w.request(ctx, "c", "connect", map[string]string{"token": u.Token, "device_id": u.Device}, nil)
	}
	w, err := dialWS(ctx, src, addr, 4096)
	if err != nil {
		return "", err
	}
	defer w.close()
	if err := bind(w, users[0]); err != nil {
		return "", err
	}
	var created struct {
		Conversation struct {
			ID string `json:"_id"`
		} `json:"conversation"`
	}
	if err := w.request(ctx, "cc", "conversation_create", map[string]any{"type": "c", "name": "bench channel"}, &created); err != nil {
		return "", fmt.Errorf("create channel: %w", err)
	}
	cid := created.Conversation.ID
	eg, ectx := errgroup.WithContext(ctx)
	const workers = 8
	for k := range workers {
		eg.Go(func() error {
			w, err := dialWS(ectx, src, addr, 4096)
			if err != nil {
				return err
			}
			defer w.close()
			for i := 1 + k; i < len(users); i += workers {
				if err := bind(w, users[i]); err != nil {
					return err
				}
				if err := w.request(ectx, "s"+strconv.Itoa(i), "conversation_subscribe", map[string]string{"cid": cid}, nil); err != nil {
					return fmt.Errorf("subscriber %d: %w", i, err)
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return "", fmt.Errorf("subscribe: %w", err)
	}
	return cid, nil
}
