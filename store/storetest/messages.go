package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

func messagesAndEvents(t *testing.T, s store.Store) {
	ids := store.NewIDGen()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, b, c := "user-a", "user-b", "user-c"
	ab := newConversation(store.TypePrivate, a, now)
	ab.PairKey = store.PairKey(a, b)
	ac := newConversation(store.TypeGroup, a, now)
	for conv, who := range map[*store.Conversation][]string{ab: {a, b}, ac: {a, c}} {
		if err := s.CreateConversation(ctx, conv, members(now, who...)); err != nil {
			t.Fatal(err)
		}
	}
	event := func(conv, user string, n int) store.Event {
		return store.Event{ID: ids.Next(now), ConversationID: conv, UserID: user,
			Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), CreatedAt: now}
	}
	var msgs []store.Message
	batch := &store.Batch{Touch: map[string]time.Time{ab.ID: now.Add(time.Minute)}}
	for i := range 5 {
		at := now.Add(time.Duration(i) * time.Second)
		m := store.Message{ID: ids.Next(at), ConversationID: ab.ID, From: a, Body: fmt.Sprint("m", i),
			X: json.RawMessage(`{"k":"v"}`), T: at.Unix(), CreatedAt: at, UpdatedAt: at}
		msgs = append(msgs, m)
		batch.Messages = append(batch.Messages, m)
		batch.Events = append(batch.Events, event(ab.ID, "", i))
	}
	batch.Events = append(batch.Events, event(ac.ID, "", 100), event("", b, 200), event("", c, 300))
	if err := s.Commit(ctx, batch); err != nil {
		t.Fatal(err)
	}

	got, err := s.Message(ctx, ab.ID, msgs[2].ID)
	if err != nil || got.Body != "m2" || string(got.X) != `{"k":"v"}` {
		t.Fatalf("message: got %+v, %v", got, err)
	}
	if _, err := s.Message(ctx, ac.ID, msgs[2].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("message through another conversation: got %v, want ErrNotFound", err)
	}
	list := func(q store.MessageQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 30
		}
		ms, err := s.ConversationMessages(ctx, ab.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Body)
		}
		return out
	}
	for name, tc := range map[string]struct {
		q    store.MessageQuery
		want string
	}{
		"newest first":        {store.MessageQuery{}, "[m4 m3 m2 m1 m0]"},
		"limit":               {store.MessageQuery{Limit: 2}, "[m4 m3]"},
		"before":              {store.MessageQuery{UpdatedBefore: msgs[2].UpdatedAt}, "[m1 m0]"},
		"after: oldest first": {store.MessageQuery{UpdatedAfter: msgs[2].UpdatedAt}, "[m3 m4]"},
		"ids":                 {store.MessageQuery{IDs: []string{msgs[0].ID, msgs[4].ID}}, "[m4 m0]"},
	} {
		if got := fmt.Sprint(list(tc.q)); got != tc.want {
			t.Fatalf("%s: got %s, want %s", name, got, tc.want)
		}
	}
	if conv, _ := s.Conversation(ctx, store.DefaultOrg, ab.ID); !conv.UpdatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("touch: got updated_at %s, want %s", conv.UpdatedAt, now.Add(time.Minute))
	}

	payloads := func(user, after string, limit int) []string {
		t.Helper()
		es, err := s.EventsSince(ctx, user, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, e := range es {
			if i > 0 && e.ID <= es[i-1].ID {
				t.Fatalf("events not in id order: %s after %s", e.ID, es[i-1].ID)
			}
			out = append(out, string(e.Payload))
		}
		return out
	}
	// b: the 5 events of a-b plus the one addressed to b; not a-c's, not c's.
	if got := fmt.Sprint(payloads(b, "", 100)); got != `[{"n":0} {"n":1} {"n":2} {"n":3} {"n":4} {"n":200}]` {
		t.Fatalf("events for b: got %s", got)
	}
	if got := fmt.Sprint(payloads(c, "", 100)); got != `[{"n":100} {"n":300}]` {
		t.Fatalf("events for c: got %s", got)
	}
	// Paging by position: no gap, no duplicate.
	all, _ := s.EventsSince(ctx, a, "", 100)
	var paged []string
	for pos := ""; ; {
		page, err := s.EventsSince(ctx, a, pos, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			paged = append(paged, e.ID)
		}
		pos = page[len(page)-1].ID
	}
	if len(paged) != len(all) || len(all) != 6 {
		t.Fatalf("paging: got %d events by pages and %d at once, want 6", len(paged), len(all))
	}
	for i := range all {
		if paged[i] != all[i].ID {
			t.Fatalf("paging: event %d is %s, want %s", i, paged[i], all[i].ID)
		}
	}
	// EventsBefore: the newest ones before a position, id ascending.
	before, err := s.EventsBefore(ctx, b, all[len(all)-1].ID, 2)
	if err != nil || len(before) != 2 || before[1].ID >= all[len(all)-1].ID || before[0].ID >= before[1].ID {
		t.Fatalf("events before: got %v, %v", before, err)
	}
	if p := store.PositionAt(now); p > all[0].ID || len(p) != 24 {
		t.Fatalf("PositionAt(now) = %s, want <= the first event id %s", p, all[0].ID)
	}
	if n, err := s.PruneEvents(ctx, now.Add(time.Second)); err != nil || n != 8 {
		t.Fatalf("prune: got %d, %v, want 8", n, err)
	}
	if got := payloads(a, "", 100); len(got) != 0 {
		t.Fatalf("after prune: got %v", got)
	}
}

func readMarks(t *testing.T, s store.Store) {
	ids := store.NewIDGen()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, b := "user-a", "user-b"
	conv := newConversation(store.TypePrivate, a, now)
	conv.PairKey = store.PairKey(a, b)
	if err := s.CreateConversation(ctx, conv, members(now, a, b)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LastMessage(ctx, conv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("last message of an empty chat: got %v, want ErrNotFound", err)
	}
	var mids []string
	b2 := &store.Batch{}
	for i, from := range []string{a, a, b, a} {
		m := store.Message{ID: ids.Next(now), ConversationID: conv.ID, From: from, Body: fmt.Sprint(i), T: now.Unix(), CreatedAt: now, UpdatedAt: now}
		mids = append(mids, m.ID)
		b2.Messages = append(b2.Messages, m)
	}
	if err := s.Commit(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if last, err := s.LastMessage(ctx, conv.ID); err != nil || last.ID != mids[3] {
		t.Fatalf("last message: got %v, %v", last, err)
	}
	if n, _ := s.CountUnread(ctx, conv.ID, b, ""); n != 3 {
		t.Fatalf("unread for b: got %d, want 3 (a's messages)", n)
	}
	if un, _ := s.UnreadFrom(ctx, conv.ID, b, "", 10); len(un) != 3 || un[0].ID != mids[3] {
		t.Fatalf("unread list for b: got %d, want 3 newest first", len(un))
	}
	if err := s.MarkRead(ctx, conv.ID, b, mids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRead(ctx, conv.ID, b, mids[0]); err != nil { // never moves back
		t.Fatal(err)
	}
	if m, _ := s.ReadMark(ctx, conv.ID, b); m != mids[1] {
		t.Fatalf("read mark: got %s, want %s", m, mids[1])
	}
	if n, _ := s.CountUnread(ctx, conv.ID, b, mids[1]); n != 1 {
		t.Fatalf("unread after mark: got %d, want 1", n)
	}
	if m, _ := s.OthersReadMark(ctx, conv.ID, a); m != mids[1] {
		t.Fatalf("others' mark seen by a: got %s, want %s", m, mids[1])
	}
	if m, _ := s.ReadMark(ctx, conv.ID, a); m != "" {
		t.Fatalf("a's mark: got %q, want none", m)
	}
}

func editDeleteHide(t *testing.T, s store.Store) {
	ids := store.NewIDGen()
	now := time.Now().UTC().Truncate(time.Millisecond)
	conv := newConversation(store.TypeGroup, "a", now)
	if err := s.CreateConversation(ctx, conv, members(now, "a", "b")); err != nil {
		t.Fatal(err)
	}
	var mids []string
	b := &store.Batch{}
	for i := range 3 {
		m := store.Message{ID: ids.Next(now), ConversationID: conv.ID, From: "a", Body: fmt.Sprint(i), T: now.Unix(), CreatedAt: now, UpdatedAt: now}
		mids = append(mids, m.ID)
		b.Messages = append(b.Messages, m)
	}
	if err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.EditMessage(ctx, mids[0], "edited", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if m, err := s.MessageByID(ctx, mids[0]); err != nil || m.Body != "edited" || !m.UpdatedAt.After(m.CreatedAt) {
		t.Fatalf("edited: got %+v, %v", m, err)
	}
	if err := s.EditMessage(ctx, "missing", "x", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("edit missing: got %v, want ErrNotFound", err)
	}
	if err := s.HideMessages(ctx, conv.ID, "b", []string{mids[1]}); err != nil {
		t.Fatal(err)
	}
	count := func(viewer string) int {
		ms, err := s.ConversationMessages(ctx, conv.ID, store.MessageQuery{ViewerID: viewer, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	if count("b") != 2 || count("a") != 3 {
		t.Fatalf("hidden for b only: got b=%d a=%d, want 2 and 3", count("b"), count("a"))
	}
	if err := s.DeleteMessages(ctx, "other-conversation", []string{mids[2]}); err != nil {
		t.Fatal(err)
	}
	if count("a") != 3 {
		t.Fatal("delete through another conversation removed a message")
	}
	if err := s.DeleteMessages(ctx, conv.ID, []string{mids[2], "missing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MessageByID(ctx, mids[2]); !errors.Is(err, store.ErrNotFound) || count("a") != 2 {
		t.Fatalf("deleted message: got %v, %d left", err, count("a"))
	}
}

// eventPositions: catch-up follows commit order, not id order. Ids are made
// before the commit (on several nodes), so an event with a smaller id can be
// committed after one with a larger id; a device that saw the larger one
// must still get it.
func eventPositions(t *testing.T, s store.Store) {
	sec := time.Now().UTC().Truncate(time.Second)
	id := func(dsec int, counter uint64) string {
		return fmt.Sprintf("%08x%016x", uint32(sec.Unix())+uint32(dsec), counter)
	}
	u, other := "user-u", "user-o"
	conv := newConversation(store.TypeGroup, u, sec)
	if err := s.CreateConversation(ctx, conv, members(sec, u, other)); err != nil {
		t.Fatal(err)
	}
	// commit writes one batch of one event: to conv when user is "", else to user.
	commit := func(eid, user string, dsec int) {
		t.Helper()
		e := store.Event{ID: eid, UserID: user, Payload: json.RawMessage(`{"eid":"` + eid + `"}`),
			CreatedAt: sec.Add(time.Duration(dsec) * time.Second)}
		if user == "" {
			e.ConversationID = conv.ID
		}
		if err := s.Commit(ctx, &store.Batch{Events: []store.Event{e}}); err != nil {
			t.Fatal(err)
		}
	}
	since := func(after string, limit int) []string {
		t.Helper()
		es, err := s.EventsSince(ctx, u, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if es == nil {
			t.Fatalf("events since %q: got nil, want a non-nil slice", after)
		}
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	want := func(name string, got []string, ids ...string) {
		t.Helper()
		if ids == nil {
			ids = []string{}
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("%s: got %v, want %v", name, got, ids)
		}
	}

	// (a) Same second, the smaller id committed second.
	e1, e2 := id(0, 500), id(0, 100)
	commit(e1, "", 0)
	commit(e2, u, 0)
	want("since the larger id", since(e1, 100), e2)
	want("from the start", since("", 100), e1, e2)
	want("since the last committed", since(e2, 100))
	want("limit", since("", 1), e1)

	// (b) Time positions: two seconds later, again out of id order, then an
	// event of another user whose id is the smallest of that second but
	// committed last.
	e3, e4, e5, noise := id(2, 7), id(2, 3), id(3, 1), id(2, 1)
	commit(e3, "", 2)
	commit(e4, u, 2)
	commit(e5, "", 3)
	commit(noise, other, 2)
	want("paging by the last id seen", since(e3, 100), e4, e5)
	want("at the first second", since(store.PositionAt(sec), 100), e1, e2, e3, e4, e5)
	want("between the events", since(store.PositionAt(sec.Add(time.Second)), 100), e3, e4, e5)
	want("at the last second", since(store.PositionAt(sec.Add(3*time.Second)), 100), e5)
	want("a pruned id", since(id(2, 2), 100), e3, e4, e5)
	want("the other user", func() []string {
		es, err := s.EventsSince(ctx, other, store.PositionAt(sec.Add(time.Second)), 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}(), e3, e5, noise)

	// (c) Past every id: nothing, as an empty slice.
	want("after every id", since(id(10, 0), 100))
	want("after every id, max", since("ffffffffffffffffffffffff", 100))
}

// concurrentCatchUp: writers commit events with ids from their own
// generators (nodes) while a reader catches up by the last id it saw; once
// the writers are done and the reader has caught up, it has seen every
// event exactly once.
func concurrentCatchUp(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := "user-u"
	conv := newConversation(store.TypeGroup, u, now)
	if err := s.CreateConversation(ctx, conv, members(now, u)); err != nil {
		t.Fatal(err)
	}
	const writers, batches = 4, 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			ids := store.NewIDGen() // one node each
			for i := range batches {
				b := &store.Batch{}
				for j := range 1 + (w+i)%3 {
					e := store.Event{ID: ids.Next(time.Now()), Payload: json.RawMessage(`{}`), CreatedAt: now}
					if j%2 == 0 {
						e.ConversationID = conv.ID
					} else {
						e.UserID = u
					}
					b.Events = append(b.Events, e)
				}
				if err := s.Commit(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	t.Cleanup(func() { <-done }) // before the store closes, if the test fails early

	seen := map[string]bool{}
	pos := ""
	catchUp := func() {
		t.Helper()
		for {
			page, err := s.EventsSince(ctx, u, pos, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				return
			}
			for _, e := range page {
				if seen[e.ID] {
					t.Fatalf("event %s replayed twice", e.ID)
				}
				seen[e.ID] = true
			}
			pos = page[len(page)-1].ID
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		catchUp()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := s.EventsSince(ctx, u, "", -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(all) {
		var missed []string
		for _, e := range all {
			if !seen[e.ID] {
				missed = append(missed, e.ID)
			}
		}
		t.Fatalf("catching up while nodes commit: saw %d of %d events, missed %v", len(seen), len(all), missed)
	}
}
