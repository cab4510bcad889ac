package gateway

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
)

// memLog is an event log in memory for the sequencer's own tests: commits
// by number; numbers never committed resolve as void. (The sequencer
// against the real stores is tested end to end in order_test.go.)
type memLog struct {
	mu       sync.Mutex
	commits  map[int64]chat.Commit
	last     int64
	resolved []int64
	fail     bool
}

func newMemLog() *memLog { return &memLog{commits: map[int64]chat.Commit{}} }

func (l *memLog) ResolveCommit(_ context.Context, seq int64) (chat.Commit, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return chat.Commit{}, fmt.Errorf("log unreachable")
	}
	l.resolved = append(l.resolved, seq)
	if c, ok := l.commits[seq]; ok {
		return c, nil
	}
	return chat.Commit{Seq: seq, Void: true}, nil
}

func (l *memLog) Observe(chat.Commit) {}

func (l *memLog) LastCommit(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, nil
}

// commit records commit seq with one event and returns it.
func (l *memLog) commit(seq int64) chat.Commit {
	c := chat.Commit{Seq: seq, Deliveries: []chat.Delivery{{EventID: fmt.Sprint("e", seq), Pos: chat.LastPos(seq-1) + 1,
		UserIDs: []string{"u"}, Frame: []byte(fmt.Sprint(seq))}}}
	l.mu.Lock()
	l.commits[seq] = c
	l.last = max(l.last, seq)
	l.mu.Unlock()
	return c
}

// released collects what a sequencer releases.
type released struct {
	mu  sync.Mutex
	ids []string
}

func (r *released) deliver(d *chat.Delivery) {
	r.mu.Lock()
	r.ids = append(r.ids, d.EventID)
	r.mu.Unlock()
}

func (r *released) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

func (r *released) waitFor(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(r.get()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("released %v, want %d events within %v", r.get(), n, within)
		}
		time.Sleep(time.Millisecond)
	}
	return r.get()
}

func startSequencer(t *testing.T, l *memLog, holdBack time.Duration) (*sequencer, *released) {
	t.Helper()
	r := &released{}
	q := newSequencer(l, r.deliver, sequencerConfig{holdBack: holdBack, probeEvery: 20 * time.Millisecond}, zerolog.Nop())
	if err := q.start(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.close)
	return q, r
}

// TestSequencerRestoresOrder: commits that arrive out of order are released
// in order, each once; a late copy of a released commit is dropped.
func TestSequencerRestoresOrder(t *testing.T) {
	l := newMemLog()
	q, r := startSequencer(t, l, time.Minute) // never read from the log here
	for _, seq := range []int64{3, 1, 5, 2, 4} {
		q.push(l.commit(seq))
	}
	q.push(l.commit(2)) // late duplicate
	got := r.waitFor(t, 5, time.Second)
	if want := []string{"e1", "e2", "e3", "e4", "e5"}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	time.Sleep(20 * time.Millisecond)
	if got := r.get(); len(got) != 5 {
		t.Fatalf("released %v: the late copy came through", got)
	}
	if q.released() != 5 {
		t.Fatalf("released up to %d, want 5", q.released())
	}
}

// TestSequencerReadsMissingFromLog: a commit whose packet never comes (lost
// on the bus) and a number that was never used (its writer failed or died)
// hold later commits back for about the hold-back, then are read from the
// log: the lost one is released in its place, the void one skipped.
func TestSequencerReadsMissingFromLog(t *testing.T) {
	l := newMemLog()
	hold := 60 * time.Millisecond
	q, r := startSequencer(t, l, hold)
	l.commit(1) // committed, packet lost
	l.mu.Lock()
	l.last = 2 // number 2 handed out, never committed
	l.mu.Unlock()
	start := time.Now()
	q.offer(l.commit(3))
	got := r.waitFor(t, 2, 5*time.Second)
	waited := time.Since(start)
	if want := []string{"e1", "e3"}; !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	if waited < hold || waited > 2*time.Second {
		t.Fatalf("held back %v, want about the hold-back %v", waited, hold)
	}
	l.mu.Lock()
	resolved := slices.Clone(l.resolved)
	l.mu.Unlock()
	if !slices.Equal(resolved, []int64{1, 2}) {
		t.Fatalf("read %v from the log, want [1 2]", resolved)
	}
}

// TestSequencerProbeFindsTrailingLoss: the last commits of a burst are lost
// and nothing follows them; the periodic probe of the log's last number
// finds them.
func TestSequencerProbeFindsTrailingLoss(t *testing.T) {
	l := newMemLog()
	q, r := startSequencer(t, l, 30*time.Millisecond)
	q.push(l.commit(1))
	l.commit(2) // lost
	l.commit(3) // lost
	if got := r.waitFor(t, 3, 5*time.Second); !slices.Equal(got, []string{"e1", "e2", "e3"}) {
		t.Fatalf("released %v", got)
	}
}

// TestSequencerRetriesWhenLogFails: while the log cannot be read the
// sequencer keeps holding (it never skips); once it can, it goes on.
func TestSequencerRetriesWhenLogFails(t *testing.T) {
	l := newMemLog()
	l.fail = true
	q, r := startSequencer(t, l, 20*time.Millisecond)
	l.commit(1) // lost
	q.push(l.commit(2))
	time.Sleep(150 * time.Millisecond)
	if got := r.get(); len(got) != 0 {
		t.Fatalf("released %v while commit 1 was unknown", got)
	}
	l.mu.Lock()
	l.fail = false
	l.mu.Unlock()
	if got := r.waitFor(t, 2, 5*time.Second); !slices.Equal(got, []string{"e1", "e2"}) {
		t.Fatalf("released %v", got)
	}
}

// TestSequencerBoundsMemory: past maxPending held commits, further ones
// are not kept; they are read from the log in their turn, so nothing is lost.
func TestSequencerBoundsMemory(t *testing.T) {
	l := newMemLog()
	r := &released{}
	q := newSequencer(l, r.deliver, sequencerConfig{holdBack: 20 * time.Millisecond, probeEvery: time.Hour, maxPending: 10}, zerolog.Nop())
	if err := q.start(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	defer q.close()
	l.commit(1) // lost: everything after it waits
	for seq := int64(2); seq <= 100; seq++ {
		q.push(l.commit(seq))
	}
	got := r.waitFor(t, 100, 10*time.Second)
	for i, id := range got {
		if id != fmt.Sprint("e", i+1) {
			t.Fatalf("release %d is %s: %v", i, id, got)
		}
	}
	q.mu.Lock()
	n := len(q.pending)
	q.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d commits still held", n)
	}
	l.mu.Lock()
	resolved := len(l.resolved)
	l.mu.Unlock()
	if resolved < 80 {
		t.Fatalf("only %d commits read from the log: the bound did not apply", resolved)
	}
}

// TestSequencerHandoff: a socket going live does so between two releases:
// handoff succeeds only if nothing was released after the commit the
// replay read up to.
func TestSequencerHandoff(t *testing.T) {
	l := newMemLog()
	q, r := startSequencer(t, l, time.Minute)
	q.push(l.commit(1))
	r.waitFor(t, 1, time.Second)
	if !q.handoff(1, func() {}) {
		t.Fatal("handoff at the released commit refused")
	}
	q.push(l.commit(2))
	r.waitFor(t, 2, time.Second)
	ran := false
	if q.handoff(1, func() { ran = true }) || ran {
		t.Fatal("handoff accepted after a later release")
	}
	if !q.handoff(-1, func() { ran = true }) || !ran {
		t.Fatal("unconditional handoff refused")
	}
}

// BenchmarkSequencerHeldBack measures the cost per commit of the
// sequencer's bookkeeping when a million commits are held behind one
// missing number (about 17 minutes of a lost commit at 1k commits/s, far
// past the hold-back): adding one more and, once the missing one arrives,
// releasing all of them. Each operation is O(1).
//
//	go test -run '^$' -bench SequencerHeldBack -benchtime 1x ./gateway/
func BenchmarkSequencerHeldBack(b *testing.B) {
	const held = 1 << 20
	for range b.N {
		b.StopTimer()
		n := 0
		q := newSequencer(newMemLog(), func(*chat.Delivery) { n++ }, sequencerConfig{maxPending: held + 1}, zerolog.Nop())
		q.next, q.known = 1, 0
		mk := func(seq int64) arrival {
			return arrival{c: chat.Commit{Seq: seq, Deliveries: []chat.Delivery{{Pos: chat.LastPos(seq-1) + 1}}}, at: time.Now()}
		}
		arrivals := make([]arrival, held)
		for i := range arrivals {
			arrivals[i] = mk(int64(i) + 2)
		}
		b.StartTimer()
		start := time.Now()
		for _, a := range arrivals {
			q.add(a)
		}
		addEach := time.Since(start) / held
		start = time.Now()
		q.add(mk(1)) // the missing one: releases everything
		releaseEach := time.Since(start) / (held + 1)
		b.StopTimer()
		if n != held+1 || len(q.pending) != 0 {
			b.Fatalf("released %d, held %d", n, len(q.pending))
		}
		b.ReportMetric(float64(addEach.Nanoseconds()), "ns/add")
		b.ReportMetric(float64(releaseEach.Nanoseconds()), "ns/release")
	}
}

// TestHoldStats: the histogram's quantiles land within a quarter-octave of
// the true values.
func TestHoldStats(t *testing.T) {
	var h holdStats
	for i := range 1000 {
		h.add(time.Duration(i+1) * 10 * time.Microsecond) // 10µs .. 10ms
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5010 * time.Microsecond}, {0.99, 9910 * time.Microsecond}} {
		got := h.quantile(c.p)
		if got < c.want || float64(got) > 1.25*float64(c.want) {
			t.Errorf("p%v: got %v, want %v (+25%% at most)", c.p*100, got, c.want)
		}
	}
	for us := uint64(0); us < 1<<20; us += 7 {
		if i := holdBucket(us); us > holdUpper(i) || (i > 0 && us <= holdUpper(i-1)) {
			t.Fatalf("%dµs in bucket %d (upper %d, previous upper %d)", us, i, holdUpper(i), holdUpper(i-1))
		}
	}
}
