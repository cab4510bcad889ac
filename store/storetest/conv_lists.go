package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// convStates: ConversationStates answers for many conversations at once
// exactly what the one-conversation reads (LastMessage, ReadMark,
// OthersReadMark, CountUnread) answer for each, for every member.
func convStates(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	busy := createConversation(t, s, store.TypeGroup, now, "a", "b", "c")
	quiet := createConversation(t, s, store.TypeGroup, now, "a", "b")
	mine := createConversation(t, s, store.TypePrivate, now, "a", "c")
	var sent []*store.Batch
	for i, from := range []string{"a", "b", "c", "b", "a", "b"} {
		b := messageBatch(ids.Next(now), busy.ID, from, fmt.Sprint("m", i), now)
		sent = append(sent, b)
		mustCommit(t, s, b)
	}
	mustCommit(t, s, messageBatch(ids.Next(now), mine.ID, "a", "only a writes", now))
	mustCommit(t, s, &store.Batch{ReadMarks: []store.ReadMark{
		{ConversationID: busy.ID, UserID: "a", Pos: sent[2].Messages[0].Pos},
		{ConversationID: busy.ID, UserID: "c", Pos: sent[4].Messages[0].Pos},
	}})
	// The newest message of the busy chat is not the one with the largest id.
	late := messageBatch(handID(now, -100, 1), busy.ID, "c", "newest, smallest id", now)
	mustCommit(t, s, late)

	list := []string{busy.ID, quiet.ID, mine.ID, "no-such-conversation"}
	for _, user := range []string{"a", "b", "c"} {
		got, err := s.ConversationStates(ctx, user, list)
		if err != nil {
			t.Fatal(err)
		}
		for _, cid := range list {
			want := oneByOne(t, s, user, cid)
			if g, w := describeState(got[cid]), describeState(want); g != w {
				t.Fatalf("%s's state of %s: got %s, want %s (read one by one)", user, cid, g, w)
			}
		}
		if got[busy.ID].LastMessage == nil || got[busy.ID].LastMessage.ID != late.Messages[0].ID {
			t.Fatalf("%s: last message of the busy chat: got %+v, want the newest by position", user, got[busy.ID].LastMessage)
		}
	}
	if got, err := s.ConversationStates(ctx, "a", nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no conversations: got %v, %v, want an empty map", got, err)
	}
}

// oneByOne reads a user's state of a conversation with the one-conversation
// methods.
func oneByOne(t *testing.T, s store.Store, user, cid string) store.ConversationState {
	t.Helper()
	var st store.ConversationState
	var err error
	if m, err := s.LastMessage(ctx, cid); err == nil {
		st.LastMessage = m
	}
	if st.ReadMark, err = s.ReadMark(ctx, cid, user); err != nil {
		t.Fatal(err)
	}
	if st.OthersReadMark, err = s.OthersReadMark(ctx, cid, user); err != nil {
		t.Fatal(err)
	}
	if st.Unread, err = s.CountUnread(ctx, cid, user, st.ReadMark); err != nil {
		t.Fatal(err)
	}
	return st
}

func describeState(st store.ConversationState) string {
	last := "none"
	if m := st.LastMessage; m != nil {
		last = fmt.Sprintf("%s(%q from %s at %d, %s)", m.ID, m.Body, m.From, m.Pos, m.CreatedAt.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("{last %s, mark %d, others %d, unread %d}", last, st.ReadMark, st.OthersReadMark, st.Unread)
}

// convMembers: ConversationMembers maps only the asked conversations of
// the organization that the user is in, each to its members, user id
// descending.
func convMembers(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "u2", "u1", "u3")
	u := createConversation(t, s, store.TypePrivate, now, "u1", "u4")
	notMine := createConversation(t, s, store.TypeGroup, now, "u2", "u3")
	unasked := createConversation(t, s, store.TypeGroup, now, "u1", "u2")
	if err := s.CreateOrganization(ctx, &store.Organization{ID: "members-other", Name: "Other", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	foreign := newConversation(store.TypeGroup, "u1", now)
	foreign.OrgID = "members-other"
	if err := s.CreateConversation(ctx, foreign, members(now, "u1", "u5")); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConversationMembers(ctx, store.DefaultOrg, "u1", []string{g.ID, u.ID, notMine.ID, foreign.ID, "no-such-conversation", g.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(map[string][]string{g.ID: {"u3", "u2", "u1"}, u.ID: {"u4", "u1"}})
	if fmt.Sprint(got) != want {
		t.Fatalf("members: got %v, want %s (not %s: not u1's, %s: another organization's, %s: not asked)",
			got, want, notMine.ID, foreign.ID, unasked.ID)
	}
	if got, err := s.ConversationMembers(ctx, store.DefaultOrg, "u1", nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no ids: got %v, %v, want an empty map", got, err)
	}
}
