package gateway

import (
	"context"
	"fmt"
	"sync"

	"github.com/samagate/samagate/protocol"
)

// Shutdown stops the gateway in two steps: new upgrades are refused and every
// socket is sent CloseServiceRestart ("reconnect", to another node), in
// bounded parallel; then the listener and whatever is still open are closed.
// It returns when done or when ctx ends.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	t := g.transport
	g.transport = nil
	stop, done := g.stopPing, g.pingDone
	g.mu.Unlock()
	if t == nil {
		g.stopRelease()
		return nil
	}
	g.draining.Store(true)
	close(stop)
	<-done

	// Close frames are queued without blocking, so a few workers suffice even
	// for many sockets; the bound keeps a huge node from spiking.
	const workers = 8
	work := make(chan *Socket)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				s.close(protocol.CloseServiceRestart)
			}
		}()
	}
	g.hub.each(func(s *Socket) {
		select {
		case work <- s:
		case <-ctx.Done():
		}
	})
	close(work)
	wg.Wait()

	err := t.shutdown(ctx)
	g.stopRelease()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
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
