package store

import (
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// IDGen makes 24-hex ids that are unique across every node by construction
// and keep the ObjectId shape SAMA clients expect: 4 bytes of unix seconds,
// 3 bytes of the node's number (Messages.NodeNumber: a fresh one per node
// start), then a 5-byte counter that never goes back within the node, even
// in the same second or when the clock steps back. Ids name things; they do
// not order them across nodes: positions do (Pos).
type IDGen struct {
	node    uint32 // immutable: 24 bits
	mu      sync.Mutex
	lastSec uint32 // guarded by mu
	counter uint64 // guarded by mu: 40 bits used
}

// NewIDGen makes ids for the node numbered node (its low 24 bits).
func NewIDGen(node uint32) *IDGen {
	return &IDGen{node: node & 0xffffff}
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
	b[4], b[5], b[6] = byte(g.node>>16), byte(g.node>>8), byte(g.node)
	var cb [8]byte
	binary.BigEndian.PutUint64(cb[:], c)
	copy(b[7:], cb[3:])
	return hex.EncodeToString(b[:])
}
