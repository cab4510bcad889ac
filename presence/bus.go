package presence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// bus is this node's subscription to its own sharded channel. It pings
// itself every heartbeat: when its pings stop coming back (Redis restarted,
// a failover, a half-dead connection) the subscription is rebuilt, and once
// pings flow again the node recovers what it may have missed from the event
// log (Receiver.Recover).
type bus struct {
	r *Redis

	mu        sync.Mutex // guards the fields below
	ps        *redis.PubSub
	seq       int64     // last ping sent
	lastSeq   int64     // last ping that came back
	lastPing  time.Time // when it came back
	gapStart  time.Time // zero while healthy
	rebuiltAt time.Time
	recv      Receiver
	ctx       context.Context // background work's context; ends at Close
	closed    bool

	work sync.WaitGroup // recoveries in flight
}

func newBus(r *Redis) *bus { return &bus{r: r} }

// subscribe (re)opens the subscription and waits for Redis to confirm it.
func (b *bus) subscribe(ctx context.Context) error {
	ps := b.r.rdb.SSubscribe(ctx, b.r.channel(b.r.node))
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return fmt.Errorf("subscribe to bus: %w", err)
	}
	b.mu.Lock()
	old := b.ps
	b.ps = ps
	b.rebuiltAt = time.Now()
	if b.lastPing.IsZero() {
		b.lastPing = time.Now()
	}
	b.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

func (b *bus) current() *redis.PubSub {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ps
}

// readLoop hands every packet to the receiver until ctx ends.
func (b *bus) readLoop(ctx context.Context) {
	for ctx.Err() == nil {
		ps := b.current()
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The connection broke: whatever was published until go-redis
			// has re-subscribed is lost to us.
			b.markGap("subscription connection lost")
			// go-redis reconnects and re-subscribes on the next Receive;
			// pause so a Redis outage is not a busy loop.
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if m, ok := msg.(*redis.Message); ok {
			b.handle(ctx, []byte(m.Payload))
		}
	}
}

func (b *bus) handle(ctx context.Context, data []byte) {
	p, err := decodePacket(data)
	if err != nil {
		b.r.log.Warn().Err(err).Int("bytes", len(data)).Msg("bus: dropped a malformed packet")
		return
	}
	b.mu.Lock()
	recv := b.recv
	b.mu.Unlock()
	switch p.kind {
	case kindCommit:
		recv.CommitLocal(p.frame)
	case kindActive:
		recv.ActivityLocal(p.users[0], p.value)
	case kindEnd:
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		recv.EndSessionLocal(ctx, p.users[0], p.device, p.session, p.except, p.reason)
		cancel()
	case kindPing:
		b.pong(ctx, p.value)
	}
}

// markGap records that packets may have been lost since the last ping came
// back.
func (b *bus) markGap(why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gapStart.IsZero() {
		b.gapStart = b.lastPing
		b.r.log.Warn().Str("why", why).Msg("bus: packets may have been lost")
	}
}

// pong marks the bus healthy. A ping that skipped a sequence number shows
// that packets were lost even if the outage was short. After a gap it tells
// the receiver (Recover), which reads the commits it missed from the event
// log.
func (b *bus) pong(ctx context.Context, seq int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lastSeq != 0 && seq != b.lastSeq+1 && b.gapStart.IsZero() {
		b.gapStart = b.lastPing
	}
	b.lastSeq, b.lastPing = seq, time.Now()
	if b.gapStart.IsZero() {
		return
	}
	since := b.gapStart
	b.r.log.Warn().Time("since", since).Dur("gap", time.Since(b.gapStart)).Msg("bus: delivering again; recovering missed events")
	b.gapStart = time.Time{}
	recv := b.recv
	b.spawnLocked(ctx, func(ctx context.Context) { recv.Recover(ctx, since) })
}

// spawn runs f in the background until Close (which waits for it).
func (b *bus) spawn(f func(ctx context.Context)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spawnLocked(b.ctx, f)
}

func (b *bus) spawnLocked(ctx context.Context, f func(ctx context.Context)) {
	if b.closed {
		return
	}
	b.r.cfg.Observer.BusRecovered() // every background job is a recovery from the log
	b.work.Add(1)
	go func() {
		defer b.work.Done()
		f(ctx)
	}()
}

// tick pings our own channel and checks that the previous pings came back:
// silent for 3 heartbeats opens a gap, 6 rebuilds the subscription.
func (b *bus) tick(ctx context.Context) {
	hb := b.r.cfg.Heartbeat
	b.mu.Lock()
	b.seq++
	ping := (&packet{kind: kindPing, value: b.seq}).encode()
	silent := time.Since(b.lastPing)
	if silent > 3*hb && b.gapStart.IsZero() {
		b.gapStart = b.lastPing
		b.r.log.Warn().Dur("silent", silent).Msg("bus: own pings stopped coming back")
	}
	rebuild := !b.gapStart.IsZero() && time.Since(b.gapStart) > 6*hb && time.Since(b.rebuiltAt) > 6*hb
	b.mu.Unlock()
	if rebuild {
		if err := b.subscribe(ctx); err != nil {
			b.r.log.Warn().Err(err).Msg("bus: rebuild subscription")
		} else {
			b.r.log.Info().Msg("bus: subscription rebuilt")
		}
	}
	if err := b.r.rdb.SPublish(ctx, b.r.channel(b.r.node), ping).Err(); err != nil {
		b.r.log.Debug().Err(err).Msg("bus: ping")
	}
}

// close ends the subscription and waits for recoveries in flight.
func (b *bus) close() {
	b.mu.Lock()
	ps := b.ps
	b.ps = nil
	b.closed = true
	b.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
	b.work.Wait()
}

// publish sends one packet to node, retrying briefly, and queues it in the
// outbox when Redis stays unreachable from here.
func (r *Redis) publish(ctx context.Context, node string, data []byte) error {
	var err error
	for attempt, wait := 0, 20*time.Millisecond; attempt < 3; attempt, wait = attempt+1, wait*4 {
		start := time.Now()
		err = r.rdb.SPublish(ctx, r.channel(node), data).Err()
		r.cfg.Observer.BusPublished(time.Since(start), err)
		if err == nil {
			return nil
		}
		if attempt == 2 {
			break
		}
		select {
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
			attempt = 2
		case <-time.After(wait):
		}
	}
	r.out.push(func(ctx context.Context) error { return r.rdb.SPublish(ctx, r.channel(node), data).Err() })
	return fmt.Errorf("publish to %s (queued for retry): %w", node, err)
}

// send publishes one packet built by build to each node that holds keys of
// userIDs (key names the lookup); a failed lookup queues the whole send.
func (r *Redis) send(ctx context.Context, what string, userIDs []string, key func(string) string, build func(users []string) []byte) error {
	targets, err := r.nodesOf(ctx, userIDs, key)
	if err != nil {
		r.out.push(func(ctx context.Context) error {
			targets, err := r.nodesOf(ctx, userIDs, key)
			if err != nil {
				return err
			}
			for node, users := range targets {
				// Later failures queue per node inside publish.
				_ = r.publish(ctx, node, build(users))
			}
			return nil
		})
		return fmt.Errorf("bus %s (queued for retry): %w", what, err)
	}
	var errs []error
	for node, users := range targets {
		if err := r.publish(ctx, node, build(users)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Broadcast sends payloads (commit packets of the gateway), in order, to
// every other live node, in one pipelined round trip. It does not retry: a
// receiver that misses a commit reads it from the event log when its
// number comes due, so a retry would only arrive after that.
func (r *Redis) Broadcast(ctx context.Context, payloads ...[]byte) error {
	nodes := r.Nodes()
	if len(nodes) == 0 || len(payloads) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	for _, p := range payloads {
		data := (&packet{kind: kindCommit, frame: p}).encode()
		for _, node := range nodes {
			pipe.SPublish(ctx, r.channel(node), data)
		}
	}
	start := time.Now()
	_, err := pipe.Exec(ctx)
	r.cfg.Observer.BusPublished(time.Since(start), err)
	if err != nil {
		return fmt.Errorf("bus broadcast: %w", err)
	}
	return nil
}

// Activity tells the nodes following userID its last activity (0 = online).
func (r *Redis) Activity(ctx context.Context, userID string, value int64) error {
	return r.send(ctx, "activity", []string{userID}, r.watchKey, func([]string) []byte {
		return (&packet{kind: kindActive, users: []string{userID}, value: value}).encode()
	})
}

// EndSession tells the other nodes that sessions of userID ended: those on
// deviceID, or only sessionID, when set; never exceptSessionID. The nodes
// holding the user's sockets (read from Redis now) close them; every other
// live node known from the heartbeats hears it too and forgets the user's
// cached sessions, so a revoked token cannot connect anywhere from a
// cache. A node that joined less than a heartbeat ago and holds none of
// the user's sockets may not be listed yet: its cached sessions then last
// at most auth's SessionCacheTTL. Failed sends are queued per node and
// retried. (Plain strings, so the gateway needs no type of ours.)
func (r *Redis) EndSession(ctx context.Context, userID, deviceID, sessionID, exceptSessionID, reason string) error {
	data := (&packet{kind: kindEnd, users: []string{userID}, device: deviceID, session: sessionID,
		except: exceptSessionID, reason: reason}).encode()
	targets, err := r.nodesOf(ctx, []string{userID}, r.userKey)
	if err != nil {
		targets = map[string][]string{} // the heartbeats' list below still reaches them
	}
	for _, node := range r.Nodes() {
		targets[node] = nil
	}
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("bus end session: find the user's nodes: %w", err))
	}
	for node := range targets {
		if node == r.node {
			continue
		}
		if err := r.publish(ctx, node, data); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
