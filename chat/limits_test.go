package chat_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

// countedService is a service over a SQLite store whose calls are counted,
// with users of the given logins.
func countedService(t *testing.T, cfg chat.Config, users ...string) (*chat.Service, *countingStore, map[string]chat.Actor) {
	t.Helper()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cs := newCountingStore(db)
	svc, err := chat.New(ctx, cs, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	actors := map[string]chat.Actor{}
	for _, login := range users {
		u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: login, PasswordHash: "h", CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		actors[login] = chat.Actor{UserID: u.ID, OrgID: store.DefaultOrg, Conn: "sock-" + login}
	}
	return svc, cs, actors
}

// ids makes n distinct ids.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = store.NewID()
	}
	return out
}

// TestListBounds: every list argument of the chat methods is refused one
// past its bound with SAMA's 422 naming the field, before any work is
// done, and accepted at the bound.
func TestListBounds(t *testing.T) {
	const maxIDs, maxMembers = 100, 50
	svc, cs, as := countedService(t, chat.Config{}, "ann", "bob")
	ann := as["ann"]
	cid := group(t, svc, ann, as["bob"])
	cases := []struct {
		field string
		limit int
		call  func(n int) error
		want  string // the message one past the limit
	}{
		{"cids", maxIDs, func(n int) error { _, err := svc.ParticipantsOf(ctx, ann, ids(n)); return err }, "'cids' max length 100"},
		{"ids", 10, func(n int) error {
			_, err := svc.ListConversations(ctx, ann, chat.ConversationQuery{IDs: ids(n)})
			return err
		}, "'ids' max length 10"},
		{"ids", maxIDs, func(n int) error {
			_, err := svc.ListMessages(ctx, ann, chat.MessageQuery{CID: cid, IDs: ids(n)})
			return err
		}, "'ids' max length 100"},
		{"ids", maxIDs, func(n int) error { return svc.DeleteMessages(ctx, ann, cid, ids(n), "all") }, "'ids' max length 100"},
		{"uids", 20, func(n int) error {
			_, err := svc.SystemMessage(ctx, ann, chat.NewSystemMessage{ClientID: "s", UIDs: ids(n), X: json.RawMessage(`{}`)})
			return err
		}, "'uids' max length 20"},
		{"participants", maxMembers, func(n int) error {
			_, err := svc.CreateConversation(ctx, ann, chat.NewConversation{Type: "g", Name: "big", Participants: ids(n)})
			return err
		}, "There are too many users in the group conversation."},
	}
	for _, l := range []struct {
		field string
		set   func(*chat.ConversationUpdate, []string)
	}{
		{"participants.add", func(u *chat.ConversationUpdate, v []string) { u.AddParticipants = v }},
		{"participants.remove", func(u *chat.ConversationUpdate, v []string) { u.RemoveParticipants = v }},
		{"admins.add", func(u *chat.ConversationUpdate, v []string) { u.AddAdmins = v }},
		{"admins.remove", func(u *chat.ConversationUpdate, v []string) { u.RemoveAdmins = v }},
	} {
		cases = append(cases, struct {
			field string
			limit int
			call  func(n int) error
			want  string
		}{l.field, maxMembers, func(n int) error {
			in := chat.ConversationUpdate{ID: cid}
			l.set(&in, ids(n))
			_, err := svc.UpdateConversation(ctx, ann, in)
			return err
		}, fmt.Sprintf("'%s' max length 50", l.field)})
	}
	for _, tc := range cases {
		var err error
		calls := cs.during(func() { err = tc.call(tc.limit + 1) })
		var we *protocol.Error
		if !errors.As(err, &we) || we.Status != 422 || we.Message != tc.want || len(we.Errors) != 1 {
			t.Fatalf("%s, %d items: got %v, want 422 %q", tc.field, tc.limit+1, err, tc.want)
		}
		if we.Errors[tc.field] == nil {
			t.Fatalf("%s: errors %v do not name the field", tc.field, we.Errors)
		}
		if len(calls) != 0 {
			t.Fatalf("%s, %d items: refused after %d store calls %v, want none", tc.field, tc.limit+1, len(calls), calls)
		}
		if err := tc.call(tc.limit); errors.As(err, &we) && we.Message == tc.want {
			t.Fatalf("%s, %d items (the bound): got %v", tc.field, tc.limit, err)
		}
	}
	t.Logf("list bounds: %d list arguments refused one past their bound with 422, with no store call", len(cases))
}

// TestConversationListQueries: a conversation_list page costs the same
// store calls whatever its size (the last message, the caller's read mark,
// the unread count and the others' read marks of every conversation come
// in one call, the reactions of every last message in one more), and so
// does get_participants_by_cids whatever the number of cids; the figures are exact, so a per-conversation query fails it.
func TestConversationListQueries(t *testing.T) {
	svc, cs, as := countedService(t, chat.Config{}, "ann", "bob", "cat")
	ann, bob := as["ann"], as["bob"]
	var cids []string
	for i := range 100 {
		cid := group(t, svc, ann, bob, as["cat"])
		cids = append(cids, cid)
		send(t, svc, bob, cid, "b", fmt.Sprint("from bob ", i))
		if i%2 == 0 {
			send(t, svc, ann, cid, "a", fmt.Sprint("from ann ", i))
			if err := svc.MarkRead(ctx, bob, cid); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 {
			if err := svc.MarkRead(ctx, ann, cid); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func(limit int) ([]chat.Conversation, []string) {
		var got []chat.Conversation
		calls := cs.during(func() {
			var err error
			if got, err = svc.ListConversations(ctx, ann, chat.ConversationQuery{Limit: limit}); err != nil {
				t.Fatal(err)
			}
		})
		if len(got) != limit {
			t.Fatalf("limit %d: got %d conversations", limit, len(got))
		}
		return got, calls
	}
	five, fewCalls := list(5)
	hundred, manyCalls := list(100)
	if len(fewCalls) != len(manyCalls) || len(manyCalls) > 3 {
		t.Fatalf("conversation_list: %d store calls %v for 5 conversations, %d for 100, want the same fixed number (3)", len(fewCalls), fewCalls, len(manyCalls))
	}
	for _, c := range append(five, hundred...) {
		i := indexOf(cids, c.ID)
		want, unread, status := fmt.Sprint("from bob ", i), 1, ""
		if i%2 == 0 {
			want, status = fmt.Sprint("from ann ", i), "read"
		}
		if i%3 == 0 {
			unread = 0
		}
		if c.LastMessage == nil || c.LastMessage.Body != want || c.Unread != unread || c.LastMessage.Status != status {
			t.Fatalf("conversation %d: got last %+v, unread %d, want %q, %d unread, status %q", i, c.LastMessage, c.Unread, want, unread, status)
		}
	}

	var few, many map[string][]string
	oneCalls := cs.during(func() { few, _ = svc.ParticipantsOf(ctx, ann, cids[:1]) })
	allCalls := cs.during(func() { many, _ = svc.ParticipantsOf(ctx, ann, cids) })
	if len(few) != 1 || len(many) != 100 || len(many[cids[99]]) != 3 {
		t.Fatalf("participants: got %d and %d conversations, want 1 and 100 of 3 members", len(few), len(many))
	}
	if len(oneCalls) != len(allCalls) || len(allCalls) > 1 {
		t.Fatalf("get_participants_by_cids: %d store calls for 1 cid, %d for 100, want 1 each", len(oneCalls), len(allCalls))
	}
	t.Logf("conversation_list: %d store calls (%s) for 5 conversations, %d for 100; get_participants_by_cids: %d for 1 cid, %d for 100",
		len(fewCalls), strings.Join(fewCalls, ", "), len(manyCalls), len(oneCalls), len(allCalls))
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
