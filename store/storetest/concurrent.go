package storetest

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// concurrentCommits: writers (nodes, with their own ids) commit in parallel
// while a reader resolves every number as soon as it is handed out, as a
// node that releases events in order does once it has waited too long.
// Afterwards every number is decided for good: committed, with exactly the
// events its commit placed, or void, and then its writer saw Commit fail
// (a number a reader took from a writer never loses an event silently).
// Every committed event is in exactly one commit, at a unique position.
func concurrentCommits(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := "user-u"
	conv := createConversation(t, s, store.TypeGroup, now, u)
	first, err := s.LastCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first++
	const writers, commits = 4, 30
	var (
		mu        sync.Mutex
		committed = map[int64][]store.Event{} // guarded by mu: number -> its events as placed
		failures  int                         // guarded by mu
	)
	var wg sync.WaitGroup
	for w := range writers {
		ids := newIDs(t, s)
		wg.Go(func() {
			for i := range commits {
				var batches []*store.Batch
				for k := range 1 + (w+i)%2 {
					b := &store.Batch{}
					for j := range 1 + (w+i+k)%3 {
						e := store.Event{ID: ids.Next(time.Now()), Payload: json.RawMessage(`{}`), CreatedAt: now}
						if j%2 == 0 {
							e.ConversationID = conv.ID
						} else {
							e.UserID = u
						}
						b.Events = append(b.Events, e)
					}
					batches = append(batches, b)
				}
				for attempt := 0; ; attempt++ {
					c, err := s.Commit(ctx, batches)
					if err == nil {
						var es []store.Event
						for _, b := range batches {
							es = append(es, b.Events...)
						}
						mu.Lock()
						committed[c.Seq] = es
						mu.Unlock()
						break
					}
					mu.Lock()
					failures++
					mu.Unlock()
					if attempt == 10 {
						t.Errorf("writer %d, commit %d: still failing: %v", w, i, err)
						return
					}
				}
			}
		})
	}

	resolved := map[int64]*store.Committed{} // owned by the reader until it is done
	stop, readerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		for next := first; ; {
			select {
			case <-stop:
				return
			default:
			}
			last, err := s.LastCommit(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			for ; next <= last; next++ {
				r, err := s.ResolveCommit(ctx, next)
				if err != nil {
					t.Errorf("resolve %d while writers run: %v", next, err)
					return
				}
				resolved[next] = r
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	if t.Failed() {
		t.FailNow()
	}

	last, err := s.LastCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	voids, seen, positions := 0, map[string]int64{}, map[int64]bool{}
	for seq := first; seq <= last; seq++ {
		r, err := s.ResolveCommit(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if early, ok := resolved[seq]; ok && (early.Void != r.Void || !slices.Equal(eventIDs(early.Events), eventIDs(r.Events))) {
			t.Fatalf("number %d resolved to %+v while writers ran, to %+v after", seq, early, r)
		}
		want, ok := committed[seq]
		switch {
		case r.Void && ok:
			t.Fatalf("number %d: void, but its commit succeeded with %d events", seq, len(want))
		case r.Void:
			voids++
			continue
		case !ok:
			t.Fatalf("number %d: committed with %d events, but no writer's commit succeeded with it", seq, len(r.Events))
		}
		if !slices.Equal(eventIDs(r.Events), eventIDs(want)) {
			t.Fatalf("number %d: resolved events %v, committed %v", seq, eventIDs(r.Events), eventIDs(want))
		}
		for i, e := range r.Events {
			if e.Pos != want[i].Pos || e.Pos != store.Pos(seq, i) || positions[e.Pos] {
				t.Fatalf("number %d, event %d: position %d (placed at %d), want %d, once", seq, i, e.Pos, want[i].Pos, store.Pos(seq, i))
			}
			positions[e.Pos] = true
			if _, dup := seen[e.ID]; dup {
				t.Fatalf("event %s in two commits", e.ID)
			}
			seen[e.ID] = seq
		}
	}
	if voids != failures {
		t.Fatalf("%d void numbers but %d failed commits: a number lost to a reader must fail its commit", voids, failures)
	}
	if got := len(committed); got != writers*commits {
		t.Fatalf("committed %d commits, want %d", got, writers*commits)
	}
	all := listEvents(t, s, store.EventQuery{UserID: u, Limit: -1})
	if len(all) != len(seen) {
		t.Fatalf("the log holds %d events, the commits %d", len(all), len(seen))
	}
	for _, e := range all {
		if _, ok := seen[e.ID]; !ok {
			t.Fatalf("event %s in the log but in no resolved commit", e.ID)
		}
	}
	t.Logf("%d commits in numbers %d..%d, %d taken from their writers by the reader", len(committed), first, last, voids)
}
