package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// changeBatch is a batch that changes one conversation and touches it (as
// chat's do), with events.
func changeBatch(ch store.ConversationChange, at time.Time, events ...store.Event) *store.Batch {
	return &store.Batch{Changes: []store.ConversationChange{ch}, Touch: map[string]time.Time{ch.ConversationID: at}, Events: events}
}

// roster is a conversation's members as "user:role@joined_pos", user id
// descending, for comparisons.
func roster(t *testing.T, s store.Store, cid string) []string {
	t.Helper()
	ps, err := s.Participants(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s:%s@%d", p.UserID, p.Role, p.JoinedPos))
	}
	return out
}

// owner reads a conversation's owner_id.
func owner(t *testing.T, s store.Store, cid string) string {
	t.Helper()
	c, err := s.Conversation(ctx, store.DefaultOrg, cid)
	if err != nil {
		t.Fatal(err)
	}
	return c.OwnerID
}

// convChanges: a change's fields, members and roles land in the commit of
// its events, new members join at the commit's first position and receive
// its events, removed ones do not; a broken rule (adding a member, removing
// a non-member, too many members, a conversation that is gone) rolls back
// the whole commit, other batches included.
func convChanges(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "a", "b", "c")
	name := "renamed"
	ev := convEvent(ids.Next(now), g.ID, `{"updated":1}`, now)
	b := changeBatch(store.ConversationChange{ConversationID: g.ID, Name: &name, Add: []store.Participant{{UserID: "d", JoinedAt: now}},
		Remove: []string{"c"}, Roles: map[string]string{"b": store.RoleAdmin}, MaxMembers: 3}, now, ev)
	done := mustCommit(t, s, b)
	joined := store.Pos(done.Seq, 0)
	wantIDs(t, "members after the change", roster(t, s, g.ID),
		"d:@"+fmt.Sprint(joined), "b:admin@"+fmt.Sprint(g.LastPos), "a:owner@"+fmt.Sprint(g.LastPos))
	if c, err := s.Conversation(ctx, store.DefaultOrg, g.ID); err != nil || c.Name != "renamed" || c.Description != "" {
		t.Fatalf("fields after the change: got %+v, %v", c, err)
	}
	if ch := b.Changes[0]; ch.Deleted || ch.OwnerID != "a" {
		t.Fatalf("outcome: got deleted %v, owner %q, want the owner a", ch.Deleted, ch.OwnerID)
	}
	want := fmt.Sprint([]store.Member{{UserID: "a", JoinedPos: g.LastPos}, {UserID: "b", JoinedPos: g.LastPos}, {UserID: "d", JoinedPos: joined}})
	if got := fmt.Sprint(done.Members[g.ID]); got != want {
		t.Fatalf("members the commit reports: got %s, want %s (d added, c removed)", got, want)
	}
	wantIDs(t, "d's events", eventIDs(listEvents(t, s, store.EventQuery{UserID: "d", Limit: -1})), ev.ID)
	wantIDs(t, "c's events", eventIDs(listEvents(t, s, store.EventQuery{UserID: "c", Limit: -1})))

	before := roster(t, s, g.ID)
	other := messageBatch(ids.Next(now), g.ID, "a", "in the same commit", now)
	again := "again"
	for name, tc := range map[string]struct {
		ch   store.ConversationChange
		want error
	}{
		"add a member":        {store.ConversationChange{ConversationID: g.ID, Name: &again, Add: []store.Participant{{UserID: "b"}}}, store.ErrConflict},
		"remove a stranger":   {store.ConversationChange{ConversationID: g.ID, Name: &again, Remove: []string{"a", "zz"}}, store.ErrNotFound},
		"too many":            {store.ConversationChange{ConversationID: g.ID, Add: []store.Participant{{UserID: "e"}}, MaxMembers: 3}, store.ErrFull},
		"conversation gone":   {store.ConversationChange{ConversationID: "no-such-conversation", Name: &again}, store.ErrNotFound},
		"the same user twice": {store.ConversationChange{ConversationID: g.ID, Add: []store.Participant{{UserID: "e"}, {UserID: "e"}}}, store.ErrConflict},
	} {
		_, err := s.Commit(ctx, []*store.Batch{other, changeBatch(tc.ch, now)})
		if !errors.Is(err, tc.want) || !errors.Is(err, store.ErrRolledBack) {
			t.Fatalf("%s: got %v, want %v (rolled back)", name, err, tc.want)
		}
		wantIDs(t, name+": members", roster(t, s, g.ID), before...)
		if c, _ := s.Conversation(ctx, store.DefaultOrg, g.ID); c.Name != "renamed" {
			t.Fatalf("%s: name %q, want the change rolled back", name, c.Name)
		}
		if _, err := s.MessageByID(ctx, other.Messages[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: the other batch's message: got %v, want rolled back", name, err)
		}
	}

	// The owner's role is not the roles' to change; a role is admin or member.
	mustCommit(t, s, changeBatch(store.ConversationChange{ConversationID: g.ID, Roles: map[string]string{"a": store.RoleMember, "zz": store.RoleAdmin}}, now))
	wantIDs(t, "members after roles of the owner and a stranger", roster(t, s, g.ID), before...)
	if _, err := s.Commit(ctx, []*store.Batch{changeBatch(store.ConversationChange{ConversationID: g.ID, Roles: map[string]string{"b": store.RoleOwner}}, now)}); err == nil {
		t.Fatal("a second owner through roles: got nil error")
	}

	// Removing everybody deletes the conversation.
	last := changeBatch(store.ConversationChange{ConversationID: g.ID, Remove: []string{"a", "b", "d"}}, now)
	mustCommit(t, s, last)
	if ch := last.Changes[0]; !ch.Deleted || ch.OwnerID != "" {
		t.Fatalf("outcome of removing everybody: got deleted %v, owner %q", ch.Deleted, ch.OwnerID)
	}
	if _, err := s.Conversation(ctx, store.DefaultOrg, g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("emptied conversation: got %v, want deleted", err)
	}
	late := messageBatch(ids.Next(now), g.ID, "a", "to the deleted conversation", now)
	late.Touch = map[string]time.Time{g.ID: now}
	if _, err := s.Commit(ctx, []*store.Batch{late}); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, store.ErrRolledBack) {
		t.Fatalf("a message to the deleted conversation: got %v, want ErrNotFound (rolled back)", err)
	}
}

// convOwnership: whenever a group's owner stops being a member (a change,
// RemoveParticipant), the admin who has been a member longest becomes
// owner, else the member who has, ties to the smaller user id; store.Heir
// picks the same one. A private chat keeps its owner (the pair).
func convOwnership(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	heirOf := func(t *testing.T, cid string) string {
		t.Helper()
		ps, err := s.Participants(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		return store.Heir(ps)
	}
	leave := map[string]func(t *testing.T, cid, uid string) string{
		"change": func(t *testing.T, cid, uid string) string {
			b := changeBatch(store.ConversationChange{ConversationID: cid, Remove: []string{uid}}, now)
			mustCommit(t, s, b)
			return b.Changes[0].OwnerID
		},
		"RemoveParticipant": func(t *testing.T, cid, uid string) string {
			if _, err := s.RemoveParticipant(ctx, cid, uid); err != nil {
				t.Fatal(err)
			}
			return owner(t, s, cid)
		},
	}
	for how, out := range leave {
		t.Run(how, func(t *testing.T) {
			// m5 and m6 were there from the start, m1 (the smallest id) and
			// m2 joined later, m2 is made admin.
			g := createConversation(t, s, store.TypeGroup, now, "m9", "m6", "m5")
			mustCommit(t, s, &store.Batch{}) // the conversation's creation position is the next commit's first
			mustCommit(t, s, changeBatch(store.ConversationChange{ConversationID: g.ID, Add: []store.Participant{{UserID: "m1"}, {UserID: "m2"}}}, now))
			steps := []struct {
				set          map[string]string
				leaver, want string
			}{
				{map[string]string{"m2": store.RoleAdmin}, "m9", "m2"}, // an admin first, though the newest
				{nil, "m2", "m5"}, // then the longest member, ties by id
				{nil, "m5", "m6"},
				{nil, "m6", "m1"},
			}
			for _, st := range steps {
				if st.set != nil {
					mustCommit(t, s, changeBatch(store.ConversationChange{ConversationID: g.ID, Roles: st.set}, now))
				}
				predicted := store.Heir(slices.DeleteFunc(participants(t, s, g.ID), func(p store.Participant) bool { return p.UserID == st.leaver }))
				if got := out(t, g.ID, st.leaver); got != st.want || predicted != st.want {
					t.Fatalf("%s leaves: owner %q (store.Heir said %q), want %q", st.leaver, got, predicted, st.want)
				}
				if p, err := s.Participant(ctx, g.ID, st.want); err != nil || p.Role != store.RoleOwner {
					t.Fatalf("new owner %s: got %+v, %v, want the role owner", st.want, p, err)
				}
			}
			if got := heirOf(t, g.ID); got != "m1" {
				t.Fatalf("heir of the last member: got %q", got)
			}
			u := createConversation(t, s, store.TypePrivate, now, "p1", "p2")
			out(t, u.ID, "p1")
			if got := owner(t, s, u.ID); got != "p1" {
				t.Fatalf("private chat after its owner left: owner %q, want p1 still (the pair)", got)
			}
		})
	}
}

// participants lists a conversation's members.
func participants(t *testing.T, s store.Store, cid string) []store.Participant {
	t.Helper()
	ps, err := s.Participants(ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// convRacingAdds is the attack on the member limit: many commits, each
// adding one member to the same group at once (on PostgreSQL each commit
// is its own transaction, as commits of several nodes are), may together
// fill the group up to MaxMembers and no further, whether the batches touch
// the conversation (as chat's do) or not. Rounds after the first race on a
// warm connection pool, where the commits overlap most.
func convRacingAdds(t *testing.T, s store.Store) {
	const rounds, limit, racers = 4, 10, 24
	var added, full int
	for i := range rounds {
		a, f := raceAdds(t, s, limit, racers, i%2 == 0)
		added, full = added+a, full+f
	}
	t.Logf("member limit: %d rounds of %d commits racing to add one member each to a group of 3 with at most %d: "+
		"%d added, %d refused full, every group at %d members", rounds, racers, limit, added, full, limit)
}

// raceAdds races racers commits adding one member each to a new group of 3
// members with at most limit, and checks the group ends full, not past it.
func raceAdds(t *testing.T, s store.Store, limit, racers int, touch bool) (added, full int) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	g := createConversation(t, s, store.TypeGroup, now, "owner", "m1", "m2")
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			b := changeBatch(store.ConversationChange{ConversationID: g.ID, MaxMembers: limit,
				Add: []store.Participant{{UserID: fmt.Sprintf("racer-%02d", i), JoinedAt: now}}}, now)
			if !touch {
				b.Touch = nil
			}
			_, err := s.Commit(ctx, []*store.Batch{b})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				added++
			case errors.Is(err, store.ErrFull):
				full++
			default:
				t.Errorf("racer %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if members := len(roster(t, s, g.ID)); members != limit || added != limit-3 || full != racers-added {
		t.Fatalf("members %d (added %d, refused %d), want exactly %d", members, added, full, limit)
	}
	return added, full
}
