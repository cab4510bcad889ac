package presence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Start joins the cluster: subscribes to this node's bus channel, beats
// once, then keeps beating, reaping dead nodes and refreshing key expiries
// in the background until Close.
func (r *Redis) Start(ctx context.Context, recv Receiver) error {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.done != nil {
		return errors.New("presence: already started")
	}
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("connect to redis: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.bus.mu.Lock()
	r.bus.recv, r.bus.ctx = recv, loopCtx
	r.bus.mu.Unlock()
	if err := r.bus.subscribe(ctx); err != nil {
		cancel()
		return err
	}
	st := &nodeState{recv: recv}
	r.beat(ctx, st) // take stale entries of an earlier run with this id away at once
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		var wg sync.WaitGroup
		wg.Go(func() { r.bus.readLoop(loopCtx) })
		r.loop(loopCtx, st)
		wg.Wait()
	}()
	r.log.Info().Str("node", r.node).Msg("presence: joined the cluster")
	return nil
}

// nodeState is owned by the loop goroutine.
type nodeState struct {
	recv     Receiver
	lastBeat string               // our stamp as Redis returned it; "" before the first
	lastOK   time.Time            // when a beat last found our state intact
	live     map[string]bool      // nodes alive at the last beat
	vanished map[string]time.Time // nodes gone from the registry, not (yet) known dead
	mourned  map[string]bool      // dead nodes already recovered from
	// seen is when each other node was last live at one of our beats: its
	// last beat was at most DeadAfter before then, so a recovery from its
	// death starts before it could have died, however late we notice.
	seen map[string]time.Time
}

func (r *Redis) loop(ctx context.Context, st *nodeState) {
	var wg sync.WaitGroup
	wg.Go(func() { r.upkeep(ctx) })
	defer wg.Wait()
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tctx, cancel := context.WithTimeout(ctx, 4*r.cfg.Heartbeat+time.Second)
		r.beat(tctx, st)
		cancel()
	}
}

// upkeep is the node's other periodic work, on the shared client: bus
// sends waiting for Redis, the bus's self-ping, key expiries. It runs
// beside the heartbeat loop, never in its way: behind a busy pool its
// calls wait, the beats do not (UseHeartbeatClient).
func (r *Redis) upkeep(ctx context.Context) {
	t := time.NewTicker(r.cfg.Heartbeat)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tctx, cancel := context.WithTimeout(ctx, 4*r.cfg.Heartbeat+time.Second)
		if r.out.len() > 0 {
			sent, expired := r.out.flush(tctx)
			if sent+expired > 0 {
				r.log.Info().Int("sent", sent).Int("expired", expired).Int("waiting", r.out.len()).Msg("bus: retried sends")
			}
		}
		r.bus.tick(tctx)
		if time.Since(lastSweep) > r.cfg.KeyTTL/6 {
			lastSweep = time.Now()
			r.sweep(tctx)
		}
		cancel()
	}
}

// beat stamps this node alive, restores its entries when Redis lost them
// (our previous stamp is missing or older than the one we saw: a restart, a
// flush, a failover to a stale replica, or others took us for dead), and
// reaps nodes that missed their beats.
func (r *Redis) beat(ctx context.Context, st *nodeState) {
	res, err := r.lua.beat.Run(ctx, r.hb, []string{r.nodesKey()}, r.node, r.cfg.DeadAfter.Milliseconds(), r.ttlMS()).Slice()
	if err != nil || len(res) != 4 {
		r.cfg.Observer.Heartbeat(false)
		r.log.Warn().Err(err).Msg("presence: heartbeat failed")
		return
	}
	r.cfg.Observer.Heartbeat(true)
	prev, _ := res[0].(string)
	now := strconv.FormatInt(toInt(res[1]), 10)
	if prev != st.lastBeat {
		r.log.Warn().Str("stamp", prev).Str("expected", st.lastBeat).Msg("presence: redis lost this node's state; restoring it")
		if err := r.resync(ctx, st.recv); err != nil {
			r.log.Warn().Err(err).Msg("presence: restore failed; retrying next beat")
			return // lastBeat unchanged: the next beat tries again
		}
		if !st.lastOK.IsZero() {
			// Until now the other nodes did not see this node's sockets and
			// sent it nothing: read back what they committed meanwhile.
			since := st.lastOK
			r.bus.spawn(func(ctx context.Context) { st.recv.Recover(ctx, since) })
		}
	}
	st.lastBeat, st.lastOK = now, time.Now()
	live := map[string]bool{}
	if st.seen == nil {
		st.seen = map[string]time.Time{}
	}
	if l, ok := res[2].([]any); ok {
		for _, x := range l {
			if node, ok := x.(string); ok {
				live[node] = true
				st.seen[node] = st.lastOK
			}
		}
	}
	others := make([]string, 0, len(live))
	for node := range live {
		if node != r.node {
			others = append(others, node)
		}
	}
	slices.Sort(others)
	r.nodes.Store(&others)
	dead, _ := res[3].([]any)
	var died []string
	for _, d := range dead {
		if node, ok := d.(string); ok && node != r.node {
			died = append(died, node)
			r.reap(ctx, node, st.recv)
		}
	}
	// A node that vanished from the registry left cleanly, unless a reaper
	// marks it dead. The reaper marks it after taking it off the registry,
	// so a vanished node is checked again at the next beats for a while.
	if st.vanished == nil {
		st.vanished = map[string]time.Time{}
	}
	for node := range st.live {
		if !live[node] && !slices.Contains(died, node) {
			st.vanished[node] = time.Now()
		}
	}
	for node, at := range st.vanished {
		switch {
		case live[node] || slices.Contains(died, node):
			delete(st.vanished, node)
		case time.Since(at) > 10*r.cfg.Heartbeat: // left cleanly
			delete(st.vanished, node)
			delete(st.seen, node)
		case r.hb.Exists(ctx, r.deadKey(node)).Val() == 1:
			died = append(died, node)
			delete(st.vanished, node)
		}
	}
	st.live = live
	for _, node := range died {
		r.recoverFromDeath(st, node)
	}
}

// recoverFromDeath tells the receiver once per dead node: it may have
// committed events it never published (it died between the commit and the
// bus), which the receiver reads from the event log.
func (r *Redis) recoverFromDeath(st *nodeState, node string) {
	if st.mourned[node] {
		return
	}
	if st.mourned == nil {
		st.mourned = map[string]bool{}
	}
	st.mourned[node] = true
	since := time.Now().Add(-r.cfg.DeadAfter - r.cfg.Heartbeat)
	if seen, ok := st.seen[node]; ok {
		// A survivor busy for a while notices the death late; the node's
		// last sighting bounds when it could have died.
		if early := seen.Add(-r.cfg.DeadAfter - r.cfg.Heartbeat); early.Before(since) {
			since = early
		}
		delete(st.seen, node)
	}
	r.log.Warn().Str("dead", node).Time("since", since).Msg("presence: a node died; recovering events it may not have published")
	r.bus.spawn(func(ctx context.Context) { st.recv.Recover(ctx, since) })
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// reap removes a dead node's sockets (one survivor does it, under a lock)
// and reports the users who thereby went offline.
func (r *Redis) reap(ctx context.Context, node string, recv Receiver) {
	ok, err := r.rdb.SetNX(ctx, r.reapKey(node), r.node, 30*time.Second).Result()
	if err != nil || !ok {
		return
	}
	r.cfg.Observer.NodeReaped()
	users, offline, err := r.dropNode(ctx, node)
	if err != nil {
		r.log.Warn().Err(err).Str("node", node).Msg("presence: reap")
	}
	if err := r.rdb.Set(ctx, r.deadKey(node), r.node, time.Minute).Err(); err != nil { // tells the others it died
		r.log.Warn().Err(err).Str("node", node).Msg("presence: reap")
	}
	r.log.Warn().Str("node", node).Int("users", users).Int("offline", len(offline)).Msg("presence: reaped a dead node")
	if len(offline) > 0 {
		recv.PresenceChanged(ctx, offline, false)
	}
}

// dropNode removes every socket node has in Redis, in pipelined batches,
// marks the users who thereby went offline in their organization's index,
// and takes the node off the registry. It returns how many users the node
// had and which went offline. Reaping a dead node and leaving cleanly both
// use it.
func (r *Redis) dropNode(ctx context.Context, node string) (int, []string, error) {
	users, err := r.rdb.SMembers(ctx, r.usersKey(node)).Result()
	if err != nil {
		return 0, nil, err
	}
	var (
		offline []string
		errs    []error
	)
	for start := 0; start < len(users); start += 500 {
		batch := users[start:min(start+500, len(users))]
		pipe := r.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i, uid := range batch {
			cmds[i] = r.lua.reap.Eval(ctx, pipe, []string{r.userKey(uid)}, node+"/")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			errs = append(errs, err)
		}
		for i, c := range cmds {
			res, err := c.Slice()
			if err != nil || len(res) != 3 || toInt(res[0]) != 1 {
				continue
			}
			offline = append(offline, batch[i])
			if v, ok := res[2].(string); ok {
				if org, _, ok := parseConnValue(v); ok {
					r.setOrg(ctx, org, batch[i], -toInt(res[1]))
				}
			}
		}
	}
	pipe := r.rdb.Pipeline()
	pipe.Del(ctx, r.usersKey(node))
	pipe.ZRem(ctx, r.nodesKey(), node)
	if _, err := pipe.Exec(ctx); err != nil {
		errs = append(errs, err)
	}
	return len(users), offline, errors.Join(errs...)
}

// resync makes Redis hold exactly this node's live sockets and followers
// again. It holds every user stripe, so no Add or Remove runs meanwhile.
func (r *Redis) resync(ctx context.Context, recv Receiver) error {
	for i := range r.stripes {
		r.stripes[i].Lock()
	}
	defer func() {
		for i := range r.stripes {
			r.stripes[i].Unlock()
		}
	}()
	r.mu.Lock()
	byUser := map[string][]any{}
	orgs := map[string]string{}
	for id, c := range r.local {
		byUser[c.user] = append(byUser[c.user], r.mine+id, connValue(c.org, c.device))
		orgs[c.user] = c.org
	}
	watched := make([]string, 0, len(r.watch))
	for uid := range r.watch {
		watched = append(watched, uid)
	}
	r.mu.Unlock()

	stale, err := r.rdb.SMembers(ctx, r.usersKey(r.node)).Result()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, uid := range stale {
		if _, ok := byUser[uid]; !ok {
			byUser[uid] = nil
		}
	}
	var online, offline []string
	for uid, pairs := range byUser {
		args := append([]any{r.mine, r.ttlMS()}, pairs...)
		res, err := r.lua.sync.Run(ctx, r.rdb, []string{r.userKey(uid)}, args...).Int64Slice()
		if err != nil {
			return fmt.Errorf("restore %s: %w", uid, err)
		}
		before, after, gen := res[0], res[1], res[2]
		switch {
		case after > 0 && orgs[uid] != "":
			r.setOrg(ctx, orgs[uid], uid, gen)
			if before == 0 {
				online = append(online, uid)
			}
		case before > 0 && after == 0:
			offline = append(offline, uid)
		}
	}
	pipe := r.rdb.Pipeline()
	pipe.Del(ctx, r.usersKey(r.node))
	for uid := range orgs {
		pipe.SAdd(ctx, r.usersKey(r.node), uid)
	}
	pipe.PExpire(ctx, r.usersKey(r.node), r.cfg.KeyTTL)
	for _, uid := range watched {
		pipe.HSet(ctx, r.watchKey(uid), r.node, 1)
		pipe.PExpire(ctx, r.watchKey(uid), r.cfg.KeyTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	r.log.Info().Int("users", len(orgs)).Int("followed", len(watched)).Msg("presence: node state restored")
	if len(online) > 0 {
		recv.PresenceChanged(ctx, online, true)
	}
	if len(offline) > 0 {
		recv.PresenceChanged(ctx, offline, false)
	}
	return nil
}

// sweep refreshes the expiry of every key this node keeps alive.
func (r *Redis) sweep(ctx context.Context) {
	r.mu.Lock()
	keys := []string{r.usersKey(r.node)}
	seen := map[string]bool{}
	for _, c := range r.local {
		for _, k := range []string{r.userKey(c.user), r.orgKey(c.org)} {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	for uid := range r.watch {
		keys = append(keys, r.watchKey(uid))
	}
	r.mu.Unlock()
	for start := 0; start < len(keys); start += 1000 {
		pipe := r.rdb.Pipeline()
		for _, k := range keys[start:min(start+1000, len(keys))] {
			pipe.PExpire(ctx, k, r.cfg.KeyTTL)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			r.log.Debug().Err(err).Msg("presence: refresh expiries")
		}
	}
}

// stop ends the background work.
func (r *Redis) stop() {
	r.runMu.Lock()
	cancel, done := r.cancel, r.done
	r.runMu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.bus.close() // unblocks the reader, which does not watch ctx
	if done != nil {
		<-done
	}
}

// Close leaves the cluster cleanly: sockets still registered by this node
// are removed (the gateway normally removed them already), the node is
// taken off the registry, and the client is closed.
func (r *Redis) Close(ctx context.Context) error {
	r.stop()
	r.runMu.Lock()
	started := r.done != nil
	r.runMu.Unlock()
	var errs []error
	if started {
		if _, _, err := r.dropNode(ctx, r.node); err != nil { // normally nothing left: the gateway removed its sockets
			errs = append(errs, err)
		}
	}
	if err := r.rdb.Close(); err != nil {
		errs = append(errs, err)
	}
	if r.hb != r.rdb {
		if err := r.hb.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leave cluster: %w", err)
	}
	return nil
}

// UseHeartbeatClient gives the node's heartbeats and dead-node checks a
// client of their own (NewHeartbeatClient), so that they never wait for a
// connection behind user traffic: a node whose beats queue past
// DeadAfter is declared dead by the others while healthy. The node owns
// and closes it. Call it before Start.
func (r *Redis) UseHeartbeatClient(hb redis.UniversalClient) { r.hb = hb }

// Ping checks that Redis answers, for readiness checks.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Crash stops the node as a crash would: no entry is removed from Redis,
// so the other nodes must notice the silence and reap it. For fault tests.
func (r *Redis) Crash() {
	r.stop()
	_ = r.rdb.Close()
	if r.hb != r.rdb {
		_ = r.hb.Close()
	}
}
