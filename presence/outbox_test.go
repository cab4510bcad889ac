package presence

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestOutboxRetriesInOrder(t *testing.T) {
	var o outbox
	var sent []int
	down := true
	for i := range 3 {
		o.push(func(context.Context) error {
			if down {
				return errors.New("redis unreachable")
			}
			sent = append(sent, i)
			return nil
		})
	}
	if s, e := o.flush(context.Background()); s != 0 || e != 0 || o.len() != 3 {
		t.Fatalf("while down: sent %d, expired %d, waiting %d; want 0, 0, 3", s, e, o.len())
	}
	down = false
	if s, e := o.flush(context.Background()); s != 3 || e != 0 || o.len() != 0 {
		t.Fatalf("once up: sent %d, expired %d, waiting %d; want 3, 0, 0", s, e, o.len())
	}
	if !slices.Equal(sent, []int{0, 1, 2}) {
		t.Fatalf("order: got %v, want [0 1 2]", sent)
	}
}

func TestOutboxExpiresAndBounds(t *testing.T) {
	var o outbox
	o.push(func(context.Context) error { t.Error("an expired send ran"); return nil })
	o.items[0].until = time.Now().Add(-time.Second)
	if s, e := o.flush(context.Background()); s != 0 || e != 1 {
		t.Fatalf("expired: sent %d, expired %d; want 0, 1", s, e)
	}
	for range outboxMax + 5 {
		o.push(func(context.Context) error { return nil })
	}
	if n := o.len(); n != outboxMax {
		t.Fatalf("bounded: %d waiting, want %d", n, outboxMax)
	}
}
