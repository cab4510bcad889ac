package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/samagate/samagate/protocol"
)

// Draining reports whether Shutdown has begun: the node refuses new
// websockets and is closing the ones it has. Readiness checks and metrics
// read it.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// Shutdown drains the gateway and stops it. At once new upgrades are
// refused (503) and Draining reports true. Then every socket is closed with
// CloseServiceRestart ("reconnect", to another node), each at its own
// moment spread over Config.DrainWindow with jitter, so that a node's
// clients do not all reconnect to the others in the same second; until its
// moment a socket works as before. At its moment a socket stops reading,
// the asks of its messages in flight are written (their commits finish),
// and the close frame follows. Then the listener and whatever is still open
// are closed, and the commits in flight of sockets that went away end. It
// returns when done or when ctx ends (the sockets still waiting are then
// closed at once).
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	t := g.transport
	g.transport = nil
	stop, done := g.stopPing, g.pingDone
	g.mu.Unlock()
	g.draining.Store(true)
	if t == nil {
		g.stopRelease()
		return nil
	}
	g.drain(ctx, drainWindow(ctx, g.cfg.DrainWindow, time.Now()))
	close(stop)
	<-done

	err := t.shutdown(ctx)
	g.stopRelease()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// drainWindow is the window the closes are spread over: the configured one,
// shortened to three quarters of the time ctx leaves, so that what follows
// the drain still has time.
func drainWindow(ctx context.Context, window time.Duration, now time.Time) time.Duration {
	if window <= 0 {
		return 0
	}
	if dl, ok := ctx.Deadline(); ok {
		window = min(window, dl.Sub(now)*3/4)
	}
	return max(window, 0)
}

// drainSchedule returns when each of n sockets is closed, in order, as
// offsets from the start of the drain: the window is cut into n equal
// slots and each socket closes at a random point of its own slot, so the
// closes are even over the window at any scale and no two clients' moments
// are predictable.
func drainSchedule(n int, window time.Duration) []time.Duration {
	at := make([]time.Duration, n)
	if window <= 0 {
		return at
	}
	slot := window / time.Duration(n)
	for i := range at {
		at[i] = time.Duration(i) * slot
		if slot > 0 {
			at[i] += rand.N(slot)
		}
	}
	return at
}

// drain closes every open socket with CloseServiceRestart, spread over
// window (all at once when it is zero), through a few workers: a socket's
// close may wait for its commits in flight. When ctx ends the sockets left
// are closed without waiting.
func (g *Gateway) drain(ctx context.Context, window time.Duration) {
	var socks []*Socket
	g.hub.each(func(s *Socket) { socks = append(socks, s) })
	if len(socks) == 0 {
		return
	}
	rand.Shuffle(len(socks), func(i, j int) { socks[i], socks[j] = socks[j], socks[i] })
	at := drainSchedule(len(socks), window)
	g.log.Info().Int("sockets", len(socks)).Dur("window", window).Msg("draining: closing sockets with 1012")

	const workers = 8
	work := make(chan *Socket)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for s := range work {
				s.drainClose(ctx)
			}
		})
	}
	start := time.Now()
	var timer *time.Timer
	for i, s := range socks {
		if wait := time.Until(start.Add(at[i])); wait > time.Millisecond && ctx.Err() == nil {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait) // stopped or fired: its channel is empty (Go 1.23 timers)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
			}
		}
		select {
		case work <- s:
		case <-ctx.Done():
			s.close(protocol.CloseServiceRestart) // out of time: at once
		}
	}
	close(work)
	wg.Wait()
}

// drainClose closes the socket for a drain: frames read from now on are
// dropped (the client sends them again on the node it moves to, as no ask
// came), the replies of its messages in flight are written as their
// commits finish (at most until ctx ends), then it gets CloseServiceRestart.
func (s *Socket) drainClose(ctx context.Context) {
	s.markClosing(protocol.CloseServiceRestart)
	s.settleCtx(ctx)
	s.close(protocol.CloseServiceRestart)
}

// settleCtx waits until the socket awaits no reply, or ctx ends.
func (s *Socket) settleCtx(ctx context.Context) {
	s.qmu.Lock()
	for {
		o := s.out
		if o == nil || len(o.replies) == 0 {
			s.qmu.Unlock()
			return
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		s.qmu.Unlock()
		select {
		case <-changed: // the replier wrote one reply at least
		case <-ctx.Done():
			return
		}
		s.qmu.Lock()
	}
}

// stopRelease stops the publisher and the sequencer (after the sockets:
// nothing is left to release to).
func (g *Gateway) stopRelease() {
	g.replays.Wait()  // the sockets are closed: their replays end
	g.repliers.Wait() // and the commits of their messages in flight
	if p := g.pub.Swap(nil); p != nil {
		p.close()
	}
	if q := g.seq.Swap(nil); q != nil {
		q.close()
	}
}
