package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

// activityStore counts recent-activity writes and can fail them.
type activityStore struct {
	*sqlite.DB
	writes atomic.Int64
	users  atomic.Int64
	fail   atomic.Bool
}

func (a *activityStore) SetRecentActivity(ctx context.Context, m map[string]int64) error {
	if a.fail.Load() {
		return errors.New("store down")
	}
	a.writes.Add(1)
	a.users.Add(int64(len(m)))
	return a.DB.SetRecentActivity(ctx, m)
}

// TestRecentActivityBatched: while Run runs, 300 disconnects cost one
// write per flush, this node's reads see the pending times at once, a
// failed flush keeps them for the next, and stopping Run writes the rest.
// Without Run every time is written through.
func TestRecentActivityBatched(t *testing.T) {
	var as *activityStore
	e := newEnvOn(t, func(c *auth.Config) { c.ActivityFlush = 50 * time.Millisecond },
		func(db *sqlite.DB) store.Store { as = &activityStore{DB: db}; return as })
	users := make([]*auth.User, 300)
	for i := range users {
		users[i] = e.user(t, fmt.Sprintf("u%03d", i))
	}
	at := time.Unix(1_800_000_000, 0)

	// Not running: written through.
	if err := e.svc.SetRecentActivity(ctx, users[0].ID, at); err != nil {
		t.Fatal(err)
	}
	if as.writes.Load() != 1 {
		t.Fatalf("without Run: %d writes, want 1", as.writes.Load())
	}

	rctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.svc.Run(rctx) })
	defer func() { stop(); wg.Wait() }()
	waitFor(t, "Run to start batching", func() bool {
		before := as.writes.Load()
		_ = e.svc.SetRecentActivity(ctx, users[0].ID, at)
		return as.writes.Load() == before
	})
	as.fail.Store(true) // the first flushes fail: nothing may be lost
	as.writes.Store(0)
	for i, u := range users {
		if err := e.svc.SetRecentActivity(ctx, u.ID, at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.svc.GetUser(ctx, store.DefaultOrg, users[7].ID)
	if err != nil || got.RecentActivity != at.Unix()+7 {
		t.Fatalf("this node's read of a pending time: got %+v, %v", got, err)
	}
	list, err := e.svc.UsersByIDs(ctx, store.DefaultOrg, []string{users[9].ID})
	if err != nil || len(list) != 1 || list[0].RecentActivity != at.Unix()+9 {
		t.Fatalf("UsersByIDs of a pending time: got %+v, %v", list, err)
	}
	time.Sleep(200 * time.Millisecond) // a few failed flushes
	as.fail.Store(false)
	waitFor(t, "the pending times to be written", func() bool {
		u, err := e.db.UserByID(ctx, store.DefaultOrg, users[299].ID)
		return err == nil && u.RecentActivity == at.Unix()+299
	})
	for i, u := range users {
		s, err := e.db.UserByID(ctx, store.DefaultOrg, u.ID)
		if err != nil || s.RecentActivity != at.Unix()+int64(i) {
			t.Fatalf("stored recent activity of user %d: got %v, %v", i, s.RecentActivity, err)
		}
	}
	t.Logf("300 disconnects while batching: %d writes of %d user times", as.writes.Load(), as.users.Load())
	if w := as.writes.Load(); w > 3 {
		t.Fatalf("300 disconnects cost %d writes, want a few (one per flush)", w)
	}

	// Stopping Run writes what is pending, then writes through again.
	late := users[5]
	if err := e.svc.SetRecentActivity(ctx, late.ID, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	stop()
	wg.Wait()
	if s, _ := e.db.UserByID(ctx, store.DefaultOrg, late.ID); s.RecentActivity != at.Add(time.Hour).Unix() {
		t.Fatalf("after Run stopped: stored %d, want the pending %d", s.RecentActivity, at.Add(time.Hour).Unix())
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
