package gateway

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
)

// Log is what the sequencer reads from the event log when it cannot wait
// any longer for a commit (implemented by *chat.Service).
type Log interface {
	ResolveCommit(ctx context.Context, seq int64) (chat.Commit, error)
	LastCommit(ctx context.Context) (int64, error)
	// Observe is told every released commit, in order, so that chat drops
	// cached memberships the commit changed (chat.Service.Observe).
	Observe(c chat.Commit)
}

// sequencer releases logged events to this node's sockets in commit order:
// the order of the store's commit numbers, which every node shares
// (docs/events.md, "Order"). Commits arrive from this node's committer and,
// in a cluster, from every other node through the bus; number n+1 waits
// until n has been released or is known to be void. A number that stays
// missing for HoldBack (its packet was lost, its writer is slow, failed or
// dead) is read from the log with ResolveCommit, which waits for a writer
// still holding it or voids it for good, so nothing waits longer than
// HoldBack plus one read of the log, and nothing is skipped.
//
// Releasing a commit queues its frames on the recipients' sockets, which
// never blocks; after a run of commits (every arrival waiting, up to
// releaseRun) flush writes them, each socket once (outbox.go). The lock is
// held while releasing and flushing, so a socket that switches from
// replaying the log to live delivery (replay.go) does so between two runs,
// with nothing of the last run left unwritten.
type sequencer struct {
	// immutable after newSequencer
	log        Log
	deliver    func(d *chat.Delivery)
	flush      func()
	holdBack   time.Duration
	probeEvery time.Duration
	maxPending int
	logger     zerolog.Logger
	in         chan arrival
	wake       chan struct{} // probe the log now
	stop       chan struct{}
	done       chan struct{}
	resolving  atomic.Bool

	mu           sync.Mutex
	next         int64             // guarded by mu: lowest number not yet released
	known        int64             // guarded by mu: highest number known to exist
	pending      map[int64]arrival // guarded by mu: arrived, waiting for a lower number
	blockedSince time.Time         // guarded by mu: when next became the missing head
	hold         holdStats         // guarded by mu
}

// arrival is a commit and when it reached this node.
type arrival struct {
	c  chat.Commit
	at time.Time
}

// sequencerConfig tunes a sequencer; zero values take the defaults.
type sequencerConfig struct {
	holdBack   time.Duration // default 250ms
	probeEvery time.Duration // default 1s
	maxPending int           // commits held above a missing one; default 1<<20
	// flush writes what deliver queued, after each run of releases (nil:
	// deliver writes at once).
	flush func()
}

// releaseRun bounds the arrivals one run takes from the queue before what
// they released is written.
const releaseRun = 256

func newSequencer(log Log, deliver func(*chat.Delivery), cfg sequencerConfig, logger zerolog.Logger) *sequencer {
	if cfg.holdBack <= 0 {
		cfg.holdBack = 250 * time.Millisecond
	}
	if cfg.probeEvery <= 0 {
		cfg.probeEvery = time.Second
	}
	if cfg.maxPending <= 0 {
		cfg.maxPending = 1 << 20
	}
	if cfg.flush == nil {
		cfg.flush = func() {}
	}
	return &sequencer{log: log, deliver: deliver, flush: cfg.flush, holdBack: cfg.holdBack, probeEvery: cfg.probeEvery,
		maxPending: cfg.maxPending, logger: logger, in: make(chan arrival, 4096), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), pending: map[int64]arrival{}}
}

// start sets the release cursor after the log's last commit and runs the
// loop. window > 0 (a cluster) first resolves the last window numbers, so
// that a commit another node has in flight is decided before this node
// starts after it: it could otherwise become visible below the cursor and
// be neither released live nor read by a replay bounded by the cursor.
func (q *sequencer) start(ctx context.Context, window int64) error {
	last, err := q.log.LastCommit(ctx)
	if err != nil {
		return err
	}
	for seq := max(1, last-window+1); window > 0 && seq <= last; seq++ {
		if _, err := q.log.ResolveCommit(ctx, seq); err != nil {
			return err
		}
	}
	q.mu.Lock()
	q.next, q.known = last+1, last
	q.mu.Unlock()
	go q.run()
	return nil
}

// close stops the loop; commits pushed afterwards are dropped.
func (q *sequencer) close() {
	close(q.stop)
	<-q.done
}

// push hands over a commit of this node (blocking: the committer slows down
// rather than lose an ordered release).
func (q *sequencer) push(c chat.Commit) {
	select {
	case q.in <- arrival{c: c, at: time.Now()}:
	case <-q.stop:
	}
}

// offer hands over a commit from the bus without blocking the bus reader;
// when the queue is full it is dropped and later read from the log.
func (q *sequencer) offer(c chat.Commit) bool {
	select {
	case q.in <- arrival{c: c, at: time.Now()}:
		return true
	default:
		q.mu.Lock()
		q.known = max(q.known, c.Seq)
		q.mu.Unlock()
		return false
	}
}

// probeNow asks the loop to read the log's last commit at once (after a bus
// outage: commits published meanwhile are missing).
func (q *sequencer) probeNow() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *sequencer) run() {
	defer close(q.done)
	tick := time.NewTicker(max(q.holdBack/4, time.Millisecond))
	defer tick.Stop()
	probe := time.NewTicker(q.probeEvery)
	defer probe.Stop()
	var work sync.WaitGroup
	defer work.Wait()
	for {
		select {
		case <-q.stop:
			return
		case a := <-q.in:
			q.addRun(a)
		case <-tick.C:
			if seqs := q.overdue(time.Now()); len(seqs) > 0 && q.resolving.CompareAndSwap(false, true) {
				work.Go(func() { q.resolve(seqs) })
			}
		case <-probe.C:
			work.Go(q.probe)
		case <-q.wake:
			work.Go(q.probe)
		}
	}
}

// add records an arrival, releases what it unblocks and writes it.
func (q *sequencer) add(a arrival) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(a)
	q.flush()
}

// addRun is add for a, then for every arrival already waiting (up to
// releaseRun in all), and writes what they released once: under load the
// runs grow, and so do the frames that share a write.
func (q *sequencer) addRun(a arrival) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(a)
more:
	for range releaseRun - 1 {
		select {
		case a = <-q.in:
			q.addLocked(a)
		default:
			break more
		}
	}
	q.flush()
}

// addLocked records an arrival and releases what it unblocks.
func (q *sequencer) addLocked(a arrival) {
	seq := a.c.Seq
	if seq < q.next {
		return // released already (a late packet of a number read from the log)
	}
	q.known = max(q.known, seq)
	if _, dup := q.pending[seq]; dup {
		return
	}
	if seq != q.next && len(q.pending) >= q.maxPending {
		return // memory bound: it will be read from the log when its turn comes
	}
	q.pending[seq] = a
	q.releaseLocked(a.at)
}

// releaseLocked delivers every commit from next on that has arrived.
func (q *sequencer) releaseLocked(now time.Time) {
	moved := false
	for {
		a, ok := q.pending[q.next]
		if !ok {
			break
		}
		delete(q.pending, q.next)
		for i := range a.c.Deliveries {
			q.deliver(&a.c.Deliveries[i])
		}
		q.log.Observe(a.c)
		q.hold.add(now.Sub(a.at))
		q.next++
		moved = true
	}
	switch {
	case q.next > q.known:
		q.blockedSince = time.Time{}
	case moved || q.blockedSince.IsZero():
		q.blockedSince = now
	}
}

// overdue lists the missing numbers to read from the log once the head has
// been missing for holdBack: up to 256 from the head on.
func (q *sequencer) overdue(now time.Time) []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.blockedSince.IsZero() || now.Sub(q.blockedSince) < q.holdBack {
		return nil
	}
	var out []int64
	for seq := q.next; seq <= q.known && len(out) < 256; seq++ {
		if _, ok := q.pending[seq]; !ok {
			out = append(out, seq)
		}
	}
	return out
}

// resolve reads missing numbers from the log, lowest first, and adds them
// as arrivals. On an error it stops; the next overdue check tries again.
func (q *sequencer) resolve(seqs []int64) {
	defer q.resolving.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-q.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	read, void, events := 0, 0, 0
	defer func() {
		if read > 0 {
			q.logger.Info().Int64("from", seqs[0]).Int("commits", read).Int("void", void).Int("events", events).
				Msg("order: read missing commits from the log")
		}
	}()
	for _, seq := range seqs {
		c, err := q.log.ResolveCommit(ctx, seq)
		if err != nil {
			q.logger.Warn().Err(err).Int64("commit", seq).Msg("order: reading a missing commit from the log failed; retrying")
			q.mu.Lock()
			q.blockedSince = time.Now() // back off for one hold-back
			q.mu.Unlock()
			return
		}
		read, events = read+1, events+len(c.Deliveries)
		if c.Void {
			void++
		}
		q.add(arrival{c: c, at: time.Now()})
	}
}

// probe learns the highest number handed out, so that commits whose
// packets were lost at the end of a burst are noticed too.
func (q *sequencer) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	last, err := q.log.LastCommit(ctx)
	if err != nil {
		q.logger.Debug().Err(err).Msg("order: probe the log")
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if last > q.known {
		q.known = last
		if q.blockedSince.IsZero() && q.next <= q.known {
			q.blockedSince = time.Now()
		}
	}
}

// released is the highest commit number released so far: every event at or
// below its positions has been handed to the sockets or is void.
func (q *sequencer) released() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.next - 1
}

// handoff runs fn (a socket going live) if nothing was released after
// commit upTo (any upTo < 0: in any case), under the lock, so no commit is
// released meanwhile.
func (q *sequencer) handoff(upTo int64, fn func()) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if upTo >= 0 && q.next-1 != upTo {
		return false
	}
	fn()
	return true
}

// holdStats reports how long released commits waited on this node between
// arriving and being released (the cost of restoring commit order).
func (q *sequencer) holdStats() (p50, p99 time.Duration, n int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.hold.quantile(0.5), q.hold.quantile(0.99), q.hold.n
}

// holdStats is a histogram of hold times: four buckets per power of two
// of microseconds (a quarter-octave, at most 19% wide), constant memory,
// enough for p50/p99.
type holdStats struct {
	buckets [4 * 40]int64
	n       int64
}

// holdBucket is the bucket of us microseconds: bits.Len, then the two bits
// below the top one.
func holdBucket(us uint64) int {
	b := bits.Len64(us)
	if b < 3 {
		return int(us) // 0..3: exact
	}
	return min(4*b+int(us>>(b-3)&3), len(holdStats{}.buckets)-1)
}

// holdUpper is the largest value (µs) of bucket i.
func holdUpper(i int) uint64 {
	if i < 4 {
		return uint64(i)
	}
	b, sub := i/4, uint64(i%4)
	return (4+sub+1)<<(b-3) - 1
}

func (h *holdStats) add(d time.Duration) {
	h.buckets[holdBucket(uint64(max(d.Microseconds(), 0)))]++
	h.n++
}

// quantile is the upper bound of the bucket holding quantile p.
func (h *holdStats) quantile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	want := min(int64(p*float64(h.n))+1, h.n)
	var seen int64
	for i, c := range h.buckets {
		seen += c
		if seen >= want {
			return time.Duration(holdUpper(i)) * time.Microsecond
		}
	}
	return time.Duration(holdUpper(len(h.buckets)-1)) * time.Microsecond
}
