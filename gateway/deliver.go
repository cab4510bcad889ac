package gateway

import (
	"context"
	"time"

	"github.com/samagate/samagate/chat"
)

// Committed takes this node's commits from chat's committer, in commit
// order (chat.Config.Sink): the sequencer releases them to this node's
// sockets, and the publisher sends them to the other nodes.
func (g *Gateway) Committed(c chat.Commit) {
	if q := g.seq.Load(); q != nil {
		q.push(c)
	}
	if p := g.pub.Load(); p != nil {
		p.offer(&c)
	}
}

// release queues one logged event on every bound socket of its recipients
// on this node except the one that caused it (that socket's user's other
// sockets get it: carbons). The sequencer calls it in commit order, under
// its lock, and flushReleased after a run of commits, so a socket gets the
// frames of a run in one write (outbox.go). The bytes are shared, never
// re-encoded; nothing blocks.
func (g *Gateway) release(d *chat.Delivery) {
	f := &g.fan
	g.hub.eachRecipient(d.UserIDs, func(s *Socket) {
		if s.id == d.Except {
			return
		}
		f.frames++
		if s.queueEvent(d.Frame) {
			f.dirty = append(f.dirty, s)
		}
	})
	if f.frames >= fanoutFrames {
		g.flushReleased()
	}
}

// sendLive delivers a live-only event (typing) on this node and, through
// the publisher, on the others. It has no position and skips the log and
// the order.
func (g *Gateway) sendLive(d *chat.Delivery) {
	if d == nil {
		return
	}
	g.deliverLive(d)
	if p := g.pub.Load(); p != nil {
		p.offerLive(d)
	}
}

// deliverLive queues a live-only event on this node's sockets of its
// recipients, except the one that caused it.
func (g *Gateway) deliverLive(d *chat.Delivery) {
	for _, uid := range d.UserIDs {
		for _, s := range g.hub.userSockets(uid) {
			if s.id != d.Except {
				s.send(d.Frame)
				g.counts.live.Add(1)
			}
		}
	}
}

// publisher sends this node's commits to the other nodes from its own
// goroutine, so a slow or broken Redis never holds up a sender or the
// release on this node. Its queue is bounded: a commit that does not fit
// (or fails to publish) is read from the log by the other nodes when its
// number comes due.
type publisher struct {
	g    *Gateway
	in   chan []byte
	stop chan struct{}
	done chan struct{}
}

// publishQueue bounds the commits waiting to be published.
const publishQueue = 8192

func newPublisher(g *Gateway) *publisher {
	p := &publisher{g: g, in: make(chan []byte, publishQueue), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// offer queues c without blocking.
func (p *publisher) offer(c *chat.Commit) {
	select {
	case p.in <- encodeCommit(c):
	default:
		p.g.log.Warn().Int64("commit", c.Seq).Msg("cluster: publish queue full; other nodes will read the commit from the log")
	}
}

// offerLive queues a live-only event without blocking; one that does not
// fit is dropped (typing is best effort).
func (p *publisher) offerLive(d *chat.Delivery) {
	select {
	case p.in <- encodeLive(d):
	default:
	}
}

// publishBatch is the most packets sent in one round trip to Redis.
const publishBatch = 256

// run publishes queued packets, every packet waiting at that moment in one
// round trip, so a backlog drains in few round trips.
func (p *publisher) run() {
	defer close(p.done)
	batch := make([][]byte, 0, publishBatch)
	for {
		select {
		case <-p.stop:
			return
		case b := <-p.in:
			batch = append(batch[:0], b)
		}
	drain:
		for len(batch) < publishBatch {
			select {
			case b := <-p.in:
				batch = append(batch, b)
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := p.g.cluster.Broadcast(ctx, batch...); err != nil {
			p.g.log.Warn().Err(err).Int("packets", len(batch)).Msg("cluster: publish commits; other nodes will read them from the log")
		}
		cancel()
	}
}

func (p *publisher) close() {
	close(p.stop)
	<-p.done
}
