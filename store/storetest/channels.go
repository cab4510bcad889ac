package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// channelSubscribers is how many subscribers channelFanout gives its
// channel: far past a group's limit of 50.
const channelSubscribers = 1000

// channelFanout: a channel takes any number of subscribers in one change
// (no MaxMembers), a post to it is one logged event, which every
// subscriber reads from the log and the commit lists every subscriber as
// its recipient; member counts follow subscribes and unsubscribes.
func channelFanout(t *testing.T, s store.Store) {
	ids := newIDs(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)
	ch := createConversation(t, s, store.TypeChannel, now, "owner")
	var subs []store.Participant
	for i := range channelSubscribers {
		subs = append(subs, store.Participant{UserID: fmt.Sprintf("sub%05d", i), JoinedAt: now})
	}
	mustCommit(t, s, &store.Batch{Changes: []store.ConversationChange{{ConversationID: ch.ID, Add: subs}}})
	if n, err := s.MemberCounts(ctx, []string{ch.ID, "nope"}); err != nil || len(n) != 1 || n[ch.ID] != channelSubscribers+1 {
		t.Fatalf("member counts: %v, %v; want {%s: %d}", n, err, ch.ID, channelSubscribers+1)
	}

	post := convEvent(ids.Next(now), ch.ID, `{"message":{"body":"news"}}`, now)
	done := mustCommit(t, s, &store.Batch{Events: []store.Event{post},
		Require: []store.Membership{{ConversationID: ch.ID, UserID: "owner"}}})
	if got := len(done.Members[ch.ID]); got != channelSubscribers+1 {
		t.Fatalf("the post's commit lists %d members, want %d", got, channelSubscribers+1)
	}
	for _, uid := range []string{"owner", "sub00000", fmt.Sprintf("sub%05d", channelSubscribers-1)} {
		wantIDs(t, uid+"'s log", eventIDs(listEvents(t, s, store.EventQuery{UserID: uid, Limit: -1})), post.ID)
	}
	// Stored once: the log holds one event, whatever the subscribers.
	if n, err := s.PruneEvents(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d events, %v; want the post stored once", n, err)
	}

	mustCommit(t, s, &store.Batch{Changes: []store.ConversationChange{{ConversationID: ch.ID, Remove: []string{"sub00000", "sub00001"}}}})
	if n, _ := s.MemberCounts(ctx, []string{ch.ID}); n[ch.ID] != channelSubscribers-1 {
		t.Fatalf("after two unsubscribes: %v, want %d", n, channelSubscribers-1)
	}
}

// channelLookups: the organization's channels are found by name by
// non-members, other conversations only by their members, nothing across
// organizations; ConversationAdmins answers owners and admins only.
func channelLookups(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateOrganization(ctx, &store.Organization{ID: "channels-other", Name: "Other", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	mk := func(org, typ, name string, ps ...store.Participant) string {
		c := newConversation(typ, ps[0].UserID, now)
		c.OrgID, c.Name = org, name
		if err := s.CreateConversation(ctx, c, ps); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	p := func(uid, role string) store.Participant {
		return store.Participant{UserID: uid, Role: role, JoinedAt: now}
	}
	news := mk(store.DefaultOrg, store.TypeChannel, "Breaking News", p("o", store.RoleOwner), p("adm", store.RoleAdmin), p("sub", store.RoleMember))
	mk(store.DefaultOrg, store.TypeGroup, "Breaking group", p("o", store.RoleOwner), p("sub", store.RoleMember))
	mk("channels-other", store.TypeChannel, "Breaking elsewhere", p("x", store.RoleOwner))

	got, err := s.SearchConversations(ctx, store.DefaultOrg, "stranger", "breaking", time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "a non-member's search", got, news)
	if got, _ := s.SearchConversations(ctx, store.DefaultOrg, "sub", "BREAKING", time.Time{}, 10); len(got) != 2 {
		t.Fatalf("a member's search: %v, want the channel and the group", got)
	}

	for _, uid := range []string{"o", "adm"} {
		got, err := s.ConversationAdmins(ctx, store.DefaultOrg, uid, []string{news, "nope"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"o", "adm"}; len(got) != 1 || fmt.Sprint(got[news]) != fmt.Sprint(want) {
			t.Fatalf("admins as %s: %v, want {%s: %v}", uid, got, news, want)
		}
	}
	if got, err := s.ConversationAdmins(ctx, store.DefaultOrg, "sub", []string{news}); err != nil || len(got) != 0 {
		t.Fatalf("admins as a subscriber: %v, %v; want none", got, err)
	}
	if got, err := s.ConversationAdmins(ctx, "channels-other", "o", []string{news}); err != nil || len(got) != 0 {
		t.Fatalf("admins from another organization: %v, %v; want none", got, err)
	}
}
