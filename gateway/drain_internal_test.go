package gateway

import (
	"context"
	"testing"
	"time"
)

// TestDrainSchedule: each socket closes inside its own slot of the window,
// in order, so the closes are even over the window however many there are.
func TestDrainSchedule(t *testing.T) {
	for _, n := range []int{1, 3, 1000} {
		window := 10 * time.Second
		at := drainSchedule(n, window)
		slot := window / time.Duration(n)
		for i, d := range at {
			if d < time.Duration(i)*slot || d >= time.Duration(i+1)*slot {
				t.Fatalf("n=%d: socket %d closes at %v, outside its slot [%v, %v)", n, i, d, time.Duration(i)*slot, time.Duration(i+1)*slot)
			}
		}
	}
	if at := drainSchedule(5, 0); at[4] != 0 {
		t.Fatalf("no window: got %v, want all at once", at)
	}
}

// TestDrainWindowFitsDeadline: the window leaves a quarter of the time the
// shutdown has for what follows the drain.
func TestDrainWindowFitsDeadline(t *testing.T) {
	now := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(8*time.Second))
	defer cancel()
	if got := drainWindow(ctx, 10*time.Second, now); got != 6*time.Second {
		t.Fatalf("10s window, 8s left: got %v, want 6s", got)
	}
	if got := drainWindow(ctx, 2*time.Second, now); got != 2*time.Second {
		t.Fatalf("2s window, 8s left: got %v, want 2s", got)
	}
	if got := drainWindow(context.Background(), -time.Second, now); got != 0 {
		t.Fatalf("negative window: got %v, want 0", got)
	}
}
