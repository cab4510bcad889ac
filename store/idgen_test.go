package store

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIDGenMonotonic(t *testing.T) {
	g := NewIDGen(7)
	now := time.Now()
	prev := g.Next(now)
	for i, at := range []time.Time{now, now, now.Add(-time.Hour), now.Add(time.Second)} {
		id := g.Next(at)
		if len(id) != 24 || id <= prev {
			t.Fatalf("step %d: got %s after %s, want a larger 24-hex id", i, id, prev)
		}
		prev = id
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				id := g.Next(time.Now())
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestPositionTime(t *testing.T) {
	at := time.Unix(1715000123, 0)
	if got := PositionTime(NewIDGen(1).Next(at)); !got.Equal(at) {
		t.Fatalf("time of a fresh id: got %v, want %v", got, at)
	}
	if got := PositionTime(PositionAt(at)); !got.Equal(at) {
		t.Fatalf("time of a position: got %v, want %v", got, at)
	}
	for _, bad := range []string{"", "abc", "zzzzzzzz0000"} {
		if got := PositionTime(bad); !got.IsZero() {
			t.Errorf("%q: got %v, want zero", bad, got)
		}
	}
}

// TestIDGenNodesNeverCollide: two nodes that make ids in the same second,
// with counters in step, still make different ids: the node part differs.
func TestIDGenNodesNeverCollide(t *testing.T) {
	a, b := NewIDGen(1), NewIDGen(2)
	now := time.Unix(1715000123, 0)
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{a.Next(now), b.Next(now)} {
			if seen[id] {
				t.Fatalf("id %s made twice", id)
			}
			seen[id] = true
		}
	}
	if got, want := a.Next(now)[8:14], "000001"; got != want {
		t.Fatalf("node part of node 1's id: got %s, want %s", got, want)
	}
	if got := NewIDGen(1<<24 | 5).Next(now)[8:14]; got != "000005" {
		t.Fatalf("node numbers wrap at 24 bits: got %s, want 000005", got)
	}
}
