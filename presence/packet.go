package presence

import (
	"encoding/binary"
	"errors"
)

// Packet kinds on the node-to-node bus.
const (
	kindCommit = 'C' // a commit of the sending node (opaque to presence: the gateway's commit packet)
	kindActive = 'A' // a user's last activity changed
	kindEnd    = 'E' // a session was revoked
	kindPing   = 'P' // a node's ping to itself (bus health)
)

// packet is one bus message.
type packet struct {
	kind    byte
	users   []string // active/end: [user]
	frame   []byte   // commit: the payload
	value   int64    // active: last activity; ping: sequence
	device  string   // end ("" = every device)
	session string   // end: only this session ("" = any)
	except  string   // end: every session but this one ("" = none spared)
	reason  string   // end
}

var errBadPacket = errors.New("bad bus packet")

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encode lays a packet out as: kind, then per kind length-prefixed strings
// and varints; a commit packet is the kind and the raw payload.
func (p *packet) encode() []byte {
	b := make([]byte, 0, 16+len(p.frame)+24*len(p.users))
	b = append(b, p.kind)
	switch p.kind {
	case kindCommit:
		b = append(b, p.frame...)
	case kindActive:
		b = appendStr(b, p.users[0])
		b = binary.AppendVarint(b, p.value)
	case kindEnd:
		b = appendStr(b, p.users[0])
		b = appendStr(b, p.device)
		b = appendStr(b, p.session)
		b = appendStr(b, p.except)
		b = appendStr(b, p.reason)
	case kindPing:
		b = binary.AppendVarint(b, p.value)
	}
	return b
}

// reader walks an encoded packet.
type reader struct {
	b   []byte
	err error
}

func (r *reader) str() string {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = errBadPacket
		return ""
	}
	s := string(r.b[k : k+int(n)])
	r.b = r.b[k+int(n):]
	return s
}

func (r *reader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errBadPacket
		return 0
	}
	r.b = r.b[k:]
	return v
}

// decodePacket parses an encoded packet; anything malformed is an error.
func decodePacket(b []byte) (*packet, error) {
	if len(b) == 0 {
		return nil, errBadPacket
	}
	p := &packet{kind: b[0]}
	r := &reader{b: b[1:]}
	switch p.kind {
	case kindCommit:
		p.frame = r.b
	case kindActive:
		p.users = []string{r.str()}
		p.value = r.varint()
	case kindEnd:
		p.users = []string{r.str()}
		p.device = r.str()
		p.session = r.str()
		p.except = r.str()
		p.reason = r.str()
	case kindPing:
		p.value = r.varint()
	default:
		return nil, errBadPacket
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}
