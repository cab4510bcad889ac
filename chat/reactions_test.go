package chat_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// TestReactionIsOneCommit: a reaction is written by one commit of the
// group committer with its event and nothing beside it, and that commit
// delivers the event to every member, sparing the reacting socket.
func TestReactionIsOneCommit(t *testing.T) {
	rec := &sinkRecorder{}
	svc, cs, as := countedService(t, chat.Config{Sink: rec.sink}, "ann", "bob", "cat")
	ann, bob, cat := as["ann"], as["bob"], as["cat"]
	cid := group(t, svc, ann, bob, cat)
	mid := send(t, svc, ann, cid, "m", "hi").ServerMID
	add := "👍"
	var err error
	calls := cs.during(func() { err = svc.UpdateReactions(ctx, bob, chat.ReactionsUpdate{MID: mid, Add: &add}) })
	if err != nil {
		t.Fatal(err)
	}
	commits := 0
	for _, c := range calls {
		if c == "Commit" {
			commits++
		}
		if slices.Contains(writesOutsideCommit, c) {
			t.Fatalf("reaction wrote %s beside its commit (calls %v)", c, calls)
		}
	}
	if commits != 1 {
		t.Fatalf("reaction: %d commits (calls %v), want 1", commits, calls)
	}
	last := rec.all()[len(rec.all())-1]
	if len(last.Deliveries) != 1 {
		t.Fatalf("reaction commit: %d deliveries, want 1", len(last.Deliveries))
	}
	d := last.Deliveries[0]
	users := slices.Sorted(slices.Values(d.UserIDs))
	want := slices.Sorted(slices.Values([]string{ann.UserID, bob.UserID, cat.UserID}))
	if !slices.Equal(users, want) || d.Except != bob.Conn || d.EventID == "" {
		t.Fatalf("reaction delivery to %v except %q (eid %q), want every member except bob's socket", users, d.Except, d.EventID)
	}
	// The same again changes nothing: no commit at all.
	calls = cs.during(func() { err = svc.UpdateReactions(ctx, bob, chat.ReactionsUpdate{MID: mid, Add: &add}) })
	if err != nil || slices.Contains(calls, "Commit") {
		t.Fatalf("repeated reaction: err %v, calls %v, want success without a commit", err, calls)
	}
}

// TestBlockedPrivateMessage: a message into a private chat whose pair has a
// block is refused by its commit (422), with the membership cache warm: no
// store call beside the commit on the message path.
func TestBlockedPrivateMessage(t *testing.T) {
	svc, cs, as := countedService(t, chat.Config{}, "ann", "bob")
	ann, bob := as["ann"], as["bob"]
	u, err := svc.CreateConversation(ctx, ann, chat.NewConversation{Type: "u", Participants: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	send(t, svc, bob, u.ID, "warm", "x")
	if err := svc.BlockUsers(ctx, ann, []string{bob.UserID}); err != nil {
		t.Fatal(err)
	}
	body := "blocked"
	calls := cs.during(func() {
		_, err = svc.SendMessage(ctx, bob, chat.NewMessage{ClientID: "b", CID: u.ID, Body: &body})
	})
	if !errors.Is(err, protocol.ErrUserBlocked) {
		t.Fatalf("message of a blocked pair: got %v, want the block error", err)
	}
	if !slices.Equal(calls, []string{"Commit"}) {
		t.Fatalf("calls %v, want the commit alone", calls)
	}
	if _, err := svc.CreateConversation(ctx, bob, chat.NewConversation{Type: "u", Participants: []string{ann.UserID}}); !errors.Is(err, protocol.ErrUserBlocked) {
		t.Fatalf("re-creating the chat: got %v, want the block error", err)
	}
}

// TestReactionLength: reactions are measured in UTF-16 units as SAMA's
// Joi measures them: five 👍 (10 units) pass, a family emoji of 11 units
// and invalid UTF-8 do not.
func TestReactionLength(t *testing.T) {
	svc, _, as := countedService(t, chat.Config{}, "ann", "bob")
	ann, bob := as["ann"], as["bob"]
	cid := group(t, svc, ann, bob)
	mid := send(t, svc, ann, cid, "m", "hi").ServerMID
	for _, tc := range []struct {
		add string
		ok  bool
	}{
		{"👍👍👍👍👍", true},
		{"👨‍👩‍👧‍👦", false}, // 11 UTF-16 units
		{"abcdefghij", true},
		{"abcdefghijk", false},
		{"\xff", false},
	} {
		err := svc.UpdateReactions(ctx, ann, chat.ReactionsUpdate{MID: mid, Add: &tc.add})
		if (err == nil) != tc.ok {
			t.Fatalf("add %q: got %v, want ok=%v", tc.add, err, tc.ok)
		}
	}
}
