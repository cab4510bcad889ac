package presence

import (
	"bytes"
	"reflect"
	"testing"
)

func TestPacketRoundTrip(t *testing.T) {
	for _, p := range []packet{
		{kind: kindCommit, frame: []byte("\x01commit packet")},
		{kind: kindCommit, frame: []byte{}},
		{kind: kindActive, users: []string{"u"}, value: 1715000000},
		{kind: kindActive, users: []string{"u"}, value: 0},
		{kind: kindEnd, users: []string{"u"}, device: "d:1", reason: "logout"},
		{kind: kindEnd, users: []string{"u"}, session: "s1", except: "s2", reason: "revoked"},
		{kind: kindPing, value: 42},
	} {
		got, err := decodePacket(p.encode())
		if err != nil {
			t.Fatalf("%c: %v", p.kind, err)
		}
		if p.frame == nil && p.kind == kindCommit {
			p.frame = []byte{}
		}
		if got.kind != p.kind || !reflect.DeepEqual(got.users, p.users) ||
			!bytes.Equal(got.frame, p.frame) || got.value != p.value || got.device != p.device || got.reason != p.reason ||
			got.session != p.session || got.except != p.except {
			t.Errorf("round trip: got %+v, want %+v", got, p)
		}
	}
}

func TestPacketMalformed(t *testing.T) {
	good := (&packet{kind: kindEnd, users: []string{"user"}, device: "dev", reason: "r"}).encode()
	for i := range len(good) {
		if _, err := decodePacket(good[:i]); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	for _, b := range [][]byte{nil, {'X'}, {kindActive, 1, 'u', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodePacket(b); err == nil {
			t.Errorf("%q: no error", b)
		}
	}
}

func FuzzDecodePacket(f *testing.F) {
	f.Add((&packet{kind: kindCommit, frame: []byte("\x01\x05\x00\x00")}).encode())
	f.Add((&packet{kind: kindPing, value: 3}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		again, err := decodePacket(p.encode())
		if err != nil || again.kind != p.kind || !reflect.DeepEqual(again.users, p.users) || !bytes.Equal(again.frame, p.frame) {
			t.Fatalf("re-decode of %q: %+v %v", b, again, err)
		}
	})
}

func TestConnValue(t *testing.T) {
	for _, c := range [][2]string{{"default", "web"}, {"o:1", "d:2"}, {"", ""}, {"org", ""}, {"12", "34:x"}} {
		org, dev, ok := parseConnValue(connValue(c[0], c[1]))
		if !ok || org != c[0] || dev != c[1] {
			t.Errorf("%q: got %q %q %v", c, org, dev, ok)
		}
	}
	for _, v := range []string{"", "x", "5:ab", "-1:a"} {
		if _, _, ok := parseConnValue(v); ok {
			t.Errorf("%q parsed", v)
		}
	}
}
