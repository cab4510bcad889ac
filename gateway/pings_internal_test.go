package gateway

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// pingCounter is a connection that counts its pings.
type pingCounter struct {
	nopConn
	pings atomic.Int32
}

func (p *pingCounter) writePing() error { p.pings.Add(1); return nil }

// TestPingTick: the default interval is cut into 25 slices; short ones
// into slices of at least 100 ms, and at least one.
func TestPingTick(t *testing.T) {
	for _, tt := range []struct {
		interval time.Duration
		tick     time.Duration
		slots    int
	}{
		{25 * time.Second, time.Second, 25},
		{10 * time.Second, 400 * time.Millisecond, 25},
		{time.Second, 100 * time.Millisecond, 10},
		{250 * time.Millisecond, 125 * time.Millisecond, 2},
		{50 * time.Millisecond, 50 * time.Millisecond, 1},
	} {
		tick, slots := pingTick(tt.interval)
		if tick != tt.tick || slots != tt.slots {
			t.Errorf("pingTick(%s): got %s, %d slots; want %s, %d", tt.interval, tick, slots, tt.tick, tt.slots)
		}
	}
}

// TestPingsSpread: over one interval's slices every socket is pinged
// exactly once, and no slice pings much more than its share, so a node
// never pings all its sockets in one tick.
func TestPingsSpread(t *testing.T) {
	g := New(Config{}, nil, nil, nil, zerolog.Nop())
	const n, slots = 1000, pingSlots
	conns := make([]*pingCounter, n)
	for i := range conns {
		conns[i] = &pingCounter{}
		g.newSocket(conns[i])
	}
	var due []*Socket
	before := 0
	for slot := range slots {
		due = g.pingSlot(due, slot, slots, time.Now())
		total := 0
		for _, c := range conns {
			total += int(c.pings.Load())
		}
		if got := total - before; got > n/slots+1 {
			t.Errorf("slot %d pinged %d sockets, want at most %d", slot, got, n/slots+1)
		}
		before = total
	}
	for i, c := range conns {
		if got := c.pings.Load(); got != 1 {
			t.Fatalf("socket %d: %d pings over one interval, want 1", i, got)
		}
	}
}
