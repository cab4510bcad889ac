package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// legacyID is a message or event id of LegacyData.
func legacyID(suffix string) string { return "6a00000000000000000000" + suffix }

// LegacyData fills a database at schema 0010 (before commit positions) in
// either dialect: history and read marks ordered by message id, and an
// event log ordered by its own pos, which the database assigns in insert
// order. The messages' times are out of id order, as ids from several
// nodes can be; ids, not times, were their order.
var LegacyData = []string{
	`INSERT INTO conversations (id, org_id, type, created_at, updated_at) VALUES
		('conv-1', 'default', 'g', 1000, 1000), ('conv-2', 'default', 'g', 1000, 1000), ('conv-3', 'default', 'g', 1000, 1000)`,
	`INSERT INTO participants (conversation_id, user_id, role, joined_at) VALUES
		('conv-1', 'u1', 'owner', 1000), ('conv-1', 'u2', '', 1000), ('conv-2', 'u1', 'owner', 1000), ('conv-3', 'u1', 'owner', 1000)`,
	`INSERT INTO messages (id, conversation_id, from_id, body, t, created_at, updated_at) VALUES
		('` + legacyID("10") + `', 'conv-1', 'u1', 'first', 5, 5000, 5000),
		('` + legacyID("20") + `', 'conv-2', 'u2', 'other chat', 1, 1000, 1000),
		('` + legacyID("30") + `', 'conv-1', 'u2', 'second', 2, 2000, 2000),
		('` + legacyID("40") + `', 'conv-1', 'u1', 'third', 1, 1500, 1500),
		('` + legacyID("50") + `', 'conv-1', 'u1', 'fourth', 3, 3000, 3000)`,
	`INSERT INTO read_marks (conversation_id, user_id, last_read_id) VALUES
		('conv-1', 'u2', '` + legacyID("40") + `'), ('conv-1', 'u1', '` + legacyID("35") + `'), ('conv-2', 'u1', '` + legacyID("05") + `')`,
	`INSERT INTO events (id, conversation_id, user_id, payload, created_at) VALUES ('` + legacyID("e3") + `', NULL, 'u1', '{"n":1}', 1000)`,
	`INSERT INTO events (id, conversation_id, user_id, payload, created_at) VALUES ('` + legacyID("e1") + `', 'conv-1', NULL, '{"n":2}', 1000)`,
	`INSERT INTO events (id, conversation_id, user_id, payload, created_at) VALUES ('` + legacyID("e2") + `', NULL, 'u1', '{"n":3}', 1000)`,
	`INSERT INTO events (id, conversation_id, user_id, payload, created_at) VALUES ('` + legacyID("e0") + `', NULL, 'u2', '{"n":4}', 1000)`,
}

// CheckLegacy checks a store opened (and so migrated) on LegacyData: every
// order survives as positions, and new commits come after the old data.
func CheckLegacy(t *testing.T, s store.Store) {
	t.Helper()
	m := func(suffix string) string { return legacyID(suffix) }
	history := func(conv string) []string {
		t.Helper()
		ms, err := s.ConversationMessages(ctx, conv, store.MessageQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return messageIDs(ms)
	}
	wantIDs(t, "history", history("conv-1"), m("50"), m("40"), m("30"), m("10"))
	for i, id := range []string{m("10"), m("20"), m("30"), m("40"), m("50")} {
		if got, err := s.MessageByID(ctx, id); err != nil || got.Pos != store.Pos(int64(i+1), 0) {
			t.Fatalf("message %s: got %+v, %v, want position %d (id order)", id, got, err, store.Pos(int64(i+1), 0))
		}
	}
	for _, tc := range []struct {
		conv, user string
		want       int64
	}{
		{"conv-1", "u2", store.Pos(4, 0)}, // the message read
		{"conv-1", "u1", store.Pos(3, 0)}, // not a message: the one before it
		{"conv-2", "u1", 0},               // before every message
		{"conv-2", "u2", 0},               // none
	} {
		if got, err := s.ReadMark(ctx, tc.conv, tc.user); err != nil || got != tc.want {
			t.Fatalf("read mark of %s in %s: got %d, %v, want %d", tc.user, tc.conv, got, err, tc.want)
		}
	}
	if n, err := s.CountUnread(ctx, "conv-1", "u2", store.Pos(4, 0)); err != nil || n != 1 {
		t.Fatalf("unread for u2: got %d, %v, want 1", n, err)
	}
	q := func(user string) []string {
		return eventIDs(listEvents(t, s, store.EventQuery{UserID: user, Limit: -1}))
	}
	wantIDs(t, "events of u1", q("u1"), m("e3"), m("e1"), m("e2"))
	wantIDs(t, "events of u2", q("u2"), m("e1"), m("e0"))
	if pos, found, err := s.EventPos(ctx, m("e1")); err != nil || !found || pos != store.Pos(2, 0) {
		t.Fatalf("position of a legacy event: got %d, %v, %v, want %d", pos, found, err, store.Pos(2, 0))
	}
	if last, err := s.LastCommit(ctx); err != nil || last != 5 {
		t.Fatalf("last commit: got %d, %v, want 5 (five messages, four events)", last, err)
	}
	if r, err := s.ResolveCommit(ctx, 2); err != nil || r.Void || len(r.Events) != 1 || r.Events[0].ID != m("e1") ||
		fmt.Sprint(r.Members) != "map[conv-1:[{u1 0} {u2 0}]]" {
		t.Fatalf("legacy commit 2: got %+v, %v", r, err)
	}
	if r, err := s.ResolveCommit(ctx, 5); err != nil || r.Void || len(r.Events) != 0 {
		t.Fatalf("legacy commit 5 (a message's): got %+v, %v, want committed", r, err)
	}
	for conv, want := range map[string]int64{"conv-1": store.Pos(5, 0), "conv-2": store.Pos(2, 0), "conv-3": 0} {
		if c, err := s.Conversation(ctx, store.DefaultOrg, conv); err != nil || c.LastPos != want {
			t.Fatalf("conversation %s: got %+v, %v, want last_pos %d", conv, c, err, want)
		}
	}
	cs, err := s.UserConversations(ctx, store.DefaultOrg, "u1", store.ConversationQuery{Limit: 10})
	if err != nil || len(cs) != 3 || cs[0].ID != "conv-1" || cs[1].ID != "conv-2" {
		t.Fatalf("u1's conversations: got %+v, %v, want conv-1, conv-2, conv-3", cs, err)
	}
	if p, err := s.Participant(ctx, "conv-1", "u2"); err != nil || p.JoinedPos != 0 {
		t.Fatalf("legacy participant: got %+v, %v, want joined at 0", p, err)
	}

	// New commits follow the legacy ones, whatever their ids.
	now := time.Now().UTC().Truncate(time.Millisecond)
	b := messageBatch(m("01"), "conv-1", "u2", "new", now)
	if c := mustCommit(t, s, b); c.Seq != 6 || b.Messages[0].Pos != store.Pos(6, 0) {
		t.Fatalf("first new commit: got %d (position %d), want 6", c.Seq, b.Messages[0].Pos)
	}
	wantIDs(t, "history after a new message", history("conv-1"), m("01"), m("50"), m("40"), m("30"), m("10"))
	wantIDs(t, "events of u1 after a new message", q("u1"), m("e3"), m("e1"), m("e2"), m("01"))
	if last, err := s.LastMessage(ctx, "conv-1"); err != nil || last.ID != m("01") {
		t.Fatalf("last message: got %+v, %v", last, err)
	}
	ps := members(now, "u3")
	if err := s.AddParticipants(ctx, "conv-1", ps); err != nil || ps[0].JoinedPos != store.Pos(7, 0) {
		t.Fatalf("new member: got joined at %d, %v, want %d", ps[0].JoinedPos, err, store.Pos(7, 0))
	}
	if _, err := s.MessageByClientID(ctx, "conv-1", "u1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("legacy messages have no client id: got %v", err)
	}
}
