package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// memberBatch is a message of from into conv that requires from to be a
// member and restores the others of restore, as chat sends into a private
// chat.
func memberBatch(id, conv, from string, at time.Time, restore ...string) *store.Batch {
	b := messageBatch(id, conv, from, "hi", at)
	b.Touch = map[string]time.Time{conv: at}
	b.Require = []store.Membership{{ConversationID: conv, UserID: from}}
	for _, uid := range restore {
		b.Restore = append(b.Restore, store.Participant{ConversationID: conv, UserID: uid, JoinedAt: at})
	}
	return b
}

// joinedAt is uid's JoinedPos in conv, -1 for a non-member.
func joinedAt(t *testing.T, s store.Store, conv, uid string) int64 {
	t.Helper()
	p, err := s.Participant(ctx, conv, uid)
	if errors.Is(err, store.ErrNotFound) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.JoinedPos
}

// commitMembership: a commit checks the members its batches require
// against the members it reads (after its changes and restores) and rolls
// back with ErrNotMember for one who is not; it restores missing members at
// its first position and leaves present ones alone; and it reports, and
// records for ResolveCommit, the conversations its changes changed.
func commitMembership(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := createConversation(t, s, store.TypePrivate, now, "a", "b")
	g := createConversation(t, s, store.TypeGroup, now, "a", "b", "c")

	// A member who left is restored by the other's message, at the
	// commit's first position, and receives it; restoring again writes
	// nothing.
	if _, err := s.RemoveParticipant(ctx, u.ID, "b"); err != nil {
		t.Fatal(err)
	}
	c := mustCommit(t, s, memberBatch(ids.Next(now), u.ID, "a", now, "b"))
	if got := joinedAt(t, s, u.ID, "b"); got != store.Pos(c.Seq, 0) {
		t.Fatalf("restored b: joined at %d, want the commit's first position %d", got, store.Pos(c.Seq, 0))
	}
	if got := fmt.Sprint(c.Members[u.ID]); got != fmt.Sprint([]store.Member{{UserID: "a", JoinedPos: u.LastPos}, {UserID: "b", JoinedPos: store.Pos(c.Seq, 0)}}) {
		t.Fatalf("members of the restoring commit: got %s, want a and the restored b", got)
	}
	mustCommit(t, s, memberBatch(ids.Next(now), u.ID, "a", now, "b"), memberBatch(ids.Next(now), u.ID, "b", now, "a"))
	if got := joinedAt(t, s, u.ID, "b"); got != store.Pos(c.Seq, 0) {
		t.Fatalf("b after a second restore: joined at %d, want unchanged %d", got, store.Pos(c.Seq, 0))
	}

	// A sender who is not a member fails the whole commit, which stores
	// nothing; the same batch alone from a member commits.
	good, bad := memberBatch(ids.Next(now), g.ID, "a", now), memberBatch(ids.Next(now), g.ID, "x", now)
	_, err := s.Commit(ctx, []*store.Batch{good, bad})
	if !errors.Is(err, store.ErrNotMember) || !errors.Is(err, store.ErrRolledBack) {
		t.Fatalf("a non-member's message: got %v, want ErrNotMember, rolled back", err)
	}
	for _, b := range []*store.Batch{good, bad} {
		if _, err := s.MessageByID(ctx, b.Messages[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("message of the refused commit: got %v, want not stored", err)
		}
	}
	mustCommit(t, s, good)

	// Required members are checked as the commit leaves them: a member
	// removed earlier in the same commit is not one; one added is.
	_, err = s.Commit(ctx, []*store.Batch{
		changeBatch(store.ConversationChange{ConversationID: g.ID, Remove: []string{"c"}}, now),
		memberBatch(ids.Next(now), g.ID, "c", now)})
	if !errors.Is(err, store.ErrNotMember) {
		t.Fatalf("message of a member removed earlier in the commit: got %v, want ErrNotMember", err)
	}
	added := mustCommit(t, s,
		changeBatch(store.ConversationChange{ConversationID: g.ID, Add: []store.Participant{{UserID: "d", JoinedAt: now}}}, now),
		memberBatch(ids.Next(now), g.ID, "d", now))
	if !slices.Equal(added.MembershipChanged, []string{g.ID}) {
		t.Fatalf("changed conversations: got %v, want %s", added.MembershipChanged, g.ID)
	}

	// A restore happens at its batch's place: a later batch's removal
	// of the restored member wins.
	if _, err := s.RemoveParticipant(ctx, u.ID, "b"); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, memberBatch(ids.Next(now), u.ID, "a", now, "b"),
		changeBatch(store.ConversationChange{ConversationID: u.ID, Remove: []string{"b"}}, now))
	if got := joinedAt(t, s, u.ID, "b"); got != -1 {
		t.Fatalf("b restored, then removed in the same commit: joined at %d, want not a member", got)
	}

	// A batch without an event of the conversation (a read mark) is checked
	// too, and the commit reports its members.
	rm := &store.Batch{ReadMarks: []store.ReadMark{{ConversationID: g.ID, UserID: "a", Pos: 1}},
		Require: []store.Membership{{ConversationID: g.ID, UserID: "a"}}}
	if c := mustCommit(t, s, rm); len(c.Members[g.ID]) != 4 || len(c.MembershipChanged) != 0 {
		t.Fatalf("read mark of a member: got members %v, changed %v, want a, b, c, d and nothing changed", c.Members, c.MembershipChanged)
	}
	rm.Require[0].UserID = "x"
	rm.ReadMarks[0].UserID = "x"
	if _, err := s.Commit(ctx, []*store.Batch{rm}); !errors.Is(err, store.ErrNotMember) {
		t.Fatalf("read mark of a non-member: got %v, want ErrNotMember", err)
	}

	// ResolveCommit reads the changed conversations back from the log.
	last, err := s.LastCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= last; seq++ {
		r, err := s.ResolveCommit(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if seq == added.Seq && !slices.Equal(r.MembershipChanged, []string{g.ID}) {
			t.Fatalf("resolved commit %d: changed %v, want %s", seq, r.MembershipChanged, g.ID)
		}
		if seq == c.Seq && len(r.MembershipChanged) != 0 {
			t.Fatalf("resolved message commit %d: changed %v, want none", seq, r.MembershipChanged)
		}
	}
}
