package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// memberIDs lists the user ids of a commit's members of conv.
func memberIDs(c *store.Committed, conv string) []string {
	var out []string
	for _, m := range c.Members[conv] {
		out = append(out, m.UserID)
	}
	return out
}

// commitMembersFresh: the members a commit reports are the conversation's
// members at that commit, whatever changed them in between — a commit, a
// store call outside any commit, a rolled back commit (which changes
// nothing), the conversation deleted and made again under its id — and a
// caller changing the lists it got changes nothing for the next commit. A
// store that keeps member lists between commits must be invalidated by all
// of these.
func commitMembersFresh(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "a", "b", "c")
	expect := func(step string, want ...string) *store.Committed {
		t.Helper()
		c := mustCommit(t, s, memberBatch(ids.Next(now), g.ID, "a", now))
		if got := memberIDs(c, g.ID); !slices.Equal(got, want) {
			t.Fatalf("%s: members %v, want %v", step, got, want)
		}
		return c
	}
	c := expect("first commit", "a", "b", "c")
	expect("second commit", "a", "b", "c")

	// A caller appending to or overwriting what it got.
	c.Members[g.ID] = append(c.Members[g.ID], store.Member{UserID: "z"})
	c.Members[g.ID][1].UserID = "y"
	expect("after the caller changed its copy", "a", "b", "c")

	if err := s.AddParticipants(ctx, g.ID, members(now, "d")[:1]); err != nil {
		t.Fatal(err)
	}
	expect("after AddParticipants", "a", "b", "c", "d")
	if _, err := s.RemoveParticipant(ctx, g.ID, "c"); err != nil {
		t.Fatal(err)
	}
	expect("after RemoveParticipant", "a", "b", "d")

	// A commit that restores c and then fails rolls the restore back.
	bad := memberBatch(ids.Next(now), g.ID, "x", now)
	restore := memberBatch(ids.Next(now), g.ID, "a", now, "c")
	if _, err := s.Commit(ctx, []*store.Batch{restore, bad}); !errors.Is(err, store.ErrNotMember) {
		t.Fatalf("a non-member's message: got %v, want ErrNotMember", err)
	}
	expect("after a rolled back restore", "a", "b", "d")

	// Removed and added again: the same ids, a later joined position.
	before := joinedAt(t, s, g.ID, "b")
	if _, err := s.RemoveParticipant(ctx, g.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddParticipants(ctx, g.ID, members(now, "b")[:1]); err != nil {
		t.Fatal(err)
	}
	c = expect("after b left and came back", "a", "b", "d")
	if got := c.Members[g.ID][1].JoinedPos; got == before || got != joinedAt(t, s, g.ID, "b") {
		t.Fatalf("b's joined position: commit says %d, store %d, before leaving %d", got, joinedAt(t, s, g.ID, "b"), before)
	}

	// The conversation deleted and made again under its id with others.
	if err := s.DeleteConversation(ctx, g.OrgID, g.ID); err != nil {
		t.Fatal(err)
	}
	again := newConversation(store.TypeGroup, "a", now)
	again.ID = g.ID
	if err := s.CreateConversation(ctx, again, members(now, "a", "e")); err != nil {
		t.Fatal(err)
	}
	expect("after the conversation was made again", "a", "e")
}
