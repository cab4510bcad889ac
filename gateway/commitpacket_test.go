package gateway

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/samagate/samagate/chat"
)

func samplePackets() []chat.Commit {
	members := []string{"u1", "u2", "u3"}
	return []chat.Commit{
		{Seq: 7, Void: true},
		{Seq: 1},
		{Seq: 42, Deliveries: []chat.Delivery{
			{Pos: chat.LastPos(41) + 1, EventID: "e1", UserIDs: members, Frame: []byte(`{"message":{"body":"hi"}}`)},
			{Pos: chat.LastPos(41) + 2, EventID: "e2", UserIDs: members, Frame: []byte(`{"message_edit":{}}`)},
			{Pos: chat.LastPos(41) + 3, EventID: "e3", UserIDs: []string{"u9"}, Frame: []byte(`{"message_read":{}}`)},
			{Pos: chat.LastPos(41) + 4, EventID: "e4", UserIDs: []string{}, Frame: []byte{}},
		}},
		{Seq: 43, MembershipChanged: []string{"c1", "c2"}, Deliveries: []chat.Delivery{
			{Pos: chat.LastPos(42) + 1, EventID: "e5", UserIDs: members, Frame: []byte(`{"system_message":{}}`)},
		}},
		{Seq: 44, MembershipChanged: []string{"c3"}},
	}
}

// TestCommitPacketRoundTrip: what the writer encodes, every node decodes
// to the same commit (the except socket is the writer's own and not sent).
func TestCommitPacketRoundTrip(t *testing.T) {
	for _, c := range samplePackets() {
		b := encodeCommit(&c)
		got, live, err := decodeCommit(b)
		if err != nil || live {
			t.Fatalf("commit %d: %v", c.Seq, err)
		}
		if got.Seq != c.Seq || got.Void != c.Void || len(got.Deliveries) != len(c.Deliveries) || !reflect.DeepEqual(got.MembershipChanged, c.MembershipChanged) {
			t.Fatalf("commit %d: got %+v", c.Seq, got)
		}
		for i, d := range c.Deliveries {
			g := got.Deliveries[i]
			if g.Pos != d.Pos || g.EventID != d.EventID || !reflect.DeepEqual(g.UserIDs, d.UserIDs) || !bytes.Equal(g.Frame, d.Frame) {
				t.Fatalf("commit %d event %d: got %+v, want %+v", c.Seq, i, g, d)
			}
		}
	}
	// The same recipients twice in a row are written once.
	c := samplePackets()[2]
	one := encodeCommit(&chat.Commit{Seq: 42, Deliveries: c.Deliveries[:1]})
	two := encodeCommit(&chat.Commit{Seq: 42, Deliveries: c.Deliveries[:2]})
	if extra := len(two) - len(one); extra > len(c.Deliveries[1].Frame)+len(c.Deliveries[1].EventID)+8 {
		t.Fatalf("the second event of the same members took %d bytes: its recipients were repeated", extra)
	}
}

// TestCommitPacketMalformed: truncated, forged and foreign packets are
// errors, never a panic or a huge allocation.
func TestCommitPacketMalformed(t *testing.T) {
	c := samplePackets()[2]
	good := encodeCommit(&c)
	for i := range len(good) {
		if _, _, err := decodeCommit(good[:i]); err == nil {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	for name, b := range map[string][]byte{
		"empty":            nil,
		"other version":    append([]byte{9}, good[1:]...),
		"trailing bytes":   append(append([]byte{}, good...), 0),
		"huge count":       {1, 5, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"seq zero":         {1, 0, 0, 0},
		"live with a seq":  {1, 1, flagLive, 0},
		"unknown flag":     {1, 1, 8, 0},
		"no changed list":  {1, 1, flagChanged, 0, 0},
		"empty changed id": {1, 1, flagChanged, 0, 1, 0},
		"live changed":     {1, 0, flagLive | flagChanged, 0, 1, 1, 'c'},
		"foreign position": encodeCommit(&chat.Commit{Seq: 3, Deliveries: []chat.Delivery{{Pos: chat.LastPos(9), EventID: "e", UserIDs: []string{"u"}}}}),
		"first same users": {1, 3, 0, 1, 0x80, 0x80, 0x0c, 1, 'e', 0, 0},
	} {
		if _, _, err := decodeCommit(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzCommitPacket(f *testing.F) {
	for _, c := range samplePackets() {
		f.Add(encodeCommit(&c))
	}
	f.Add(encodeLive(&chat.Delivery{UserIDs: []string{"u1", "u2"}, Frame: []byte(`{"typing":{}}`)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, live, err := decodeCommit(b)
		if err != nil {
			return
		}
		re := encodeCommit(&c)
		if live {
			re = encodeLive(&c.Deliveries[0])
		}
		again, live2, err := decodeCommit(re)
		if err != nil || live2 != live || again.Seq != c.Seq || again.Void != c.Void || len(again.Deliveries) != len(c.Deliveries) ||
			!reflect.DeepEqual(again.MembershipChanged, c.MembershipChanged) {
			t.Fatalf("re-decode of %q: %+v %v", b, again, err)
		}
	})
}

// TestLivePacket: a live-only event (typing) travels without a number and
// decodes as live.
func TestLivePacket(t *testing.T) {
	d := chat.Delivery{UserIDs: []string{"u1", "u2"}, Frame: []byte(`{"typing":{"cid":"c"}}`), Except: "7"}
	got, live, err := decodeCommit(encodeLive(&d))
	if err != nil || !live || got.Seq != 0 || len(got.Deliveries) != 1 {
		t.Fatalf("got %+v live=%v err=%v", got, live, err)
	}
	if g := got.Deliveries[0]; !reflect.DeepEqual(g.UserIDs, d.UserIDs) || !bytes.Equal(g.Frame, d.Frame) || g.Except != "" {
		t.Fatalf("got %+v", g)
	}
}
