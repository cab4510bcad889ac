package chat_test

import (
	"slices"
	"testing"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/store"
)

// TestMessagePathCalls: once a conversation is in the membership cache, a
// message costs the store one call, its commit (issue 11: it was three
// reads, and for a private chat a write, beside the commit); the first
// message reads the conversation and its members. Read marks and system
// messages check membership from the cache too.
func TestMessagePathCalls(t *testing.T) {
	svc, cs, as := countedService(t, chat.Config{}, "ann", "bob", "cat")
	ann, bob, cat := as["ann"], as["bob"], as["cat"]
	g := group(t, svc, ann, bob, cat)
	u, err := svc.CreateConversation(ctx, ann, chat.NewConversation{Type: "u", Participants: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cid := range []string{g, u.ID} {
		cold := cs.during(func() { send(t, svc, ann, cid, "cold", "x") })
		warm := cs.during(func() { send(t, svc, ann, cid, "warm", "x") })
		other := cs.during(func() { send(t, svc, bob, cid, "other", "x") })
		if !slices.Equal(cold, []string{"Conversation", "Participants", "Commit"}) {
			t.Fatalf("%s: first message: calls %v, want the conversation and its members read, then the commit", cid, cold)
		}
		if !slices.Equal(warm, []string{"Commit"}) || !slices.Equal(other, []string{"Commit"}) {
			t.Fatalf("%s: cached: calls %v and %v, want the commit alone", cid, warm, other)
		}
	}
	read := cs.during(func() {
		if err := svc.MarkRead(ctx, bob, g); err != nil {
			t.Fatal(err)
		}
	})
	if slices.Contains(read, "Conversation") || slices.Contains(read, "Participant") || slices.Contains(read, "Participants") {
		t.Fatalf("read mark: calls %v, want membership from the cache", read)
	}
	t.Logf("message: cold %d calls, cached 1 (the commit); read mark: %v", 3, read)
}

// TestPrivateChatRestore: a message into a private chat the other party
// left brings them back inside the message's own commit (no write beside
// it): they are a member from that commit's first position and receive
// the message. With both members there, nothing is written for them.
func TestPrivateChatRestore(t *testing.T) {
	rec := &sinkRecorder{}
	svc, cs, as := countedService(t, chat.Config{Sink: rec.sink}, "ann", "bob")
	ann, bob := as["ann"], as["bob"]
	u, err := svc.CreateConversation(ctx, ann, chat.NewConversation{Type: "u", Participants: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	send(t, svc, ann, u.ID, "1", "before")
	if err := svc.LeaveConversation(ctx, bob, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.st.Participant(ctx, u.ID, bob.UserID); err == nil {
		t.Fatal("bob is still a member after leaving")
	}
	var ask *chat.Ask
	calls := cs.during(func() { ask = send(t, svc, ann, u.ID, "2", "come back") })
	for _, c := range calls {
		if slices.Contains(writesOutsideCommit, c) {
			t.Fatalf("calls %v: a write beside the commit", calls)
		}
	}
	m, err := cs.st.MessageByID(ctx, ask.ServerMID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cs.st.Participant(ctx, u.ID, bob.UserID)
	if err != nil || p.JoinedPos != store.Pos(store.SeqOf(m.Pos), 0) {
		t.Fatalf("bob after the message: got %+v, %v, want a member from the message's commit (%d)", p, err, store.Pos(store.SeqOf(m.Pos), 0))
	}
	var to []string
	for _, c := range rec.all() {
		for _, d := range c.Deliveries {
			if d.EventID == ask.ServerMID {
				to = d.UserIDs
			}
		}
	}
	if !slices.Contains(to, bob.UserID) {
		t.Fatalf("the message went to %v, want bob too", to)
	}
	if ask := send(t, svc, bob, u.ID, "3", "back"); ask == nil {
		t.Fatal("bob cannot answer")
	}
}
