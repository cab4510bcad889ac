package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// newIDs returns an id generator numbered by the store, as a node gets one.
func newIDs(t *testing.T, s store.Store) *store.IDGen {
	t.Helper()
	n, err := s.NodeNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return store.NewIDGen(n)
}

// handID is an id made by hand: second sec+dsec, counter n. Tests choose id
// order with it, independent of commit order.
func handID(sec time.Time, dsec int, n uint64) string {
	return fmt.Sprintf("%08x%016x", uint32(sec.Unix())+uint32(dsec), n)
}

// mustCommit commits batches as one commit.
func mustCommit(t *testing.T, s store.Store, batches ...*store.Batch) *store.Committed {
	t.Helper()
	c, err := s.Commit(ctx, batches)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if c == nil || c.Seq <= 0 {
		t.Fatalf("commit: got %+v, want a positive number", c)
	}
	return c
}

// message returns a message and its logged event, which share the id.
func message(id, conv, from, body string, at time.Time) (store.Message, store.Event) {
	m := store.Message{ID: id, ConversationID: conv, From: from, Body: body, T: at.Unix(), CreatedAt: at, UpdatedAt: at}
	e := store.Event{ID: id, ConversationID: conv, Payload: json.RawMessage(fmt.Sprintf(`{"body":%q}`, body)), CreatedAt: at}
	return m, e
}

// messageBatch is a batch of one message with its event.
func messageBatch(id, conv, from, body string, at time.Time) *store.Batch {
	m, e := message(id, conv, from, body, at)
	return &store.Batch{Messages: []store.Message{m}, Events: []store.Event{e}}
}

// convEvent is an event to every member of conv.
func convEvent(id, conv, payload string, at time.Time) store.Event {
	return store.Event{ID: id, ConversationID: conv, Payload: json.RawMessage(payload), CreatedAt: at}
}

// userEvent is an event to one user.
func userEvent(id, user, payload string, at time.Time) store.Event {
	return store.Event{ID: id, UserID: user, Payload: json.RawMessage(payload), CreatedAt: at}
}

// listEvents reads the events q selects, which must never be nil.
func listEvents(t *testing.T, s store.Store, q store.EventQuery) []store.Event {
	t.Helper()
	es, err := s.Events(ctx, q)
	if err != nil {
		t.Fatalf("events %+v: %v", q, err)
	}
	if es == nil {
		t.Fatalf("events %+v: got nil, want a non-nil slice", q)
	}
	for i := 1; i < len(es); i++ {
		if es[i].Pos <= es[i-1].Pos {
			t.Fatalf("events %+v: position %d after %d, want ascending", q, es[i].Pos, es[i-1].Pos)
		}
	}
	return es
}

// eventIDs lists the ids of es, never nil.
func eventIDs(es []store.Event) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// wantIDs fails t unless got is want, in order.
func wantIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// messageIDs lists the ids of ms, never nil.
func messageIDs(ms []store.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// createConversation stores a conversation of members (the first owns it).
func createConversation(t *testing.T, s store.Store, typ string, at time.Time, who ...string) *store.Conversation {
	t.Helper()
	c := newConversation(typ, who[0], at)
	if err := s.CreateConversation(ctx, c, members(at, who...)); err != nil {
		t.Fatal(err)
	}
	return c
}
