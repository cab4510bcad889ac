package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// reactions: reactions are written by commits with their event; adding one
// twice or removing one that is absent writes nothing; a viewer's summary
// counts users per reaction and lists their own; deleting the message
// deletes its reactions, and reacting to a deleted message fails the commit
// with ErrNotFound.
func reactions(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	conv := createConversation(t, s, store.TypeGroup, now, "a", "b", "c")
	m1, m2 := ids.Next(now), ids.Next(now)
	mustCommit(t, s, messageBatch(m1, conv.ID, "a", "one", now), messageBatch(m2, conv.ID, "a", "two", now))
	react := func(user, mid, add, remove string, at time.Time) error {
		_, err := s.Commit(ctx, []*store.Batch{{
			Reactions: []store.ReactionChange{{MessageID: mid, UserID: user, Add: add, Remove: remove, At: at}},
			Events:    []store.Event{convEvent(ids.Next(at), conv.ID, `{"r":1}`, at)},
		}})
		return err
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(react("a", m1, "👍", "", now))
	must(react("a", m1, "👍", "", now.Add(time.Millisecond))) // again: nothing changes
	must(react("b", m1, "👍", "🤯", now.Add(2*time.Millisecond)))
	must(react("b", m1, "👩‍💻", "", now.Add(3*time.Millisecond)))
	must(react("c", m1, "", "👍", now.Add(4*time.Millisecond))) // never given: nothing changes
	must(react("a", m1, "🧲", "", now.Add(5*time.Millisecond)))

	got, err := s.MessageReactions(ctx, m1)
	must(err)
	want := map[string][]string{"👍": {"a", "b"}, "👩‍💻": {"b"}, "🧲": {"a"}}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("message reactions: got %v, want %v", got, want)
	}
	none, err := s.MessageReactions(ctx, m2)
	must(err)
	if none == nil || len(none) != 0 {
		t.Fatalf("reactions of a message without any: got %#v, want an empty map", none)
	}
	own, err := s.UserReactions(ctx, m1, "a")
	must(err)
	wantIDs(t, "a's reactions", own, slices.Sorted(slices.Values([]string{"👍", "🧲"}))...)

	sums, err := s.ReactionSummaries(ctx, "b", []string{m1, m2, "absent"})
	must(err)
	if len(sums) != 1 {
		t.Fatalf("summaries: got %v, want only %s", sums, m1)
	}
	sb := sums[m1]
	wantIDs(t, "b's own", sb.Own, slices.Sorted(slices.Values([]string{"👍", "👩‍💻"}))...)
	if !maps.Equal(sb.Total, map[string]int{"👍": 2, "👩‍💻": 1, "🧲": 1}) {
		t.Fatalf("totals: got %v", sb.Total)
	}
	sums, err = s.ReactionSummaries(ctx, "c", []string{m1})
	must(err)
	if sc := sums[m1]; sc.Own == nil || len(sc.Own) != 0 {
		t.Fatalf("c's own: got %#v, want an empty list", sc.Own)
	}

	// Removing one's reaction.
	must(react("b", m1, "", "👍", now.Add(6*time.Millisecond)))
	got, err = s.MessageReactions(ctx, m1)
	must(err)
	wantIDs(t, "👍 after b removed it", got["👍"], "a")

	// Deleting the message deletes its reactions; reacting to it fails.
	mustCommit(t, s, &store.Batch{Deletes: []store.MessageDelete{{ConversationID: conv.ID, IDs: []string{m1}}}})
	got, err = s.MessageReactions(ctx, m1)
	must(err)
	if len(got) != 0 {
		t.Fatalf("reactions of a deleted message: got %v, want none", got)
	}
	if err := react("a", m1, "👍", "", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reacting to a deleted message: got %v, want ErrNotFound", err)
	}
}

// blocks: the block list is per user; Blocked sees a block either way, and
// not one whose owner turned the list off; a commit with an Unblocked pair
// that has a block fails with ErrBlocked and writes nothing, and passes
// once the block is gone.
func blocks(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	blocked := func(a, b string, want bool) {
		t.Helper()
		got, err := s.Blocked(ctx, a, b)
		must(err)
		if got != want {
			t.Fatalf("blocked(%s, %s): got %v, want %v", a, b, got, want)
		}
	}
	list, err := s.BlockedUsers(ctx, "a")
	must(err)
	wantIDs(t, "empty list", list)
	blocked("a", "b", false)

	must(s.Block(ctx, "a", []string{"b", "c"}, now))
	must(s.Block(ctx, "a", []string{"b", "d"}, now.Add(time.Second))) // b again: stays as it was
	list, err = s.BlockedUsers(ctx, "a")
	must(err)
	wantIDs(t, "a's list", list, "b", "c", "d")
	blocked("a", "b", true)
	blocked("b", "a", true) // either way
	blocked("b", "c", false)

	conv := createConversation(t, s, store.TypePrivate, now, "a", "b")
	send := func(id string) error {
		b := messageBatch(id, conv.ID, "b", "hi", now)
		b.Unblocked = []store.UserPair{{A: "b", B: "a"}}
		_, err := s.Commit(ctx, []*store.Batch{b})
		return err
	}
	refused := ids.Next(now)
	if err := send(refused); !errors.Is(err, store.ErrBlocked) || !errors.Is(err, store.ErrRolledBack) {
		t.Fatalf("message of a blocked pair: got %v, want ErrBlocked, rolled back", err)
	}
	if _, err := s.Message(ctx, conv.ID, refused); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused message: got %v, want not stored", err)
	}

	// Turned off, a's list blocks nothing; on again, it does.
	must(s.SetBlockListEnabled(ctx, "a", false))
	must(s.SetBlockListEnabled(ctx, "a", false))
	blocked("a", "b", false)
	must(send(ids.Next(now)))
	must(s.SetBlockListEnabled(ctx, "a", true))
	blocked("a", "b", true)

	must(s.Unblock(ctx, "a", []string{"b", "nobody"}))
	list, err = s.BlockedUsers(ctx, "a")
	must(err)
	wantIDs(t, "after unblock", list, "c", "d")
	blocked("a", "b", false)
	must(send(ids.Next(now)))

	// A block by the other side counts too.
	must(s.Block(ctx, "b", []string{"a"}, now))
	if err := send(ids.Next(now)); !errors.Is(err, store.ErrBlocked) {
		t.Fatalf("message to one the sender blocked: got %v, want ErrBlocked", err)
	}
}

// blocksConcurrent: blocking the same users from many goroutines at once
// stores each once.
func blocksConcurrent(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Block(ctx, "a", []string{"x", "y", fmt.Sprint("z", i%2)}, now)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.BlockedUsers(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(list)
	wantIDs(t, "list", list, "x", "y", "z0", "z1")
}
