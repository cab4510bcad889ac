package gateway

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/samagate/samagate/chat"
)

// A commit packet carries one commit of this node to the other nodes over
// the bus: its number and, in position order, each event's position, id,
// recipients and encoded frame (the frame once, whatever the number of
// recipients). Every node gets every commit, even one with no recipient of
// its own: the numbers are what lets it release commits in order.
//
// The same packet carries live-only events (typing), which have no number
// and no position: seq 0 and the live flag; they skip the order.
//
// A commit that changed conversations (members, roles, fields, deletion)
// also names them, so that every node's membership cache forgets them as
// it releases the commit (chat.Service.Observe), exactly as the node that
// made it does: without that, a node would go on answering from what it
// held before, e.g. send a removed member's typing to the group.
//
// Layout: version (1), uvarint seq, flags (bit 0: void, bit 1: live, bit 2:
// changed), uvarint count, then per event: uvarint pos, string eid, uvarint
// users+1 (0: the same users as the previous event), the users as strings,
// then the frame as a string; with the changed flag, then a uvarint count
// and the changed conversation ids as strings. A string is a uvarint
// length and the bytes. A node of an older version refuses the changed
// flag and reads such a commit from the log instead (sequencer.go).
const commitPacketVersion = 1

var errBadCommitPacket = errors.New("bad commit packet")

// Packet flags.
const (
	flagVoid    = 1
	flagLive    = 2
	flagChanged = 4
)

// encodeLive lays out a live-only event as a packet.
func encodeLive(d *chat.Delivery) []byte {
	return encode(&chat.Commit{Deliveries: []chat.Delivery{{EventID: "", UserIDs: d.UserIDs, Frame: d.Frame}}}, flagLive)
}

// encodeCommit lays c out as a commit packet.
func encodeCommit(c *chat.Commit) []byte {
	var flags byte
	if c.Void {
		flags |= flagVoid
	}
	if len(c.MembershipChanged) > 0 {
		flags |= flagChanged
	}
	return encode(c, flags)
}

func encode(c *chat.Commit, flags byte) []byte {
	size := 16
	for _, d := range c.Deliveries {
		size += 16 + len(d.EventID) + len(d.Frame) + 25*len(d.UserIDs)
	}
	b := make([]byte, 0, size)
	b = append(b, commitPacketVersion)
	b = binary.AppendUvarint(b, uint64(c.Seq))
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(c.Deliveries)))
	var prev []string
	for i, d := range c.Deliveries {
		b = binary.AppendUvarint(b, uint64(d.Pos))
		b = appendBytes(b, []byte(d.EventID))
		if i > 0 && slices.Equal(d.UserIDs, prev) {
			b = binary.AppendUvarint(b, 0)
		} else {
			b = binary.AppendUvarint(b, uint64(len(d.UserIDs))+1)
			for _, u := range d.UserIDs {
				b = appendBytes(b, []byte(u))
			}
		}
		prev = d.UserIDs
		b = appendBytes(b, d.Frame)
	}
	if flags&flagChanged != 0 {
		b = binary.AppendUvarint(b, uint64(len(c.MembershipChanged)))
		for _, cid := range c.MembershipChanged {
			b = appendBytes(b, []byte(cid))
		}
	}
	return b
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// packetReader reads a packet front to back; the first error sticks.
type packetReader struct {
	b   []byte
	err error
}

func (r *packetReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadCommitPacket
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of following items, each at least min bytes long,
// so a forged count cannot make the decoder allocate more than the packet.
func (r *packetReader) count(minBytes int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)/minBytes) {
		r.err = errBadCommitPacket
	}
	if r.err != nil {
		return 0
	}
	return int(v)
}

func (r *packetReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadCommitPacket
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// decodeCommit reads a commit packet, or a live one (live: seq 0, no
// positions). The frames alias data.
func decodeCommit(data []byte) (c chat.Commit, live bool, err error) {
	if len(data) < 2 || data[0] != commitPacketVersion {
		return chat.Commit{}, false, errBadCommitPacket
	}
	r := &packetReader{b: data[1:]}
	seq := r.uvarint()
	if r.err != nil || len(r.b) == 0 || seq > 1<<62 {
		return chat.Commit{}, false, errBadCommitPacket
	}
	flags := r.b[0]
	r.b = r.b[1:]
	live = flags&flagLive != 0
	if flags > flagVoid|flagLive|flagChanged || live != (seq == 0) || (live && flags&(flagVoid|flagChanged) != 0) {
		return chat.Commit{}, false, errBadCommitPacket
	}
	c = chat.Commit{Seq: int64(seq), Void: flags&flagVoid != 0}
	n := r.count(4) // pos, eid, users, frame: at least one byte each
	if r.err == nil && n > 0 {
		c.Deliveries = make([]chat.Delivery, 0, n)
	}
	var prev []string
	for i := 0; i < n && r.err == nil; i++ {
		d := chat.Delivery{Pos: int64(r.uvarint())}
		d.EventID = string(r.bytes())
		users := r.count(1)
		switch {
		case r.err != nil:
		case users == 0 && i > 0:
			d.UserIDs = prev
		case users == 0:
			r.err = errBadCommitPacket
		default:
			d.UserIDs = make([]string, 0, users-1)
			for range users - 1 {
				d.UserIDs = append(d.UserIDs, string(r.bytes()))
			}
		}
		prev = d.UserIDs
		d.Frame = r.bytes()
		if d.Pos < 0 || (live && d.Pos != 0) || (!live && chat.SeqOf(d.Pos) != c.Seq) {
			r.err = errBadCommitPacket
		}
		c.Deliveries = append(c.Deliveries, d)
	}
	if flags&flagChanged != 0 {
		k := r.count(2) // a length and at least one byte each
		if r.err == nil && k == 0 {
			r.err = errBadCommitPacket
		}
		for range k {
			if cid := r.bytes(); r.err == nil && len(cid) > 0 {
				c.MembershipChanged = append(c.MembershipChanged, string(cid))
			} else {
				r.err = errBadCommitPacket
				break
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadCommitPacket
	}
	if r.err != nil {
		return chat.Commit{}, false, r.err
	}
	return c, live, nil
}
