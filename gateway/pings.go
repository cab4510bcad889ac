package gateway

import (
	"strconv"
	"time"
)

// Keep-alive pings are spread over the ping interval: it is cut into
// pingSlots slices, and each socket is pinged in its own slice (its phase,
// from its id), once per interval as before. A node of 18,000 sockets
// pinged them all in one tick and spent about a second at 33-44 % CPU
// every 25 s (issue 14); spread, it writes 720 pings a second.
const (
	pingSlots   = 25
	minPingTick = 100 * time.Millisecond
)

// pingTick is how often the ping loop wakes and how many slices one
// interval has: interval/pingSlots, but no tick shorter than minPingTick
// (a short interval, as in tests, has fewer slices).
func pingTick(interval time.Duration) (tick time.Duration, slots int) {
	slots = pingSlots
	if interval/time.Duration(slots) < minPingTick {
		slots = max(1, int(interval/minPingTick))
	}
	return interval / time.Duration(slots), slots
}

// pingPhase is the slice of the ping interval the socket is pinged in.
// Socket ids count up, so consecutive sockets fall in consecutive slices.
func (s *Socket) pingPhase(slots int) int {
	n, _ := strconv.ParseUint(s.id, 36, 64)
	return int(n % uint64(slots))
}

// pingLoop sends a websocket ping to every socket once per PingInterval,
// each in its own slice of it; a peer that stops answering is closed by
// the keep-alive read deadline. The same visit closes sockets whose
// session expires before the next one (expiry.go); once per interval it
// forgets per-user rate buckets that are full again.
func (g *Gateway) pingLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick, slots := pingTick(g.cfg.PingInterval)
	t := time.NewTicker(tick)
	defer t.Stop()
	var due []*Socket
	for slot := 0; ; slot = (slot + 1) % slots {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		due = g.pingSlot(due, slot, slots, time.Now())
		if slot == 0 {
			g.perUser.sweep(g.clock())
		}
	}
}

// pingSlot pings the sockets whose phase is slot and checks their session
// expiry; due is a buffer reused between calls (returned emptied). The
// sockets are picked under the hub's read lock and pinged outside it.
func (g *Gateway) pingSlot(due []*Socket, slot, slots int, now time.Time) []*Socket {
	h := g.hub
	h.mu.RLock()
	for s := range h.sockets {
		if s.pingPhase(slots) == slot {
			due = append(due, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range due {
		s.ping()
		s.watchExpiry(now)
	}
	clear(due)
	return due[:0]
}
