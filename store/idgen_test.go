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
