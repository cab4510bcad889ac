package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// rateStats are the counters of one target rate, written by the pacers and
// every socket's reader.
type rateStats struct {
	target    float64
	sent      atomic.Int64 // measured messages written
	acked     atomic.Int64 // measured messages acked
	ackErrors atomic.Int64 // measured messages answered with an error
	inWindow  atomic.Int64 // measured deliveries that arrived by the window's end
	late      atomic.Int64 // measured deliveries that arrived after it
	windowEnd atomic.Int64 // unix ns; 0 while the window is open
	delivery  hist         // send to arrival, measured messages
	ask       hist         // send to ask, measured messages
	sendLag   hist         // how late the pacer wrote a measured message
}

// fanoutState is what the sockets' readers share.
type fanoutState struct {
	receivers      int64 // deliveries of one message: members-1
	rates          []*rateStats
	arrivals       atomic.Int64 // every delivery of a bench message
	sentDeliveries atomic.Int64 // messages written × receivers, less those refused
	otherErrors    atomic.Int64 // error replies that name no bench message
	closed         atomic.Int64 // sockets the gateway closed
	stopping       atomic.Bool
	stderr         io.Writer
	errLogged      atomic.Int64
}

// inflight is how many deliveries are owed right now.
func (s *fanoutState) inflight() int64 { return s.sentDeliveries.Load() - s.arrivals.Load() }

// onDelivery handles a frame on a receiving socket: a message event's
// body stamp, parsed in place.
func (s *fanoutState) onDelivery(frame []byte, now int64) {
	if !hasPrefix(frame, prefixMessage) {
		return // system messages and other events
	}
	sent, r, phase, ok := stampAfter(frame, keyBody)
	if !ok || r >= len(s.rates) {
		return
	}
	s.arrivals.Add(1)
	if phase != phaseMeasured {
		return
	}
	rs := s.rates[r]
	rs.delivery.Record(time.Duration(now - sent))
	if end := rs.windowEnd.Load(); end != 0 && now > end {
		rs.late.Add(1)
	} else {
		rs.inWindow.Add(1)
	}
}

// onPublisherFrame handles a frame on a publishing socket: asks, and the
// error replies of refused messages ({"message":{"id":..,"error":..}}).
func (s *fanoutState) onPublisherFrame(frame []byte, now int64) {
	if hasPrefix(frame, prefixAsk) {
		sent, r, phase, ok := stampAfter(frame, keyMid)
		if ok && r < len(s.rates) && phase == phaseMeasured {
			s.rates[r].acked.Add(1)
			s.rates[r].ask.Record(time.Duration(now - sent))
		}
		return
	}
	if !bytes.Contains(frame, []byte(keyError)) {
		return
	}
	if s.errLogged.Add(1) <= 5 {
		fmt.Fprintf(s.stderr, "fanout: error reply: %.300s\n", frame)
	}
	if !hasPrefix(frame, prefixMessage) {
		s.otherErrors.Add(1)
		return
	}
	_, r, phase, ok := stampAfter(frame, keyID)
	if !ok || r >= len(s.rates) {
		s.otherErrors.Add(1)
		return
	}
	s.sentDeliveries.Add(-s.receivers) // never delivered: not owed
	if phase == phaseMeasured {
		s.rates[r].ackErrors.Add(1)
	}
}

// onFrame routes a frame of one of the run's sockets.
func (s *fanoutState) onFrame(c *rconn, frame []byte, now int64) {
	if c.publisher {
		s.onPublisherFrame(frame, now)
	} else {
		s.onDelivery(frame, now)
	}
}

// onClosed counts a socket the gateway closed (not the bench, at the end).
func (s *fanoutState) onClosed(_ *rconn, err error) {
	if s.stopping.Load() {
		return
	}
	s.closed.Add(1)
	if s.errLogged.Add(1) <= 5 {
		fmt.Fprintf(s.stderr, "fanout: socket closed: %v\n", err)
	}
}

// publisher is the socket of a group's member that sends its messages.
type publisher struct {
	c   *rconn
	cid string
	idx int
	seq int64 // written only by the publisher's pacer
}

// Pacer phases.
const (
	paceWarmup int32 = iota
	paceMeasured
	paceStopped
)

// pacer writes its publishers' messages on an open-loop schedule,
// round-robin, until phase is paceStopped.
type pacer struct {
	pubs    []*publisher
	pace    pace
	rate    int // index into fanoutState.rates
	bodyLen int
}

// run writes messages as they fall due, each stamped with the phase it
// leaves in, then sleeps until the next is due (at least 100 µs, so a
// fast rate is written in small batches rather than with a timer each).
func (p *pacer) run(ctx context.Context, s *fanoutState, phase *atomic.Int32) {
	rs := s.rates[p.rate]
	var k int64
	stamp := make([]byte, 0, 32)
	frame := make([]byte, 0, 256+p.bodyLen)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ph := phase.Load()
		if ph == paceStopped {
			return
		}
		phaseByte := byte(phaseWarmup)
		if ph == paceMeasured {
			phaseByte = phaseMeasured
		}
		for due := p.pace.due(time.Now()); k < due; k++ {
			pub := p.pubs[k%int64(len(p.pubs))]
			now := time.Now()
			stamp = appendStamp(stamp[:0], now, p.rate, phaseByte)
			pub.seq++
			frame = appendMessageFrame(frame[:0], stamp, pub.idx, pub.seq, pub.cid, p.bodyLen)
			if err := pub.c.writeText(frame); err != nil {
				continue // the reader counts the closed socket
			}
			s.sentDeliveries.Add(s.receivers)
			if ph == paceMeasured {
				rs.sent.Add(1)
				rs.sendLag.Record(now.Sub(p.pace.at(k)))
			}
		}
		timer.Reset(max(time.Until(p.pace.at(k)), 100*time.Microsecond))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// fanoutSockets are the open sockets of a fanout run, read by reactors.
type fanoutSockets struct {
	pubs     []*publisher
	reactors []*reactor
	wg       sync.WaitGroup
}

// connectGroups opens and authenticates every member's socket (member m of
// group g on node (g+m) mod nodes, so each group spans the nodes and so do
// the publishers) and starts readers reactors reading them.
func connectGroups(ctx context.Context, s *fanoutState, fx *fixture, addrs []string, srcs []net.IP, concurrency, readers int, poll time.Duration, stderr io.Writer) (*fanoutSockets, error) {
	g, m := fx.Groups, fx.Members
	conns := make([]*rconn, g*m)
	closeAll := func() {
		for _, c := range conns {
			if c != nil {
				_ = syscall.Close(c.fd)
			}
		}
	}
	var opened atomic.Int64
	start := time.Now()
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(concurrency)
	for k := range g * m {
		eg.Go(func() error {
			grp, mem := k/m, k%m
			u := fx.Users[k]
			w, err := dialWS(ectx, srcs[k%len(srcs)], addrs[(grp+mem)%len(addrs)], 2048)
			if err != nil {
				return err
			}
			if err := w.request(ectx, "c", "connect", map[string]string{"token": u.Token, "device_id": u.Device}, nil); err != nil {
				w.close()
				return fmt.Errorf("socket %d: %w (a fixture only works on the database it was made on)", k, err)
			}
			c, err := detach(w)
			if err != nil {
				w.close()
				return err
			}
			c.publisher = mem == 0
			conns[k] = c
			if n := opened.Add(1); n%2000 == 0 {
				fmt.Fprintf(stderr, "fanout: %d of %d sockets connected\n", n, g*m)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		closeAll()
		return nil, fmt.Errorf("connect sockets: %w", err)
	}
	fs := &fanoutSockets{pubs: make([]*publisher, g)}
	for range readers {
		r, err := newReactor(s.onFrame, s.onClosed)
		if r != nil {
			r.poll = poll
		}
		if err != nil {
			closeAll()
			for _, r := range fs.reactors {
				_ = syscall.Close(r.epfd)
			}
			return nil, err
		}
		fs.reactors = append(fs.reactors, r)
	}
	for k, c := range conns {
		if c.publisher {
			fs.pubs[k/m] = &publisher{c: c, cid: fx.CIDs[k/m], idx: k / m}
		}
		if err := fs.reactors[k%readers].add(c); err != nil {
			fs.close()
			return nil, err
		}
	}
	for _, r := range fs.reactors {
		fs.wg.Go(r.run)
	}
	fmt.Fprintf(stderr, "fanout: %d sockets connected over %d node(s) in %s\n", g*m, len(addrs), time.Since(start).Round(time.Millisecond))
	return fs, nil
}

// close stops the reactors and closes every socket.
func (fs *fanoutSockets) close() {
	for _, r := range fs.reactors {
		r.stop.Store(true)
	}
	fs.wg.Wait()
	for _, r := range fs.reactors {
		r.shutdown()
	}
}
