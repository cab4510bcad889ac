package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

func newConversation(typ, owner string, at time.Time) *store.Conversation {
	return &store.Conversation{ID: store.NewID(), OrgID: store.DefaultOrg, Type: typ, OwnerID: owner,
		CreatedAt: at, UpdatedAt: at}
}

func members(at time.Time, ids ...string) []store.Participant {
	var ps []store.Participant
	for i, id := range ids {
		role := store.RoleMember
		if i == 0 {
			role = store.RoleOwner
		}
		ps = append(ps, store.Participant{UserID: id, Role: role, JoinedAt: at})
	}
	return ps
}

func conversations(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, b, c := store.NewID(), store.NewID(), store.NewID()

	// Private: one per pair.
	u := newConversation(store.TypePrivate, a, now)
	u.OpponentID, u.PairKey = b, store.PairKey(a, b)
	if err := s.CreateConversation(ctx, u, members(now, a, b)); err != nil {
		t.Fatal(err)
	}
	dup := newConversation(store.TypePrivate, b, now)
	dup.PairKey = store.PairKey(b, a)
	if err := s.CreateConversation(ctx, dup, members(now, b, a)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second private conversation of a pair: got %v, want ErrConflict", err)
	}
	if got, err := s.PrivateConversation(ctx, store.DefaultOrg, store.PairKey(b, a)); err != nil || got.ID != u.ID || got.LastPos != u.LastPos {
		t.Fatalf("private by pair: got %v, %v", got, err)
	}
	mustCommit(t, s, &store.Batch{}) // activity elsewhere: the group below is created later

	// Group with members; participants listed user id descending.
	g := newConversation(store.TypeGroup, a, now.Add(time.Second))
	g.Name = "team"
	if err := s.CreateConversation(ctx, g, members(now, a, b, c)); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Participants(ctx, g.ID)
	if err != nil || len(ps) != 3 {
		t.Fatalf("participants: got %d, %v, want 3", len(ps), err)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1].UserID < ps[i].UserID {
			t.Fatalf("participants order: got %v, want user id descending", ps)
		}
	}
	if p, err := s.Participant(ctx, g.ID, a); err != nil || p.Role != store.RoleOwner {
		t.Fatalf("owner: got %v, %v", p, err)
	}
	if _, err := s.Participant(ctx, g.ID, "stranger"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("non-member: got %v, want ErrNotFound", err)
	}

	if err := s.SetRole(ctx, g.ID, b, store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Participant(ctx, g.ID, b); p.Role != store.RoleAdmin {
		t.Fatalf("role after SetRole: got %q, want admin", p.Role)
	}
	if err := s.SetRole(ctx, g.ID, "stranger", store.RoleAdmin); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetRole of a non-member: got %v, want ErrNotFound", err)
	}

	// Listing: newest activity first, only the user's, filters and limit.
	list := func(user string, q store.ConversationQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 30
		}
		cs, err := s.UserConversations(ctx, store.DefaultOrg, user, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range cs {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if got := list(a, store.ConversationQuery{}); len(got) != 2 || got[0] != g.ID {
		t.Fatalf("list for a: got %v, want [group, private]", got)
	}
	if got := list(c, store.ConversationQuery{}); len(got) != 1 || got[0] != g.ID {
		t.Fatalf("list for c: got %v, want [group]", got)
	}
	g.Name = "team, renamed"
	if err := s.UpdateConversation(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got := list(a, store.ConversationQuery{}); got[0] != g.ID {
		t.Fatalf("after an update: got %v, want the order unchanged (an update is no activity)", got)
	}
	// Activity elsewhere, then a new message in the private chat.
	mustCommit(t, s, &store.Batch{})
	touched := mustCommit(t, s, &store.Batch{Touch: map[string]time.Time{u.ID: now.Add(time.Minute)}})
	if got := list(a, store.ConversationQuery{}); got[0] != u.ID {
		t.Fatalf("after activity: got %v, want the private chat first", got)
	}
	if c, err := s.Conversation(ctx, store.DefaultOrg, u.ID); err != nil || c.LastPos != store.Pos(touched.Seq, 0) || !c.UpdatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("touched: got %+v, %v, want last_pos %d", c, err, store.Pos(touched.Seq, 0))
	}
	if got := list(a, store.ConversationQuery{Limit: 1}); len(got) != 1 {
		t.Fatalf("limit 1: got %v", got)
	}
	if got := list(a, store.ConversationQuery{UpdatedBefore: now.Add(30 * time.Second)}); len(got) != 1 || got[0] != g.ID {
		t.Fatalf("updated before: got %v, want [group]", got)
	}
	if got := list(a, store.ConversationQuery{UpdatedAfter: now.Add(30 * time.Second)}); len(got) != 1 || got[0] != u.ID {
		t.Fatalf("updated after: got %v, want [private]", got)
	}
	if got := list(c, store.ConversationQuery{IDs: []string{u.ID, g.ID}}); len(got) != 1 || got[0] != g.ID {
		t.Fatalf("ids, only own: got %v, want [group]", got)
	}

	// Membership changes; the last one out can delete.
	if err := s.AddParticipants(ctx, g.ID, members(now, a, "d-new")); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Participant(ctx, g.ID, a); p.Role != store.RoleOwner {
		t.Fatalf("re-adding an existing member changed its role to %q", p.Role)
	}
	for i, id := range []string{"d-new", b, c} {
		n, err := s.RemoveParticipant(ctx, g.ID, id)
		if err != nil || n != 3-i {
			t.Fatalf("remove %s: got %d left, %v, want %d", id, n, err, 3-i)
		}
	}
	if _, err := s.RemoveParticipant(ctx, g.ID, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove a non-member: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteConversation(ctx, store.DefaultOrg, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ctx, store.DefaultOrg, g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted conversation: got %v, want ErrNotFound", err)
	}
	if ps, _ := s.Participants(ctx, g.ID); len(ps) != 0 {
		t.Fatalf("participants of a deleted conversation: got %v", ps)
	}
	if _, err := s.Conversation(ctx, "other-org", u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conversation from another org: got %v, want ErrNotFound", err)
	}

	t.Run("Changes", func(t *testing.T) { convChanges(t, s) })
	t.Run("Ownership", func(t *testing.T) { convOwnership(t, s) })
	t.Run("RacingAdds", func(t *testing.T) { convRacingAdds(t, s) })
	t.Run("Members", func(t *testing.T) { convMembers(t, s) })
}

func searchConversations(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(name string, who ...string) string {
		c := newConversation(store.TypeGroup, who[0], now)
		c.Name = name
		if err := s.CreateConversation(ctx, c, members(now, who...)); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	chat1 := mk("Chat_1 team", "a", "b")
	mk("chat_10", "a", "c")
	mk("chat_1 secret", "b", "c") // a is not in it
	mk("chatX1", "a", "b")        // "_" must match literally
	got, err := s.SearchConversations(ctx, store.DefaultOrg, "a", "chat_1", time.Time{}, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("search chat_1 for a: got %v, %v, want 2 (own, literal _)", got, err)
	}
	if got, _ := s.SearchConversations(ctx, store.DefaultOrg, "a", "CHAT_1 T", time.Time{}, 10); len(got) != 1 || got[0] != chat1 {
		t.Fatalf("case-insensitive: got %v, want [%s]", got, chat1)
	}
	mustCommit(t, s, &store.Batch{}) // activity elsewhere
	mustCommit(t, s, &store.Batch{Touch: map[string]time.Time{chat1: now}})
	if got, _ := s.SearchConversations(ctx, store.DefaultOrg, "a", "chat", time.Time{}, 1); len(got) != 1 || got[0] != chat1 {
		t.Fatalf("limit 1 after activity in %s: got %v, want it first", chat1, got)
	}
	if got, _ := s.SearchConversations(ctx, store.DefaultOrg, "a", "%", time.Time{}, 10); len(got) != 0 {
		t.Fatalf("percent is literal: got %v", got)
	}
}
