// Package presencetest is the one contract every presence backend passes.
package presencetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// Backend is the presence surface under contract.
type Backend interface {
	Add(ctx context.Context, orgID, userID, deviceID, connID string) (bool, error)
	Remove(ctx context.Context, userID, deviceID, connID string) (bool, error)
	Online(ctx context.Context, userID string) (bool, error)
	OnlineUsers(ctx context.Context, orgID string) ([]string, error)
}

// Run runs the contract against fresh backends made by open; each call of open
// must return an empty registry (e.g. under a unique key prefix).
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("FirstAndLast", func(t *testing.T) { firstAndLast(t, open(t)) })
	t.Run("Idempotent", func(t *testing.T) { idempotent(t, open(t)) })
	t.Run("UsersIndependent", func(t *testing.T) { usersIndependent(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { concurrent(t, open(t)) })
	t.Run("OnlineUsersByOrg", func(t *testing.T) { onlineUsersByOrg(t, open(t)) })
}

// mustB and mustS fail the test on an error and return the value.
func mustB(t *testing.T) func(bool, error) bool {
	return func(v bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func mustS(t *testing.T) func([]string, error) []string {
	return func(v []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func firstAndLast(t *testing.T, b Backend) {
	ctx := context.Background()
	if got := mustB(t)(b.Online(ctx, "u1")); got {
		t.Fatalf("online before add: got true, want false")
	}
	steps := []struct {
		add          bool
		device, conn string
		want         bool
	}{
		{true, "laptop", "c1", true},   // first socket: user comes online
		{true, "laptop", "c2", false},  // second tab of the same device
		{true, "phone", "c3", false},   // another device
		{false, "laptop", "c1", false}, // one tab goes: still online
		{false, "phone", "c3", false},  // phone goes: laptop c2 remains
		{false, "laptop", "c2", true},  // last socket: user goes offline
	}
	for i, s := range steps {
		var got bool
		if s.add {
			got = mustB(t)(b.Add(ctx, "o1", "u1", s.device, s.conn))
		} else {
			got = mustB(t)(b.Remove(ctx, "u1", s.device, s.conn))
		}
		if got != s.want {
			t.Fatalf("step %d (add=%v %s/%s): got %v, want %v", i, s.add, s.device, s.conn, got, s.want)
		}
	}
	if got := mustB(t)(b.Online(ctx, "u1")); got {
		t.Fatalf("online after last remove: got true, want false")
	}
}

func idempotent(t *testing.T, b Backend) {
	ctx := context.Background()
	if !mustB(t)(b.Add(ctx, "o1", "u1", "d", "c1")) {
		t.Fatal("first add: got false, want true")
	}
	if mustB(t)(b.Add(ctx, "o1", "u1", "d", "c1")) {
		t.Fatal("repeated add: got true, want false")
	}
	if !mustB(t)(b.Remove(ctx, "u1", "d", "c1")) {
		t.Fatal("remove: got false, want true")
	}
	if mustB(t)(b.Remove(ctx, "u1", "d", "c1")) {
		t.Fatal("repeated remove: got true, want false")
	}
}

func usersIndependent(t *testing.T, b Backend) {
	ctx := context.Background()
	mustB(t)(b.Add(ctx, "o1", "u1", "same-device", "c1"))
	mustB(t)(b.Add(ctx, "o1", "u2", "same-device", "c2"))
	if !mustB(t)(b.Remove(ctx, "u1", "same-device", "c1")) {
		t.Fatal("u1 last remove: got false, want true")
	}
	if !mustB(t)(b.Online(ctx, "u2")) {
		t.Fatal("u2 with the same device id went offline with u1")
	}
}

func concurrent(t *testing.T, b Backend) {
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts, lasts := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%d", i)
			f, err := b.Add(ctx, "o1", "u1", "d", id)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if f {
				firsts++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := b.Remove(ctx, "u1", "d", fmt.Sprintf("c%d", i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if l {
				lasts++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firsts != 1 || lasts != 1 {
		t.Fatalf("concurrent add/remove: got %d firsts and %d lasts, want 1 and 1", firsts, lasts)
	}
}

func onlineUsersByOrg(t *testing.T, b Backend) {
	ctx := context.Background()
	mustB(t)(b.Add(ctx, "o1", "u2", "d", "c1"))
	mustB(t)(b.Add(ctx, "o1", "u1", "d", "c2"))
	mustB(t)(b.Add(ctx, "o1", "u1", "d2", "c3"))
	mustB(t)(b.Add(ctx, "o2", "u9", "d", "c4"))
	if got := mustS(t)(b.OnlineUsers(ctx, "o1")); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("online in o1: got %v, want [u1 u2]", got)
	}
	mustB(t)(b.Remove(ctx, "u2", "d", "c1"))
	if got := mustS(t)(b.OnlineUsers(ctx, "o1")); !slices.Equal(got, []string{"u1"}) {
		t.Fatalf("online in o1 after u2 left: got %v, want [u1]", got)
	}
	if got := mustS(t)(b.OnlineUsers(ctx, "o3")); got == nil || len(got) != 0 {
		t.Fatalf("online in empty org: got %#v, want empty non-nil", got)
	}
}
