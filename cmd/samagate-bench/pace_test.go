package main

import (
	"math"
	"testing"
	"time"
)

// TestPacingArithmetic: the publishers' message rate times the receivers
// per message is the target, split over pacers it adds up, and a pace's
// schedule sends exactly rate*t messages in t.
func TestPacingArithmetic(t *testing.T) {
	for _, tc := range []struct {
		target  float64
		members int
		groups  int
		pacers  int
	}{
		{30000, 100, 100, 4}, {120000, 100, 100, 4}, {200, 5, 4, 4}, {1000, 2, 7, 3}, {90000, 50, 20, 1},
	} {
		perSec := messageRate(tc.target, tc.members)
		if got := perSec * float64(tc.members-1); math.Abs(got-tc.target) > 1e-6 {
			t.Fatalf("%+v: %v msgs/s × %d receivers = %v deliveries/s", tc, perSec, tc.members-1, got)
		}
		owned := make([]int, tc.pacers) // round-robin ownership of the groups' publishers
		for g := range tc.groups {
			owned[g%tc.pacers]++
		}
		rates := splitRate(perSec, owned)
		sum := 0.0
		for i, r := range rates {
			sum += r
			if owned[i] > 0 && math.Abs(r/float64(owned[i])-perSec/float64(tc.groups)) > 1e-9 {
				t.Fatalf("%+v: pacer %d sends %v per publisher, want %v", tc, i, r/float64(owned[i]), perSec/float64(tc.groups))
			}
		}
		if math.Abs(sum-perSec) > 1e-9 {
			t.Fatalf("%+v: pacers add up to %v msgs/s, want %v", tc, sum, perSec)
		}
		// Over a 20 s window the schedule sends rate×20 messages (±1).
		start := time.Unix(1000, 0)
		var total int64
		for _, r := range rates {
			p := pace{start: start, perSec: r}
			total += p.due(start.Add(20*time.Second).Add(-time.Nanosecond)) - p.due(start.Add(-time.Nanosecond))
		}
		want := perSec * 20
		if math.Abs(float64(total)-want) > float64(len(rates)) {
			t.Fatalf("%+v: %d messages in 20 s, want %.1f", tc, total, want)
		}
	}
}

func TestPaceSchedule(t *testing.T) {
	start := time.Unix(1000, 0)
	p := pace{start: start, perSec: 4}
	for _, tc := range []struct {
		after time.Duration
		due   int64
	}{{-time.Second, 0}, {0, 1}, {249 * time.Millisecond, 1}, {250 * time.Millisecond, 2}, {time.Second, 5}} {
		if got := p.due(start.Add(tc.after)); got != tc.due {
			t.Errorf("due after %v = %d, want %d", tc.after, got, tc.due)
		}
	}
	for k := range int64(10) {
		if got, want := p.at(k), start.Add(time.Duration(k)*250*time.Millisecond); !got.Equal(want) {
			t.Errorf("at(%d) = %v, want %v", k, got, want)
		}
		// Message k is due at at(k) and not before.
		if p.due(p.at(k)) != k+1 || p.due(p.at(k).Add(-time.Nanosecond)) != k {
			t.Errorf("message %d: due(at) = %d, due(at-1ns) = %d", k, p.due(p.at(k)), p.due(p.at(k).Add(-time.Nanosecond)))
		}
	}
	if (pace{start: start}).due(start.Add(time.Hour)) != 0 {
		t.Error("a zero rate sends")
	}
}

func TestStampRoundTrip(t *testing.T) {
	sent := time.Unix(1_765_000_000, 123_456_789)
	stamp := appendStamp(nil, sent, 3, phaseMeasured)
	frame := appendMessageFrame(nil, stamp, 17, 42, "cid123", 100)
	want := `{"message":{"id":"1765000000123456789:3:m:17.42","cid":"cid123","body":"1765000000123456789:3:m:`
	if string(frame[:len(want)]) != want {
		t.Fatalf("frame %s", frame)
	}
	body := frame[len(`{"message":{"id":"1765000000123456789:3:m:17.42","cid":"cid123","body":"`) : len(frame)-3]
	if len(body) != 100 {
		t.Fatalf("body of %d bytes, want 100", len(body))
	}
	// As delivered: the gateway's event carries the body among other fields.
	event := []byte(`{"message":{"_id":"x","eid":"y","cid":"cid123","c_type":"g","from":"u","t":1,"body":"` + string(body) + `","x":{}}}`)
	ns, rate, phase, ok := stampAfter(event, keyBody)
	if !ok || ns != sent.UnixNano() || rate != 3 || phase != phaseMeasured {
		t.Fatalf("parsed %d %d %c %v", ns, rate, phase, ok)
	}
	ask := []byte(`{"ask":{"mid":"1765000000123456789:3:m:17.42","server_mid":"abc","t":1}}`)
	if ns, rate, _, ok := stampAfter(ask, keyMid); !ok || ns != sent.UnixNano() || rate != 3 {
		t.Fatalf("ask parsed %d %d %v", ns, rate, ok)
	}
	for _, bad := range []string{"", "123", "123:4", "123:4:m", "123:4:q:", ":4:m:", "123::m:", "99999999999999999999:1:m:"} {
		if _, _, _, ok := parseStamp([]byte(bad)); ok {
			t.Errorf("parseStamp(%q) ok", bad)
		}
	}
}
