package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// messagesAndEvents: one commit of messages and events of several
// conversations and users; messages read back with their positions, pages
// of history, the touch, each user's events, paging the log by position,
// and pruning.
func messagesAndEvents(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
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
	batch := &store.Batch{Touch: map[string]time.Time{ab.ID: now.Add(time.Minute)}}
	for i := range 5 {
		at := now.Add(time.Duration(i) * time.Second)
		m, e := message(ids.Next(at), ab.ID, a, fmt.Sprint("m", i), at)
		m.X, m.ClientID = json.RawMessage(`{"k":"v"}`), fmt.Sprint("client-", i)
		e.Payload = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
		batch.Messages, batch.Events = append(batch.Messages, m), append(batch.Events, e)
	}
	batch.Events = append(batch.Events, convEvent(ids.Next(now), ac.ID, `{"n":100}`, now),
		userEvent(ids.Next(now), b, `{"n":200}`, now), userEvent(ids.Next(now), c, `{"n":300}`, now))
	done := mustCommit(t, s, batch)
	msgs := batch.Messages
	for i, m := range msgs {
		if m.Pos != store.Pos(done.Seq, i) || batch.Events[i].Pos != m.Pos {
			t.Fatalf("message %d: got position %d (its event %d), want %d", i, m.Pos, batch.Events[i].Pos, store.Pos(done.Seq, i))
		}
	}

	got, err := s.Message(ctx, ab.ID, msgs[2].ID)
	if err != nil || got.Body != "m2" || string(got.X) != `{"k":"v"}` || got.ClientID != "client-2" || got.Pos != msgs[2].Pos ||
		!got.CreatedAt.Equal(msgs[2].CreatedAt) {
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
	conv, err := s.Conversation(ctx, store.DefaultOrg, ab.ID)
	if err != nil || !conv.UpdatedAt.Equal(now.Add(time.Minute)) || conv.LastPos != msgs[4].Pos {
		t.Fatalf("touch: got %+v, %v, want updated_at %s and last_pos %d (its last event)", conv, err, now.Add(time.Minute), msgs[4].Pos)
	}

	payloads := func(user string) string {
		t.Helper()
		var out []string
		for _, e := range listEvents(t, s, store.EventQuery{UserID: user, Limit: 100}) {
			out = append(out, string(e.Payload))
		}
		return fmt.Sprint(out)
	}
	// b: the 5 events of a-b plus the one addressed to b; not a-c's, not c's.
	if got := payloads(b); got != `[{"n":0} {"n":1} {"n":2} {"n":3} {"n":4} {"n":200}]` {
		t.Fatalf("events for b: got %s", got)
	}
	if got := payloads(c); got != `[{"n":100} {"n":300}]` {
		t.Fatalf("events for c: got %s", got)
	}
	// Paging by position: no gap, no duplicate.
	all := listEvents(t, s, store.EventQuery{UserID: a, Limit: -1})
	var paged []string
	for after := int64(0); ; {
		page := listEvents(t, s, store.EventQuery{UserID: a, After: after, Limit: 2})
		if len(page) == 0 {
			break
		}
		paged = append(paged, eventIDs(page)...)
		after = page[len(page)-1].Pos
	}
	if len(all) != 6 {
		t.Fatalf("events for a: got %d, want 6", len(all))
	}
	wantIDs(t, "paging", paged, eventIDs(all)...)
	if n, err := s.PruneEvents(ctx, now.Add(5*time.Second)); err != nil || n != 8 {
		t.Fatalf("prune: got %d, %v, want 8", n, err)
	}
	wantIDs(t, "after prune", eventIDs(listEvents(t, s, store.EventQuery{UserID: a, Limit: 100})))
	if _, err := s.Message(ctx, ab.ID, msgs[0].ID); err != nil {
		t.Fatalf("pruning the log removed a message: %v", err)
	}

	t.Run("States", func(t *testing.T) { convStates(t, s) })
}

// historyByPosition: history, the last message, unread counts and read
// marks follow commit positions, not ids. Each commit here carries an id
// smaller than the one before (ids are made on several nodes before they
// commit), so id order is the opposite of the right one.
func historyByPosition(t *testing.T, s store.Store) {
	sec := time.Now().UTC().Truncate(time.Second)
	a, b := "user-a", "user-b"
	conv := createConversation(t, s, store.TypePrivate, sec, a, b)
	if _, err := s.LastMessage(ctx, conv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("last message of an empty chat: got %v, want ErrNotFound", err)
	}
	var msgs []store.Message
	for i, from := range []string{a, a, b, a} {
		bt := messageBatch(handID(sec, 0, uint64(100-i)), conv.ID, from, fmt.Sprint(i), sec)
		mustCommit(t, s, bt)
		msgs = append(msgs, bt.Messages[0])
	}
	ids := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, msgs[i].ID)
		}
		return out
	}
	history := func(q store.MessageQuery) []string {
		t.Helper()
		q.Limit = 10
		ms, err := s.ConversationMessages(ctx, conv.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		return messageIDs(ms)
	}
	wantIDs(t, "history, newest first", history(store.MessageQuery{}), ids(3, 2, 1, 0)...)
	wantIDs(t, "history after a time, oldest first", history(store.MessageQuery{UpdatedAfter: sec.Add(-time.Second)}), ids(0, 1, 2, 3)...)
	if last, err := s.LastMessage(ctx, conv.ID); err != nil || last.ID != msgs[3].ID || last.Pos != msgs[3].Pos {
		t.Fatalf("last message: got %+v, %v, want the last committed %s", last, err, msgs[3].ID)
	}
	unread := func(user string, after int64) []string {
		t.Helper()
		ms, err := s.UnreadFrom(ctx, conv.ID, user, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.CountUnread(ctx, conv.ID, user, after)
		if err != nil || n != len(ms) {
			t.Fatalf("count unread for %s after %d: got %d, %v, want %d", user, after, n, err, len(ms))
		}
		return messageIDs(ms)
	}
	wantIDs(t, "unread for b", unread(b, 0), ids(3, 1, 0)...)

	mark := func(user string, m store.Message) {
		t.Helper()
		mustCommit(t, s, &store.Batch{ReadMarks: []store.ReadMark{{ConversationID: conv.ID, UserID: user, Pos: m.Pos}}})
	}
	mark(b, msgs[1])
	mark(b, msgs[0]) // never moves back
	if m, err := s.ReadMark(ctx, conv.ID, b); err != nil || m != msgs[1].Pos {
		t.Fatalf("read mark: got %d, %v, want %d", m, err, msgs[1].Pos)
	}
	wantIDs(t, "unread for b after the mark", unread(b, msgs[1].Pos), ids(3)...)
	if m, err := s.OthersReadMark(ctx, conv.ID, a); err != nil || m != msgs[1].Pos {
		t.Fatalf("others' mark seen by a: got %d, %v, want %d", m, err, msgs[1].Pos)
	}
	if m, err := s.OthersReadMark(ctx, conv.ID, b); err != nil || m != 0 {
		t.Fatalf("others' mark seen by b: got %d, %v, want 0", m, err)
	}
	if m, err := s.ReadMark(ctx, conv.ID, a); err != nil || m != 0 {
		t.Fatalf("a's mark: got %d, %v, want none (0)", m, err)
	}
	mark(b, msgs[3])
	wantIDs(t, "unread for b after reading all", unread(b, msgs[3].Pos))
}

// pagingAcrossClocks: two nodes' clocks put a message's time before the
// one committed ahead of it. A client paging from the oldest message it
// holds (SAMA: updated_at.lt = its created_at), or syncing from the newest
// (updated_at.gt), still gets every message, in commit order.
func pagingAcrossClocks(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	sec := time.Now().UTC().Truncate(time.Second)
	conv := createConversation(t, s, store.TypeGroup, sec, "a", "b")
	// Commit order m0..m5; times: m2 was made 5 ms after m3 (the other
	// node's clock), m4 and m5 in one millisecond.
	ms := []int{0, 10, 25, 20, 30, 30}
	var msgs []store.Message
	for i, off := range ms {
		at := sec.Add(time.Duration(off) * time.Millisecond)
		bt := messageBatch(ids.Next(at), conv.ID, "a", fmt.Sprint(i), at)
		mustCommit(t, s, bt)
		msgs = append(msgs, bt.Messages[0])
	}
	page := func(q store.MessageQuery) []string {
		t.Helper()
		q.Limit = 2
		got, err := s.ConversationMessages(ctx, conv.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		return messageIDs(got)
	}
	id := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, msgs[i].ID)
		}
		return out
	}
	// Newest first, two at a time, each page from the oldest of the last.
	wantIDs(t, "first page", page(store.MessageQuery{}), id(5, 4)...)
	// m4 shares its millisecond with m5: the page repeats it, skips nothing.
	wantIDs(t, "from m4 (same millisecond as m5)", page(store.MessageQuery{UpdatedBefore: msgs[4].CreatedAt}), id(4, 3)...)
	wantIDs(t, "from m2 (made after m3)", page(store.MessageQuery{UpdatedBefore: msgs[2].CreatedAt}), id(1, 0)...)
	wantIDs(t, "from m3", page(store.MessageQuery{UpdatedBefore: msgs[3].CreatedAt}), id(2, 1)...)
	// Oldest first from the newest a client holds.
	wantIDs(t, "after m1", page(store.MessageQuery{UpdatedAfter: msgs[1].CreatedAt}), id(2, 3)...)
	wantIDs(t, "after m3 (m2 was made later but committed before)", page(store.MessageQuery{UpdatedAfter: msgs[3].CreatedAt}), id(4, 5)...)
	wantIDs(t, "after m4 (same millisecond as m5)", page(store.MessageQuery{UpdatedAfter: msgs[4].CreatedAt}), id(5)...)
	// A time that is no message's creation bounds updated_at.
	wantIDs(t, "before an arbitrary time", page(store.MessageQuery{UpdatedBefore: sec.Add(22 * time.Millisecond)}), id(3, 1)...)
}

// editDeleteHide: edits and deletes go through commits and take the log
// with them; hiding is per viewer.
func editDeleteHide(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	conv := createConversation(t, s, store.TypeGroup, now, "a", "b")
	other := createConversation(t, s, store.TypeGroup, now, "a")
	var msgs []store.Message
	b := &store.Batch{}
	for i := range 3 {
		m, e := message(ids.Next(now), conv.ID, "a", fmt.Sprint(i), now)
		b.Messages, b.Events = append(b.Messages, m), append(b.Events, e)
	}
	mustCommit(t, s, b)
	msgs = b.Messages
	payloadOf := func(id string) string {
		t.Helper()
		for _, e := range listEvents(t, s, store.EventQuery{UserID: "b", Limit: -1}) {
			if e.ID == id {
				return string(e.Payload)
			}
		}
		return "(none)"
	}
	edit := func(conversationID, id, body string, at time.Time) store.Event {
		t.Helper()
		ee := convEvent(ids.Next(at), conv.ID, fmt.Sprintf(`{"edit":%q}`, body), at)
		ee.RefID = id
		mustCommit(t, s, &store.Batch{
			Edits:  []store.MessageEdit{{ConversationID: conversationID, ID: id, Body: body, At: at, Payload: json.RawMessage(fmt.Sprintf(`{"body":%q}`, body))}},
			Events: []store.Event{ee},
		})
		return ee
	}

	first := edit(conv.ID, msgs[0].ID, "edited", now.Add(time.Second))
	if m, err := s.MessageByID(ctx, msgs[0].ID); err != nil || m.Body != "edited" || !m.UpdatedAt.Equal(now.Add(time.Second)) || m.Pos != msgs[0].Pos {
		t.Fatalf("edited: got %+v, %v", m, err)
	}
	if got := payloadOf(msgs[0].ID); got != `{"body":"edited"}` {
		t.Fatalf("the message's event after an edit: got %s, want the new body", got)
	}
	if got := payloadOf(first.ID); got != `{"edit":"edited"}` {
		t.Fatalf("the edit's event: got %s", got)
	}
	es := listEvents(t, s, store.EventQuery{UserID: "b", Limit: -1})
	if got := es[len(es)-1]; got.ID != first.ID || got.RefID != msgs[0].ID {
		t.Fatalf("the edit event read back: got %+v, want id %s, ref %s", got, first.ID, msgs[0].ID)
	}
	second := edit(conv.ID, msgs[0].ID, "again", now.Add(2*time.Second))
	if got := payloadOf(first.ID); got != "(none)" {
		t.Fatalf("an earlier edit event after a second edit: got %s, want it redacted", got)
	}
	if got := payloadOf(msgs[0].ID) + payloadOf(second.ID); got != `{"body":"again"}{"edit":"again"}` {
		t.Fatalf("after the second edit: got %s", got)
	}
	edit(conv.ID, "missing", "x", now) // the message may be gone: not an error
	edit(other.ID, msgs[1].ID, "through another conversation", now)
	if m, _ := s.MessageByID(ctx, msgs[1].ID); m.Body != "1" || payloadOf(msgs[1].ID) != `{"body":"1"}` {
		t.Fatalf("edit through another conversation changed the message: %+v", m)
	}

	if err := s.HideMessages(ctx, conv.ID, "b", []string{msgs[1].ID}); err != nil {
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

	del := func(conversationID string, ids ...string) {
		t.Helper()
		mustCommit(t, s, &store.Batch{Deletes: []store.MessageDelete{{ConversationID: conversationID, IDs: ids}}})
	}
	del(other.ID, msgs[2].ID)
	if count("a") != 3 || payloadOf(msgs[2].ID) == "(none)" {
		t.Fatal("delete through another conversation removed a message or its event")
	}
	before, _, _ := s.EventPos(ctx, msgs[0].ID)
	del(conv.ID, msgs[0].ID, msgs[2].ID, "missing")
	if _, err := s.MessageByID(ctx, msgs[2].ID); !errors.Is(err, store.ErrNotFound) || count("a") != 1 {
		t.Fatalf("deleted messages: got %v, %d left, want ErrNotFound and 1", err, count("a"))
	}
	for _, id := range []string{msgs[0].ID, msgs[2].ID, second.ID} {
		if got := payloadOf(id); got != "(none)" {
			t.Fatalf("event %s of a deleted message: got %s, want it redacted", id, got)
		}
	}
	if payloadOf(msgs[1].ID) != `{"body":"1"}` {
		t.Fatal("a delete redacted the event of a message it did not delete")
	}
	if pos, found, err := s.EventPos(ctx, msgs[0].ID); err != nil || !found || pos != before {
		t.Fatalf("position of a redacted event: got %d, %v, %v, want %d, found", pos, found, err, before)
	}
	edit(conv.ID, msgs[0].ID, "after the delete", now.Add(3*time.Second))
	if got := payloadOf(msgs[0].ID); got != "(none)" {
		t.Fatalf("an edit of a deleted message brought its event back: %s", got)
	}
}
