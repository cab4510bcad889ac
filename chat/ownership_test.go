package chat_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// ownerOf reads a conversation's owner through the caller's list.
func ownerOf(t *testing.T, svc *chat.Service, a chat.Actor, cid string) string {
	t.Helper()
	cs, err := svc.ListConversations(ctx, a, chat.ConversationQuery{IDs: []string{cid}})
	if err != nil || len(cs) != 1 {
		t.Fatalf("list %s: got %v, %v", cid, cs, err)
	}
	return cs[0].OwnerID
}

// rename is conversation_update of the name.
func rename(svc *chat.Service, a chat.Actor, cid, name string) error {
	_, err := svc.UpdateConversation(ctx, a, chat.ConversationUpdate{ID: cid, Name: &name})
	return err
}

// TestOwnerLeavesHandsOwnershipOn is the attack of issue 10's item 12: the
// owner leaves, then the only admin does; the group must keep an owner who
// can manage it, the admin first (though the newest member), then the
// longest member (ties: the smaller user id).
func TestOwnerLeavesHandsOwnershipOn(t *testing.T) {
	svc, _, _, as := newService(t, "ann", "bob", "cat", "dan")
	ann, bob, cat, dan := as["ann"], as["bob"], as["cat"], as["dan"]
	cid := group(t, svc, ann, bob, cat)
	if _, err := svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, AddParticipants: []string{dan.UserID}, AddAdmins: []string{dan.UserID}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.LeaveConversation(ctx, ann, cid); err != nil {
		t.Fatal(err)
	}
	if got := ownerOf(t, svc, bob, cid); got != dan.UserID {
		t.Fatalf("owner after the owner left: got %s, want the admin dan %s", got, dan.UserID)
	}
	if err := svc.LeaveConversation(ctx, dan, cid); err != nil {
		t.Fatal(err)
	}
	heir := min(bob.UserID, cat.UserID) // created together: the smaller id
	if got := ownerOf(t, svc, cat, cid); got != heir {
		t.Fatalf("owner after the admin owner left: got %s, want the longest member %s", got, heir)
	}
	heirActor, other := bob, cat
	if heir == cat.UserID {
		heirActor, other = cat, bob
	}
	if err := rename(svc, heirActor, cid, "still managed"); err != nil {
		t.Fatalf("the new owner renames: %v", err)
	}
	if err := rename(svc, other, cid, "hijack"); !errors.Is(err, protocol.ErrForbidden) {
		t.Fatalf("a plain member renames: got %v, want 403", err)
	}
	if err := rename(svc, ann, cid, "former owner"); !errors.Is(err, protocol.ErrForbidden) {
		t.Fatalf("the former owner renames: got %v, want 403", err)
	}
	t.Logf("ownership: owner left -> admin dan owns; dan left -> longest member owns and renames; plain member and former owner get 403")
}

// TestAdminCannotRemoveOwner: an admin's removal of the owner is 403 and
// changes nothing; demoting the owner is ignored; the owner may remove
// themselves, and the admin who has been a member longest owns the group.
func TestAdminCannotRemoveOwner(t *testing.T) {
	svc, db, _, as := newService(t, "ann", "bob", "cat")
	ann, bob, cat := as["ann"], as["bob"], as["cat"]
	cid := group(t, svc, ann, bob, cat)
	if _, err := svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, AddAdmins: []string{bob.UserID, cat.UserID}}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.UpdateConversation(ctx, bob, chat.ConversationUpdate{ID: cid, RemoveParticipants: []string{cat.UserID, ann.UserID}})
	var we *protocol.Error
	if !errors.As(err, &we) || we.Status != 403 || we.Errors["participants.remove"] == nil {
		t.Fatalf("admin removes the owner: got %v, want 403 naming participants.remove", err)
	}
	if ps, _ := db.Participants(ctx, cid); len(ps) != 3 {
		t.Fatalf("after the refused removal: %d members, want 3 (nothing removed)", len(ps))
	}
	if _, err := svc.UpdateConversation(ctx, bob, chat.ConversationUpdate{ID: cid, RemoveAdmins: []string{ann.UserID}}); err != nil {
		t.Fatal(err)
	}
	if p, err := db.Participant(ctx, cid, ann.UserID); err != nil || p.Role != store.RoleOwner {
		t.Fatalf("owner after an admin demoted her: got %+v, %v, want still the owner", p, err)
	}
	res, err := svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, RemoveParticipants: []string{ann.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if want := min(bob.UserID, cat.UserID); res.Conversation.OwnerID != want {
		t.Fatalf("owner after the owner removed herself: got %s, want the admin %s", res.Conversation.OwnerID, want)
	}
}

// TestMembershipIsOneCommit: conversation_update (fields, members, admins)
// and conversation_delete each write through one commit of the group
// committer, members and events together, and nothing beside it.
func TestMembershipIsOneCommit(t *testing.T) {
	svc, cs, as := countedService(t, chat.Config{}, "ann", "bob", "cat", "dan")
	ann, bob, cat, dan := as["ann"], as["bob"], as["cat"], as["dan"]
	cid := group(t, svc, ann, bob, cat)
	name := "renamed"
	steps := map[string]func() error{
		"conversation_update": func() error {
			_, err := svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, Name: &name,
				AddParticipants: []string{dan.UserID}, RemoveParticipants: []string{cat.UserID}, AddAdmins: []string{bob.UserID}})
			return err
		},
		"conversation_delete": func() error { return svc.LeaveConversation(ctx, ann, cid) },
	}
	for _, step := range []string{"conversation_update", "conversation_delete"} {
		var err error
		calls := cs.during(func() { err = steps[step]() })
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		commits, outside := 0, []string{}
		for _, c := range calls {
			if c == "Commit" {
				commits++
			}
			if slices.Contains(writesOutsideCommit, c) {
				outside = append(outside, c)
			}
		}
		if commits != 1 || len(outside) != 0 {
			t.Fatalf("%s: %d commits and writes %v beside them, want one commit and nothing else (calls %v)", step, commits, outside, calls)
		}
		t.Logf("%s: %d store calls, 1 commit, 0 writes beside it", step, len(calls))
	}
	cv, err := svc.ListConversations(ctx, dan, chat.ConversationQuery{IDs: []string{cid}})
	if err != nil || len(cv) != 1 || cv[0].Name != "renamed" || cv[0].OwnerID != bob.UserID {
		t.Fatalf("after both: got %+v, %v, want renamed and owned by the admin bob", cv, err)
	}
}

// TestRacingUpdates attacks the rules with concurrent requests on one
// node: four managers add three members each to a group of 4 with at most
// 10 (only two adds fit), three admins remove the same member, and one
// user leaves from three sockets at once. The group never passes its
// limit, and every change is told exactly once.
func TestRacingUpdates(t *testing.T) {
	svc, _, as := countedService(t, chat.Config{MaxParticipants: 10}, "ann", "bob", "cat", "dan",
		"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11")
	managers := []chat.Actor{as["ann"], as["bob"], as["cat"], as["dan"]}
	cid := group(t, svc, managers[0], managers[1:]...)
	if _, err := svc.UpdateConversation(ctx, managers[0], chat.ConversationUpdate{ID: cid,
		AddAdmins: []string{managers[1].UserID, managers[2].UserID, managers[3].UserID}}); err != nil {
		t.Fatal(err)
	}
	errs := race(len(managers), func(i int) error {
		var add []string
		for k := range 3 {
			add = append(add, as[fmt.Sprint("n", i*3+k)].UserID)
		}
		_, err := svc.UpdateConversation(ctx, managers[i], chat.ConversationUpdate{ID: cid, AddParticipants: add})
		return err
	})
	ok, full := countErrs(errs, protocol.ErrParticipantLimit)
	members := memberCount(t, svc, managers[0], cid)
	t.Logf("racing adds: %d managers adding 3 each to a group of 4 with at most 10: %d added, %d refused 422, %d members", len(managers), ok, full, members)
	if ok != 2 || full != 2 || members != 10 {
		t.Fatalf("racing adds: %d succeeded, %d refused (errors %v), %d members, want 2, 2 and 10", ok, full, errs, members)
	}

	m, err := svc.ParticipantsOf(ctx, managers[0], []string{cid})
	if err != nil {
		t.Fatal(err)
	}
	var added []chat.Actor // in login order
	for k := range 12 {
		if a := as[fmt.Sprint("n", k)]; slices.Contains(m[cid], a.UserID) {
			added = append(added, a)
		}
	}
	victim, leaver := added[0], added[1]
	errs = race(3, func(i int) error {
		_, err := svc.UpdateConversation(ctx, managers[1+i], chat.ConversationUpdate{ID: cid, RemoveParticipants: []string{victim.UserID}})
		return err
	})
	if ok, _ := countErrs(errs, nil); ok != 3 {
		t.Fatalf("racing removals: errors %v, want three successes (the later ones change nothing)", errs)
	}
	if n := notices(t, svc, managers[0], cid, loginOf(as, victim)+" has been removed"); n != 1 {
		t.Fatalf("racing removals: %d removal notices, want 1", n)
	}

	errs = race(3, func(i int) error {
		tab := leaver
		tab.Conn = fmt.Sprint("tab-", i)
		return svc.LeaveConversation(ctx, tab, cid)
	})
	left, gone := countErrs(errs, protocol.ErrParticipantNotFound)
	if left != 1 || gone != 2 || notices(t, svc, managers[0], cid, loginOf(as, leaver)+" has left") != 1 {
		t.Fatalf("racing leaves: %d left, %d got 404 (errors %v), want 1 and 2 and one notice", left, gone, errs)
	}
	t.Logf("racing removals of one member by 3 admins: 1 notice; racing leaves from 3 tabs: 1 success, 2 x 404, 1 notice")
}

// loginOf finds an actor's login.
func loginOf(as map[string]chat.Actor, a chat.Actor) string {
	for login, x := range as {
		if x.UserID == a.UserID {
			return login
		}
	}
	return ""
}

// race runs f(0..n-1) at once and returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// countErrs counts the nil errors and those that are want.
func countErrs(errs []error, want error) (ok, matched int) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case want != nil && errors.Is(err, want):
			matched++
		}
	}
	return ok, matched
}

func memberCount(t *testing.T, svc *chat.Service, a chat.Actor, cid string) int {
	t.Helper()
	m, err := svc.ParticipantsOf(ctx, a, []string{cid})
	if err != nil {
		t.Fatal(err)
	}
	return len(m[cid])
}

// notices counts the stored messages of cid whose body starts with prefix.
func notices(t *testing.T, svc *chat.Service, a chat.Actor, cid, prefix string) int {
	t.Helper()
	ms, err := svc.ListMessages(ctx, a, chat.MessageQuery{CID: cid, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if strings.HasPrefix(m.Body, prefix) {
			n++
		}
	}
	return n
}
