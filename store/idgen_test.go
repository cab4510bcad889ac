package store

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIDGenMonotonic(t *testing.T) {
	g := NewIDGen()
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
	if got := PositionTime(NewIDGen().Next(at)); !got.Equal(at) {
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
