package gateway

import (
	"testing"
	"time"
)

// TestGCRA: a bucket takes Burst requests at once, then one per interval;
// it refills while idle; a negative rate never refuses.
func TestGCRA(t *testing.T) {
	l := newGCRA(Rate{PerSecond: 10, Burst: 5})
	var tat int64
	now := int64(time.Second)
	for i := range 5 {
		if !l.allow(&tat, now) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.allow(&tat, now) {
		t.Fatal("request 6 at once: allowed, want refused")
	}
	if l.allow(&tat, now+int64(99*time.Millisecond)) {
		t.Fatal("99ms later: allowed, want refused (one per 100ms)")
	}
	if !l.allow(&tat, now+int64(100*time.Millisecond)) {
		t.Fatal("100ms later: refused, want one more")
	}
	later := now + int64(10*time.Second)
	n := 0
	for l.allow(&tat, later) {
		n++
	}
	if n != 5 {
		t.Fatalf("after a quiet period: got %d at once, want the burst of 5", n)
	}
	off := newGCRA(Rate{PerSecond: -1, Burst: 1})
	for range 1000 {
		if !off.allow(&tat, now) {
			t.Fatal("negative rate refused a request")
		}
	}
}

// TestUserLimits: every request and each class are charged together; a
// refused request is charged nowhere; a user's entry outlives a quiet
// period only until its buckets are full again (sweep), so dropping and
// reopening sockets does not refill them early.
func TestUserLimits(t *testing.T) {
	l := newUserLimits(Rate{PerSecond: 1, Burst: 4}, [classCount]Rate{
		classMessage: {PerSecond: 1, Burst: 2}, classSystemMessage: {PerSecond: -1}, classTyping: {PerSecond: 1, Burst: 1}})
	now := int64(time.Second)
	for i := range 2 {
		if !l.allow("u", classMessage, now) {
			t.Fatalf("message %d of the burst refused", i+1)
		}
	}
	if l.allow("u", classMessage, now) {
		t.Fatal("third message at once: allowed, want refused")
	}
	if !l.allow("u", classNone, now) || !l.allow("u", classTyping, now) {
		t.Fatal("other requests refused although the user bucket has 2 left")
	}
	if l.allow("u", classNone, now) {
		t.Fatal("fifth request: allowed, want refused by the user bucket")
	}
	if !l.allow("v", classMessage, now) {
		t.Fatal("another user refused")
	}
	l.sweep(now + int64(time.Second))
	if got := l.size(); got != 1 {
		t.Fatalf("after 1s: got %d users remembered, want 1 (u's buckets are not full yet, v's are)", got)
	}
	allowed := 0
	for range 2 {
		if l.allow("u", classNone, now+int64(time.Second)+1) {
			allowed++
		}
	}
	if allowed != 1 {
		t.Fatalf("u after 1s: %d requests allowed, want 1 (the sweep kept u's bucket)", allowed)
	}
	l.sweep(now + int64(10*time.Second))
	if got := l.size(); got != 0 {
		t.Fatalf("after 10s: got %d users remembered, want 0", got)
	}
}
