package auth

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/samagate/samagate/protocol"
)

// TestHashQueue: logins are served before new hashes whatever their order
// of arrival; a full queue answers ErrServerBusy at once, a long wait
// after HashWait, an ended context with its error.
func TestHashQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newHashQueue(1, 4, 3*time.Second) // 4 logins or 1 new hash may wait
		ctx := context.Background()
		hold, err := q.acquire(ctx, classLogin)
		if err != nil {
			t.Fatal(err)
		}
		order := make(chan string, 8)
		wait := func(name string, c hashClass) {
			release, err := q.acquire(ctx, c)
			if err != nil {
				order <- name + ": " + err.Error()
				return
			}
			order <- name
			release()
		}
		go wait("new", classNew)
		synctest.Wait()
		go wait("login-1", classLogin)
		synctest.Wait()
		go wait("login-2", classLogin)
		synctest.Wait()
		if _, err := q.acquire(ctx, classNew); !errors.Is(err, protocol.ErrServerBusy) {
			t.Fatalf("second waiting new hash: got %v, want ErrServerBusy at once", err)
		}
		if !q.busy(classNew) || q.busy(classLogin) {
			t.Fatal("busy: want new hashes busy, logins not")
		}
		hold()
		var got []string
		for range 3 {
			got = append(got, <-order)
		}
		if got[0] != "login-1" || got[1] != "login-2" || got[2] != "new" {
			t.Fatalf("served %v; want the logins before the earlier new hash", got)
		}

		hold, _ = q.acquire(ctx, classLogin)
		start := time.Now()
		go wait("late", classLogin)
		if got := <-order; got != "late: "+protocol.ErrServerBusy.Error() || time.Since(start) != 3*time.Second {
			t.Fatalf("waiting past HashWait: got %q after %v, want busy after 3s", got, time.Since(start))
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := q.acquire(cctx, classLogin); !errors.Is(err, context.Canceled) {
			t.Fatalf("ended context: got %v", err)
		}
		hold()
		if q.free != 1 {
			t.Fatalf("free slots after everything: %d, want 1", q.free)
		}
	})
}
