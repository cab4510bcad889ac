package gateway

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// fakeConn records what a socket writes. Unless stuck, the "kernel" takes
// every byte at once (written follows sent).
type fakeConn struct {
	mu      sync.Mutex
	writes  [][]string // the frames of each writeTexts call
	closed  int        // close code sent
	stalled bool       // closeStalled was called
	stuck   bool       // the kernel takes nothing
	written *atomic.Int64
	// active, when set, counts the writes in progress across conns; peak
	// keeps the most seen at once.
	active, peak *atomic.Int64
}

func (f *fakeConn) writeTexts(frames [][]byte, _ int, sent *atomic.Int64) (int, error) {
	if f.active != nil {
		n := f.active.Add(1)
		defer f.active.Add(-1)
		for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
		}
		time.Sleep(20 * time.Microsecond) // a write(2) takes about 10 µs
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var got []string
	n := 0
	for _, fr := range frames {
		got = append(got, string(fr))
		n += wireSize(len(fr))
	}
	f.writes = append(f.writes, got)
	sent.Add(int64(n))
	if !f.stuck {
		f.written.Add(int64(n))
	}
	return 1, nil
}

func (f *fakeConn) writePing() error { return nil }

func (f *fakeConn) closeWith(code int, _ string) {
	f.mu.Lock()
	f.closed = code
	f.mu.Unlock()
}

func (f *fakeConn) closeStalled() {
	f.mu.Lock()
	f.stalled = true
	f.mu.Unlock()
}

func (f *fakeConn) remoteAddr() string { return "127.0.0.1:1" }

func (f *fakeConn) get() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

// fakeSocket is a socket of g on a fakeConn, bound to user in the hub.
func fakeSocket(g *Gateway, user string) (*Socket, *fakeConn) {
	f := &fakeConn{}
	s := g.newSocket(f)
	f.written = &s.written
	g.hub.bind(s, user, 0)
	return s, f
}

func testGateway(cfg Config) *Gateway { return New(cfg, nil, nil, nil, zerolog.Nop()) }

// TestReleaseRunOneWritePerSocket: the frames a run of releases queues on a
// socket go out in one write, in release order; the socket that caused an
// event gets none of it; a socket replaying the log gets nothing live.
func TestReleaseRunOneWritePerSocket(t *testing.T) {
	g := testGateway(Config{})
	a1, fa1 := fakeSocket(g, "alice")
	_, fa2 := fakeSocket(g, "alice")
	_, fb := fakeSocket(g, "bob")
	c, fc := fakeSocket(g, "carol")
	c.startReplay()
	var want []string
	for i := range 10 {
		d := chat.Delivery{Frame: fmt.Appendf(nil, `{"n":%d}`, i), UserIDs: []string{"alice", "bob", "carol"}}
		if i%2 == 0 {
			d.Except = a1.id
		} else {
			want = append(want, string(d.Frame))
		}
		g.release(&d)
	}
	if got := fb.get(); len(got) != 0 {
		t.Fatalf("written before the run ended: %v", got)
	}
	g.flushReleased()
	all := make([]string, 10)
	for i := range all {
		all[i] = fmt.Sprintf(`{"n":%d}`, i)
	}
	for name, f := range map[string]*fakeConn{"alice's other socket": fa2, "bob": fb} {
		if got := f.get(); len(got) != 1 || !slices.Equal(got[0], all) {
			t.Fatalf("%s: got writes %v, want one write of the 10 frames in order", name, got)
		}
	}
	if got := fa1.get(); len(got) != 1 || !slices.Equal(got[0], want) {
		t.Fatalf("the sender's socket: got writes %v, want one write of the others' 5 frames %v", got, want)
	}
	if got := fc.get(); len(got) != 0 {
		t.Fatalf("a replaying socket got live frames: %v", got)
	}
	for _, s := range []*Socket{a1, c} {
		if s.out != nil {
			t.Fatal("an outbox outlived its flush: idle sockets must hold none")
		}
	}
}

// TestParallelFlush: a run that touched many sockets is written by several
// goroutines at once, and still every socket gets every frame once, in
// release order, with the replies sent meanwhile in their place behind
// what was queued before them.
func TestParallelFlush(t *testing.T) {
	g := testGateway(Config{})
	g.flushers = 4
	var active, peak atomic.Int64
	const n = 1000
	socks, conns, users := make([]*Socket, n), make([]*fakeConn, n), make([]string, n)
	for i := range n {
		users[i] = fmt.Sprint("u", i)
		socks[i], conns[i] = fakeSocket(g, users[i])
		conns[i].active, conns[i].peak = &active, &peak
	}
	replies := make(chan int, 1)
	var wg sync.WaitGroup
	wg.Go(func() { // replies to every tenth socket while the runs are written
		for r := range replies {
			for i := 0; i < n; i += 10 {
				socks[i].send(fmt.Appendf(nil, "reply%d", r))
			}
		}
	})
	for run := range 5 {
		for e := range 3 {
			g.release(&chat.Delivery{Frame: fmt.Appendf(nil, "r%de%d", run, e), UserIDs: users})
		}
		if run == 2 {
			replies <- run
		}
		g.flushReleased()
	}
	close(replies)
	wg.Wait()
	if peak.Load() < 2 {
		t.Fatalf("at most %d socket written at once: the run was not written in parallel", peak.Load())
	}
	for i, f := range conns {
		var got, events []string
		for _, w := range f.get() {
			got = append(got, w...)
		}
		for _, fr := range got {
			if fr[0] == 'r' && fr[1] != 'e' {
				events = append(events, fr)
			}
		}
		var want []string
		for run := range 5 {
			for e := range 3 {
				want = append(want, fmt.Sprintf("r%de%d", run, e))
			}
		}
		if !slices.Equal(events, want) {
			t.Fatalf("socket %d: events %v, want %v", i, events, want)
		}
		if i%10 == 0 {
			at := slices.Index(got, "reply2")
			if at < 9 || slices.Index(got, "r2e2") > at {
				t.Fatalf("socket %d: reply at %d in %v, want it after the frames of run 2", i, at, got)
			}
		}
	}
}

// TestSendAfterQueued: a reply (send) goes out behind the events queued
// before it, in the same write; so does a close frame.
func TestSendAfterQueued(t *testing.T) {
	g := testGateway(Config{})
	s, f := fakeSocket(g, "alice")
	for i := range 3 {
		g.release(&chat.Delivery{Frame: fmt.Appendf(nil, "e%d", i), UserIDs: []string{"alice"}})
	}
	s.send([]byte("reply"))
	g.flushReleased() // finds nothing left
	g.release(&chat.Delivery{Frame: []byte("e3"), UserIDs: []string{"alice"}})
	s.close(4000)
	got := f.get()
	if want := [][]string{{"e0", "e1", "e2", "reply"}, {"e3"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("writes: got %v, want %v", got, want)
	}
	if f.closed != 4000 {
		t.Fatalf("close code %d, want 4000 after the queued frame", f.closed)
	}
}

// TestFanoutBound: a run that queues fanoutFrames frames writes them before
// it goes on.
func TestFanoutBound(t *testing.T) {
	g := testGateway(Config{})
	_, f := fakeSocket(g, "alice")
	for range fanoutFrames + 1 {
		g.release(&chat.Delivery{Frame: []byte("e"), UserIDs: []string{"alice"}})
	}
	if got := f.get(); len(got) != 1 || len(got[0]) != fanoutFrames {
		t.Fatalf("got %d writes, want one of %d frames before the run ended", len(got), fanoutFrames)
	}
	g.flushReleased()
	if got := f.get(); len(got) != 2 || len(got[1]) != 1 {
		t.Fatalf("got %d writes, want the last frame in a second one", len(got))
	}
}

// TestWriteTimeoutWatchdog: bytes the kernel does not take arm the write
// timeout; progress keeps the socket, none closes it, and a socket whose
// bytes all left holds no watchdog (nor outbox).
func TestWriteTimeoutWatchdog(t *testing.T) {
	g := testGateway(Config{WriteTimeout: 200 * time.Millisecond})
	s, f := fakeSocket(g, "alice")
	f.stuck = true
	s.send(make([]byte, 100<<10)) // more than the progress below takes
	s.qmu.Lock()
	armed := s.out != nil && s.out.stall != nil
	s.qmu.Unlock()
	if !armed {
		t.Fatal("unsent bytes did not arm the write timeout")
	}
	// Progress within each period keeps it open.
	for start := time.Now(); time.Since(start) < 600*time.Millisecond; {
		time.Sleep(time.Millisecond)
		s.written.Add(1)
	}
	f.mu.Lock()
	stalled := f.stalled
	f.mu.Unlock()
	if stalled {
		t.Fatal("closed while bytes were moving")
	}
	waitUntil(t, "the stalled socket closed", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.stalled
	})

	// Every byte taken: the watchdog disarms and the outbox goes.
	s2, f2 := fakeSocket(g, "bob")
	f2.stuck = true
	s2.send([]byte("late"))
	s2.written.Store(s2.sent.Load())
	waitUntil(t, "the watchdog gone", func() bool {
		s2.qmu.Lock()
		defer s2.qmu.Unlock()
		return s2.out == nil
	})
	f2.mu.Lock()
	defer f2.mu.Unlock()
	if f2.stalled {
		t.Fatal("a socket whose bytes all left was closed")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPipelineDepth: a socket has at most maxPipelined messages in flight;
// the next one's submit waits until the oldest is answered; the replies
// leave in request order; once all are answered the socket holds neither
// outbox nor replier, nor in-flight slot.
func TestPipelineDepth(t *testing.T) {
	g := testGateway(Config{})
	s, f := fakeSocket(g, "alice")
	release := make(chan struct{})
	var submitted atomic.Int32
	r := route{submit: func(context.Context, *Socket, call) (func(context.Context) ([]byte, error), error) {
		n := submitted.Add(1)
		return func(context.Context) ([]byte, error) {
			<-release
			return fmt.Appendf(nil, "ask%d", n), nil
		}, nil
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range maxPipelined + 1 {
			ctx, cancel := context.WithCancel(context.Background())
			s.submit(ctx, cancel, r, call{req: protocol.Request{Method: "message"}}, time.Now())
		}
	}()
	waitUntil(t, "a full pipeline", func() bool { return submitted.Load() == maxPipelined })
	time.Sleep(50 * time.Millisecond)
	if n := submitted.Load(); n != maxPipelined {
		t.Fatalf("%d submitted with none answered, want %d", n, maxPipelined)
	}
	if n := s.in.frames.Load(); n != maxPipelined {
		t.Fatalf("%d in-flight slots held, want %d", n, maxPipelined)
	}
	release <- struct{}{} // the oldest is answered
	waitUntil(t, "the next submit", func() bool { return submitted.Load() == maxPipelined+1 })
	close(release)
	<-done
	g.repliers.Wait()
	var got []string
	for _, w := range f.get() {
		got = append(got, w...)
	}
	for i, a := range got {
		if want := fmt.Sprint("ask", i+1); a != want {
			t.Fatalf("reply %d: got %s, want %s (request order)", i, a, want)
		}
	}
	if len(got) != maxPipelined+1 {
		t.Fatalf("got %d replies, want %d", len(got), maxPipelined+1)
	}
	if s.out != nil || s.in.frames.Load() != 0 {
		t.Fatalf("after the last reply: outbox %v, %d in-flight slots; want none", s.out, s.in.frames.Load())
	}
}
