package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// clientIDs: a sender's client id is used once per conversation, so a
// retried send is stored once and found again; the failed commit stores
// nothing.
func clientIDs(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "a", "b")
	h := createConversation(t, s, store.TypeGroup, now, "a")
	send := func(conv, from, clientID string) (*store.Batch, error) {
		b := messageBatch(ids.Next(now), conv, from, "hi", now)
		b.Messages[0].ClientID = clientID
		_, err := s.Commit(ctx, []*store.Batch{b})
		return b, err
	}
	first, err := send(g.ID, "a", "c1")
	if err != nil {
		t.Fatal(err)
	}
	dup, err := send(g.ID, "a", "c1")
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the same client id again: got %v, want ErrConflict", err)
	}
	if _, err := s.MessageByID(ctx, dup.Messages[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("message of the refused send: got %v, want ErrNotFound", err)
	}
	if _, found, err := s.EventPos(ctx, dup.Events[0].ID); err != nil || found {
		t.Fatalf("event of the refused send: found %v, %v, want not logged", found, err)
	}
	wantIDs(t, "events after the refused send", eventIDs(listEvents(t, s, store.EventQuery{UserID: "b", Limit: -1})), first.Events[0].ID)
	var fromB *store.Batch
	for name, tc := range map[string]struct{ conv, from, clientID string }{
		"another sender":       {g.ID, "b", "c1"},
		"another conversation": {h.ID, "a", "c1"},
		"no client id":         {g.ID, "a", ""},
		"no client id again":   {g.ID, "a", ""},
	} {
		b, err := send(tc.conv, tc.from, tc.clientID)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tc.from == "b" {
			fromB = b
		}
	}
	for name, tc := range map[string]struct {
		conv, from, clientID string
		want                 string // message id, "" for ErrNotFound
	}{
		"first":           {g.ID, "a", "c1", first.Messages[0].ID},
		"another sender":  {g.ID, "b", "c1", fromB.Messages[0].ID},
		"unknown":         {g.ID, "a", "c2", ""},
		"empty client id": {g.ID, "a", "", ""},
	} {
		m, err := s.MessageByClientID(ctx, tc.conv, tc.from, tc.clientID)
		switch {
		case tc.want == "" && !errors.Is(err, store.ErrNotFound):
			t.Fatalf("%s: got %+v, %v, want ErrNotFound", name, m, err)
		case tc.want != "" && (err != nil || m.ID != tc.want || m.ClientID != tc.clientID || m.Pos == 0):
			t.Fatalf("%s: got %+v, %v, want message %s", name, m, err, tc.want)
		}
	}
}

// commitIsolation: a commit of several batches is one transaction: when
// one batch fails (a conversation deleted meanwhile), none is stored, and
// the batches commit alone afterwards. A failed commit either did not burn
// its number (SQLite) or says which one it burned (store.AbortedError).
func commitIsolation(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "a", "b")
	gone := createConversation(t, s, store.TypeGroup, now, "a")
	mustCommit(t, s, &store.Batch{})
	if err := s.DeleteConversation(ctx, store.DefaultOrg, gone.ID); err != nil {
		t.Fatal(err)
	}
	before, err := s.LastCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	good := messageBatch(ids.Next(now), g.ID, "a", "fine", now)
	mark := store.Pos(before, 0)
	good.ReadMarks = []store.ReadMark{{ConversationID: g.ID, UserID: "b", Pos: mark}}
	good.Touch = map[string]time.Time{g.ID: now.Add(time.Hour)}
	for name, bad := range map[string]*store.Batch{
		"message":   messageBatch(ids.Next(now), gone.ID, "a", "to a deleted conversation", now),
		"read mark": {ReadMarks: []store.ReadMark{{ConversationID: gone.ID, UserID: "a", Pos: 1}}},
	} {
		_, err := s.Commit(ctx, []*store.Batch{good, bad})
		if err == nil {
			t.Fatalf("%s: commit with a batch for a deleted conversation: got nil error", name)
		}
		var aborted *store.AbortedError
		last, lerr := s.LastCommit(ctx)
		switch {
		case lerr != nil:
			t.Fatal(lerr)
		case errors.As(err, &aborted):
			if aborted.Seq != last || last != before+1 {
				t.Fatalf("%s: aborted commit %d, last commit %d, want %d", name, aborted.Seq, last, before+1)
			}
			before = last // burned
		case last != before:
			t.Fatalf("%s: a failed commit that is not AbortedError moved the last commit from %d to %d", name, before, last)
		}
		if _, err := s.MessageByID(ctx, good.Messages[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: message of the good batch: got %v, want ErrNotFound", name, err)
		}
		wantIDs(t, name+": events", eventIDs(listEvents(t, s, store.EventQuery{UserID: "a", Limit: -1})))
		if m, err := s.ReadMark(ctx, g.ID, "b"); err != nil || m != 0 {
			t.Fatalf("%s: read mark of the good batch: got %d, %v, want none", name, m, err)
		}
		if c, err := s.Conversation(ctx, store.DefaultOrg, g.ID); err != nil || !c.UpdatedAt.Equal(now) || c.LastPos != g.LastPos {
			t.Fatalf("%s: touch of the good batch: got %+v, %v", name, c, err)
		}
	}
	done := mustCommit(t, s, good)
	if done.Seq != before+1 {
		t.Fatalf("the good batch alone: got number %d, want %d", done.Seq, before+1)
	}
	if m, err := s.ReadMark(ctx, g.ID, "b"); err != nil || m != mark {
		t.Fatalf("read mark of the good batch: got %d, %v, want %d", m, err, mark)
	}
}

// resolveCommit: a committed number resolves to its events (redacted ones
// left out) and members; a number a failed commit burned resolves void, and
// stays void.
func resolveCommit(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "a", "b")
	h := createConversation(t, s, store.TypeGroup, now, "c")
	msg := messageBatch(ids.Next(now), g.ID, "a", "deleted later", now)
	msg.Events = append(msg.Events, convEvent(ids.Next(now), h.ID, `{"h":1}`, now))
	rest := &store.Batch{Events: []store.Event{userEvent(ids.Next(now), "x", `{"x":1}`, now), convEvent(ids.Next(now), g.ID, `{"g":1}`, now)}}
	c1 := mustCommit(t, s, msg, rest)
	mustCommit(t, s, &store.Batch{Deletes: []store.MessageDelete{{ConversationID: g.ID, IDs: []string{msg.Messages[0].ID}}}})

	for i := range 2 {
		r, err := s.ResolveCommit(ctx, c1.Seq)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Event{msg.Events[1], rest.Events[0], rest.Events[1]}
		if r.Seq != c1.Seq || r.Void || len(r.Events) != len(want) {
			t.Fatalf("resolve %d: got %+v, want commit %d with %d events", i, r, c1.Seq, len(want))
		}
		for j, e := range r.Events {
			if e.ID != want[j].ID || e.Pos != want[j].Pos || string(e.Payload) != string(want[j].Payload) ||
				e.ConversationID != want[j].ConversationID || e.UserID != want[j].UserID || !e.CreatedAt.Equal(now) {
				t.Fatalf("resolve %d, event %d: got %+v, want %+v", i, j, e, want[j])
			}
		}
		wantMembers := fmt.Sprint(map[string][]store.Member{
			g.ID: {{UserID: "a", JoinedPos: g.LastPos}, {UserID: "b", JoinedPos: g.LastPos}},
			h.ID: {{UserID: "c", JoinedPos: h.LastPos}},
		})
		if got := fmt.Sprint(r.Members); got != wantMembers {
			t.Fatalf("resolve %d: got members %s, want %s", i, got, wantMembers)
		}
	}

	// A failed commit: where it burns its number, the number is void.
	if err := s.DeleteConversation(ctx, store.DefaultOrg, h.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Commit(ctx, []*store.Batch{messageBatch(ids.Next(now), h.ID, "c", "too late", now)})
	var aborted *store.AbortedError
	switch {
	case err == nil:
		t.Fatal("commit to a deleted conversation: got nil error")
	case errors.As(err, &aborted):
		for i := range 2 {
			r, err := s.ResolveCommit(ctx, aborted.Seq)
			if err != nil || !r.Void || r.Seq != aborted.Seq || len(r.Events) != 0 {
				t.Fatalf("resolve a burned number, %d: got %+v, %v, want void", i, r, err)
			}
		}
	default:
		t.Logf("a failed commit burns no number here: %v", err)
	}
	next := mustCommit(t, s, &store.Batch{Events: []store.Event{userEvent(ids.Next(now), "x", `{}`, now)}})
	if r, err := s.ResolveCommit(ctx, next.Seq); err != nil || r.Void || len(r.Events) != 1 {
		t.Fatalf("resolve the commit after a failure: got %+v, %v", r, err)
	}
}

// nodeNumbers: every call hands out a number no call had.
func nodeNumbers(t *testing.T, s store.Store) {
	seen := map[uint32]bool{}
	for range 20 {
		n, err := s.NodeNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seen[n] || n >= 1<<24 {
			t.Fatalf("node number %d: handed out twice or past 24 bits", n)
		}
		seen[n] = true
	}
}
