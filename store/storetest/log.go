package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// commitPositions: the events of one commit take Pos(seq, 0..n-1) across
// its batches, a message the position of its event or, without one, the
// next free index; numbers grow from commit to commit, and LastCommit
// follows.
func commitPositions(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	conv := createConversation(t, s, store.TypeGroup, now, "a", "b")
	if last, err := s.LastCommit(ctx); err != nil || last != 0 {
		t.Fatalf("last commit of a new store: got %d, %v, want 0", last, err)
	}
	mA, eA := message(ids.Next(now), conv.ID, "a", "with an event", now)
	bare, _ := message(ids.Next(now), conv.ID, "a", "without an event", now)
	mB, eB := message(ids.Next(now), conv.ID, "b", "second batch", now)
	one := &store.Batch{Messages: []store.Message{mA, bare},
		Events: []store.Event{userEvent(ids.Next(now), "a", `{"u":1}`, now), eA, convEvent(ids.Next(now), conv.ID, `{"c":1}`, now)}}
	two := &store.Batch{Messages: []store.Message{mB}, Events: []store.Event{eB}}
	c1 := mustCommit(t, s, one, two)
	if c1.Events != nil {
		t.Fatalf("commit: got events %+v, want none (Commit sets positions on the batches)", c1.Events)
	}
	for i, e := range append(append([]store.Event{}, one.Events...), two.Events...) {
		if e.Pos != store.Pos(c1.Seq, i) {
			t.Fatalf("event %d: got position %d, want %d", i, e.Pos, store.Pos(c1.Seq, i))
		}
	}
	for name, tc := range map[string]struct {
		got store.Message
		idx int
	}{"message with its event": {one.Messages[0], 1}, "message without an event": {one.Messages[1], 4}, "second batch": {two.Messages[0], 3}} {
		if tc.got.Pos != store.Pos(c1.Seq, tc.idx) {
			t.Fatalf("%s: got position %d, want %d", name, tc.got.Pos, store.Pos(c1.Seq, tc.idx))
		}
		if m, err := s.MessageByID(ctx, tc.got.ID); err != nil || m.Pos != tc.got.Pos {
			t.Fatalf("%s read back: got %+v, %v, want position %d", name, m, err, tc.got.Pos)
		}
	}
	for _, e := range listEvents(t, s, store.EventQuery{UserID: "a", Limit: -1}) {
		if store.SeqOf(e.Pos) != c1.Seq {
			t.Fatalf("event %s read back at %d, outside commit %d", e.ID, e.Pos, c1.Seq)
		}
	}
	if last, err := s.LastCommit(ctx); err != nil || last != c1.Seq {
		t.Fatalf("last commit: got %d, %v, want %d", last, err, c1.Seq)
	}

	touch := mustCommit(t, s, &store.Batch{Touch: map[string]time.Time{conv.ID: now}})
	next := &store.Batch{Events: []store.Event{convEvent(ids.Next(now), conv.ID, `{}`, now)}}
	c3 := mustCommit(t, s, next)
	if !(c1.Seq < touch.Seq && touch.Seq < c3.Seq) || next.Events[0].Pos != store.Pos(c3.Seq, 0) || next.Events[0].Pos <= store.LastPos(c1.Seq) {
		t.Fatalf("numbers: got %d, %d, %d (position %d), want increasing", c1.Seq, touch.Seq, c3.Seq, next.Events[0].Pos)
	}
	if c, err := s.Conversation(ctx, store.DefaultOrg, conv.ID); err != nil || c.LastPos != store.Pos(touch.Seq, 0) {
		t.Fatalf("touch without an event: got %+v, %v, want last_pos %d", c, err, store.Pos(touch.Seq, 0))
	}
	if last, err := s.LastCommit(ctx); err != nil || last != c3.Seq {
		t.Fatalf("last commit: got %d, %v, want %d", last, err, c3.Seq)
	}

	// Too many rows fails before anything is written.
	huge := &store.Batch{Events: make([]store.Event, store.MaxCommitRows+1)}
	for i := range huge.Events {
		huge.Events[i] = userEvent(fmt.Sprint("huge-", i), "a", `{}`, now)
	}
	mixed := &store.Batch{Events: huge.Events[:store.MaxCommitRows], Messages: []store.Message{bare}}
	for name, b := range map[string]*store.Batch{"events": huge, "events and a message without one": mixed} {
		if _, err := s.Commit(ctx, []*store.Batch{b}); !errors.Is(err, store.ErrTooLarge) {
			t.Fatalf("%s: got %v, want ErrTooLarge", name, err)
		}
	}
	if last, err := s.LastCommit(ctx); err != nil || last != c3.Seq {
		t.Fatalf("last commit after too large ones: got %d, %v, want %d", last, err, c3.Seq)
	}
}

// commitMembers: a commit reports the members of the conversations it has
// events for, with the position each joined at; a member added between two
// commits joined after the first and at or before the second.
func commitMembers(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := newConversation(store.TypeGroup, "a", now)
	ps := members(now, "a", "b")
	if err := s.CreateConversation(ctx, g, ps); err != nil {
		t.Fatal(err)
	}
	if g.LastPos != store.Pos(1, 0) || ps[0].JoinedPos != g.LastPos || ps[1].JoinedPos != g.LastPos {
		t.Fatalf("created: got last_pos %d and joined at %d, %d, want the next commit's first position %d",
			g.LastPos, ps[0].JoinedPos, ps[1].JoinedPos, store.Pos(1, 0))
	}
	if c, err := s.Conversation(ctx, store.DefaultOrg, g.ID); err != nil || c.LastPos != g.LastPos {
		t.Fatalf("created, read back: got %+v, %v, want last_pos %d", c, err, g.LastPos)
	}
	quiet := createConversation(t, s, store.TypeGroup, now, "a", "q")
	member := func(user string) store.Participant {
		t.Helper()
		p, err := s.Participant(ctx, g.ID, user)
		if err != nil {
			t.Fatal(err)
		}
		return *p
	}
	if p := member("b"); p.JoinedPos != g.LastPos {
		t.Fatalf("participant b: got joined at %d, want %d", p.JoinedPos, g.LastPos)
	}

	c1 := mustCommit(t, s, &store.Batch{Events: []store.Event{userEvent(ids.Next(now), "x", `{}`, now), convEvent(ids.Next(now), g.ID, `{}`, now)},
		Touch: map[string]time.Time{quiet.ID: now}})
	want := fmt.Sprint(map[string][]store.Member{g.ID: {{UserID: "a", JoinedPos: g.LastPos}, {UserID: "b", JoinedPos: g.LastPos}}})
	if got := fmt.Sprint(c1.Members); got != want {
		t.Fatalf("members of the first commit: got %s, want %s (only conversations with an event)", got, want)
	}

	added := members(now, "c", "a")
	if err := s.AddParticipants(ctx, g.ID, added); err != nil {
		t.Fatal(err)
	}
	joined := member("c").JoinedPos
	if joined <= store.LastPos(c1.Seq) || added[0].JoinedPos != joined {
		t.Fatalf("added: got joined at %d (told %d), want after commit %d (up to %d)", joined, added[0].JoinedPos, c1.Seq, store.LastPos(c1.Seq))
	}
	if p := member("a"); p.JoinedPos != g.LastPos || p.Role != store.RoleOwner {
		t.Fatalf("re-adding a member: got %+v, want it unchanged", p)
	}
	ps2, err := s.Participants(ctx, g.ID)
	if err != nil || len(ps2) != 3 || ps2[0].UserID != "c" || ps2[0].JoinedPos != joined {
		t.Fatalf("participants: got %+v, %v", ps2, err)
	}

	b2 := &store.Batch{Events: []store.Event{convEvent(ids.Next(now), g.ID, `{}`, now)}}
	c2 := mustCommit(t, s, b2)
	if joined > b2.Events[0].Pos {
		t.Fatalf("added member joined at %d, after the next commit's event %d", joined, b2.Events[0].Pos)
	}
	var got store.Member
	for _, m := range c2.Members[g.ID] {
		if m.UserID == "c" {
			got = m
		}
	}
	if len(c2.Members[g.ID]) != 3 || got.JoinedPos != joined {
		t.Fatalf("members of the second commit: got %+v, want a, b and c joined at %d", c2.Members, joined)
	}

	if _, err := s.RemoveParticipant(ctx, g.ID, "b"); err != nil {
		t.Fatal(err)
	}
	c3 := mustCommit(t, s, &store.Batch{Events: []store.Event{convEvent(ids.Next(now), g.ID, `{}`, now)}})
	if len(c3.Members[g.ID]) != 2 {
		t.Fatalf("members after b left: got %+v, want a and c", c3.Members[g.ID])
	}
}

// eventsQuery: a user's events are those of their conversations from the
// position they joined at and those addressed to them, within the bounds a
// query gives, redacted ones left out, oldest first.
func eventsQuery(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	t0 := time.Now().UTC().Truncate(time.Second)
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	g := createConversation(t, s, store.TypeGroup, t0, "u", "v")
	e1 := convEvent(ids.Next(at(1)), g.ID, `{"e":1}`, at(1))
	e2 := userEvent(ids.Next(at(2)), "u", `{"e":2}`, at(2))
	e3 := userEvent(ids.Next(at(3)), "v", `{"e":3}`, at(3))
	first := &store.Batch{Events: []store.Event{e1, e2, e3}}
	mustCommit(t, s, first)
	e1, e2, e3 = first.Events[0], first.Events[1], first.Events[2]
	if err := s.AddParticipants(ctx, g.ID, members(t0, "w")); err != nil {
		t.Fatal(err)
	}
	later := messageBatch(ids.Next(at(4)), g.ID, "u", "to be deleted", at(4))
	mustCommit(t, s, later)
	gone := later.Events[0]
	e4 := convEvent(ids.Next(at(5)), g.ID, `{"e":4}`, at(5))
	e4.RefID = gone.ID
	e5 := userEvent(ids.Next(at(6)), "w", `{"e":5}`, at(6))
	rest := &store.Batch{Events: []store.Event{e4, e5}}
	mustCommit(t, s, rest)
	e4, e5 = rest.Events[0], rest.Events[1]

	q := func(user string) store.EventQuery { return store.EventQuery{UserID: user, Limit: -1} }
	got := listEvents(t, s, q("u"))
	wantIDs(t, "u", eventIDs(got), e1.ID, e2.ID, gone.ID, e4.ID)
	if r := got[3]; r.ConversationID != g.ID || r.UserID != "" || r.RefID != gone.ID || string(r.Payload) != `{"e":4}` ||
		r.Pos != e4.Pos || !r.CreatedAt.Equal(at(5)) {
		t.Fatalf("event read back: got %+v, want %+v", r, e4)
	}
	if r := got[1]; r.UserID != "u" || r.ConversationID != "" || r.RefID != "" {
		t.Fatalf("user event read back: got %+v", r)
	}
	wantIDs(t, "v", eventIDs(listEvents(t, s, q("v"))), e1.ID, e3.ID, gone.ID, e4.ID)
	wantIDs(t, "w, who joined after the first commit", eventIDs(listEvents(t, s, q("w"))), gone.ID, e4.ID, e5.ID)
	wantIDs(t, "a stranger", eventIDs(listEvents(t, s, q("nobody"))))

	mustCommit(t, s, &store.Batch{Deletes: []store.MessageDelete{{ConversationID: g.ID, IDs: []string{gone.ID}}}})
	wantIDs(t, "u, after a delete", eventIDs(listEvents(t, s, q("u"))), e1.ID, e2.ID)
	e4.Payload, e4.ID = []byte(`{"e":"4b"}`), ids.Next(at(5)) // an event that refers to nothing deleted
	e4.RefID = ""
	again := &store.Batch{Events: []store.Event{e4}}
	mustCommit(t, s, again)
	e4 = again.Events[0]

	for name, tc := range map[string]struct {
		q    store.EventQuery
		want []string
	}{
		"all":                  {store.EventQuery{UserID: "u", Limit: -1}, []string{e1.ID, e2.ID, e4.ID}},
		"after":                {store.EventQuery{UserID: "u", After: e1.Pos, Limit: -1}, []string{e2.ID, e4.ID}},
		"until":                {store.EventQuery{UserID: "u", Until: e2.Pos, Limit: -1}, []string{e1.ID, e2.ID}},
		"after and until":      {store.EventQuery{UserID: "u", After: e1.Pos, Until: e4.Pos - 1, Limit: -1}, []string{e2.ID}},
		"created after":        {store.EventQuery{UserID: "u", CreatedAfter: at(2), Limit: -1}, []string{e4.ID}},
		"created before":       {store.EventQuery{UserID: "u", CreatedBefore: at(2), Limit: -1}, []string{e1.ID}},
		"created between":      {store.EventQuery{UserID: "u", CreatedAfter: at(1), CreatedBefore: at(5), Limit: -1}, []string{e2.ID}},
		"limit: oldest":        {store.EventQuery{UserID: "u", Limit: 2}, []string{e1.ID, e2.ID}},
		"limit: newest":        {store.EventQuery{UserID: "u", Newest: true, Limit: 2}, []string{e2.ID, e4.ID}},
		"newest, after":        {store.EventQuery{UserID: "u", Newest: true, After: e2.Pos, Limit: 2}, []string{e4.ID}},
		"newest, no limit":     {store.EventQuery{UserID: "u", Newest: true, Limit: -1}, []string{e1.ID, e2.ID, e4.ID}},
		"after every position": {store.EventQuery{UserID: "u", After: e4.Pos, Limit: -1}, nil},
		"w, created after":     {store.EventQuery{UserID: "w", CreatedAfter: at(5), Limit: 10}, []string{e5.ID}},
	} {
		wantIDs(t, name, eventIDs(listEvents(t, s, tc.q)), tc.want...)
	}
}

// eventPositions: EventPos turns what a client holds (the id of the last
// event it saw, or a time position) into a position to read after. Ids are
// made before the commit, on several nodes, so an event with a smaller id
// can be committed after one with a larger id; a device that saw the
// larger one must still get it.
func eventPositions(t *testing.T, s store.Store) {
	sec := time.Now().UTC().Truncate(time.Second)
	if pos, found, err := s.EventPos(ctx, handID(sec, 0, 1)); err != nil || found || pos != 0 {
		t.Fatalf("position in an empty log: got %d, %v, %v, want 0, not found", pos, found, err)
	}
	u, other := "user-u", "user-o"
	conv := createConversation(t, s, store.TypeGroup, sec, u, other)
	// commit writes one event: to conv when user is "", else to user.
	commit := func(eid, user string, dsec int) store.Event {
		t.Helper()
		e := userEvent(eid, user, `{}`, sec.Add(time.Duration(dsec)*time.Second))
		if user == "" {
			e = convEvent(eid, conv.ID, `{}`, e.CreatedAt)
		}
		b := &store.Batch{Events: []store.Event{e}}
		mustCommit(t, s, b)
		return b.Events[0]
	}
	posOf := func(id string, wantFound bool) int64 {
		t.Helper()
		pos, found, err := s.EventPos(ctx, id)
		if err != nil || found != wantFound {
			t.Fatalf("position of %s: got %d, found %v, %v; want found %v", id, pos, found, err, wantFound)
		}
		return pos
	}
	since := func(user, id string, found bool) []string {
		t.Helper()
		return eventIDs(listEvents(t, s, store.EventQuery{UserID: user, After: posOf(id, found), Limit: 100}))
	}

	// (a) Same second, the smaller id committed second.
	e1, e2 := commit(handID(sec, 0, 500), "", 0), commit(handID(sec, 0, 100), u, 0)
	if posOf(e1.ID, true) != e1.Pos || posOf(e2.ID, true) != e2.Pos {
		t.Fatal("positions of logged events differ from the commit's")
	}
	wantIDs(t, "since the larger id", since(u, e1.ID, true), e2.ID)
	wantIDs(t, "since the last committed", since(u, e2.ID, true))

	// (b) Time positions: two seconds later, again out of id order, then an
	// event of another user whose id is the smallest of that second but
	// committed last.
	e3, e4 := commit(handID(sec, 2, 7), "", 2), commit(handID(sec, 2, 3), u, 2)
	e5, noise := commit(handID(sec, 3, 1), "", 3), commit(handID(sec, 2, 1), other, 2)
	wantIDs(t, "since an id", since(u, e3.ID, true), e4.ID, e5.ID)
	wantIDs(t, "at the first second", since(u, store.PositionAt(sec), false), e1.ID, e2.ID, e3.ID, e4.ID, e5.ID)
	wantIDs(t, "between the events", since(u, store.PositionAt(sec.Add(time.Second)), false), e3.ID, e4.ID, e5.ID)
	wantIDs(t, "at the last second", since(u, store.PositionAt(sec.Add(3*time.Second)), false), e5.ID)
	wantIDs(t, "a pruned id", since(u, handID(sec, 2, 2), false), e3.ID, e4.ID, e5.ID)
	wantIDs(t, "the other user", since(other, store.PositionAt(sec.Add(time.Second)), false), e3.ID, e5.ID, noise.ID)

	// (c) Past every id: the newest position, so nothing comes after it.
	for _, id := range []string{handID(sec, 10, 0), "ffffffffffffffffffffffff"} {
		if pos := posOf(id, false); pos != noise.Pos {
			t.Fatalf("position past every id %s: got %d, want the newest %d", id, pos, noise.Pos)
		}
		wantIDs(t, "after every id", since(u, id, false))
	}
}
