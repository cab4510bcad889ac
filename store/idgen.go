package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// IDGen makes strictly increasing 24-hex ids: 4 bytes of unix seconds, then
// an 8-byte counter that never goes back, even in the same second or when
// the clock steps back. Ids name events; the order of catch-up is the
// store's commit order (the events.pos column), because ids from several
// nodes interleave (see docs/events.md).
type IDGen struct {
	mu      sync.Mutex
	lastSec uint32 // guarded by mu
	counter uint64 // guarded by mu
}

// NewIDGen starts the counter at a random point, so two nodes rarely collide.
func NewIDGen() *IDGen {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &IDGen{counter: uint64(binary.BigEndian.Uint32(b[:])) << 16}
}

// Next returns the next id for the time now.
func (g *IDGen) Next(now time.Time) string {
	g.mu.Lock()
	sec := uint32(now.Unix())
	if sec < g.lastSec {
		sec = g.lastSec
	}
	g.lastSec = sec
	g.counter++
	c := g.counter
	g.mu.Unlock()
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], sec)
	binary.BigEndian.PutUint64(b[4:], c)
	return hex.EncodeToString(b[:])
}
