// Package storetest is the one contract every store backend passes: SQLite
// in every test run, PostgreSQL when the test script has started it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// Run runs the contract against fresh, empty stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := map[string]func(*testing.T, store.Store){
		"DefaultOrg":         defaultOrg,
		"UserCRUD":           userCRUD,
		"Uniqueness":         uniqueness,
		"Search":             search,
		"UsersByIDs":         usersByIDs,
		"Sessions":           sessions,
		"RefreshRotation":    refreshRotation,
		"DeleteCascades":     deleteCascades,
		"UserLookups":        userLookups,
		"SessionDetails":     sessionDetails,
		"RefreshDetails":     refreshDetails,
		"Conversations":      conversations,
		"Messages":           messagesAndEvents,
		"HistoryByPosition":  historyByPosition,
		"PagingAcrossClocks": pagingAcrossClocks,
		"EditDeleteHide":     editDeleteHide,
		"CommitPositions":    commitPositions,
		"CommitMembers":      commitMembers,
		"CommitMembership":   commitMembership,
		"CommitMembersFresh": commitMembersFresh,
		"Events":             eventsQuery,
		"EventPositions":     eventPositions,
		"ClientIDs":          clientIDs,
		"CommitIsolation":    commitIsolation,
		"ResolveCommit":      resolveCommit,
		"ConcurrentCommits":  concurrentCommits,
		"NodeNumbers":        nodeNumbers,
		"SearchConvs":        searchConversations,
		"SigningKeys":        signingKeys,
		"UserSessions":       userSessions,
		"Identifiers":        identifiers,
		"SecondFactors":      secondFactors,
		"FoldedIdentifiers":  foldedIdentifiers,
		"FoldedSearch":       foldedSearch,
		"UserTaken":          userTaken,
		"RevokeOthers":       revokeOtherSessions,
		"UseOnce":            useOnce,
		"PruneSessions":      pruneSessions,
		"DeleteSigningKey":   deleteSigningKey,
		// contacts (issue 13)
		"Contacts":       contactsCRUD,
		"ContactsCap":    contactsCap,
		"ContactMatches": contactMatches,
		"ContactsRace":   contactsCapConcurrent,

		"ChannelFanout":  channelFanout,
		"ChannelLookups": channelLookups,
		// issue 13: reactions and the block list
		"Reactions":        reactions,
		"Blocks":           blocks,
		"BlocksConcurrent": blocksConcurrent,
		"Files":            files, // attachments (files.go)
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

var ctx = context.Background()

func newUser(org, login, email, phone string) *store.User {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &store.User{ID: store.NewID(), OrgID: org, Login: login, Email: email, Phone: phone,
		PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
}

func mustCreate(t *testing.T, s store.Store, u *store.User) *store.User {
	t.Helper()
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("create %s: %v", u.Login, err)
	}
	return u
}

func defaultOrg(t *testing.T, s store.Store) {
	o, err := s.Organization(ctx, store.DefaultOrg)
	if err != nil || o.ID != store.DefaultOrg {
		t.Fatalf("default org: got %v, %v", o, err)
	}
	if _, err := s.Organization(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown org: got %v, want ErrNotFound", err)
	}
}

func userCRUD(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "Alice", "a@x.io", ""))
	got, err := s.UserByID(ctx, store.DefaultOrg, u.ID)
	if err != nil || got.Login != "Alice" || got.Email != "a@x.io" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("by id: got %+v, %v", got, err)
	}
	for _, key := range []string{"alice", "ALICE", "A@X.IO"} {
		if got, err := s.UserByLogin(ctx, store.DefaultOrg, key); err != nil || got.ID != u.ID {
			t.Fatalf("by login %q: got %v, %v", key, got, err)
		}
	}
	if _, err := s.UserByID(ctx, "other", u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other org: got %v, want ErrNotFound", err)
	}
	u.FirstName, u.AvatarObject = "Al", []byte(`{"file_id":"f"}`)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRecentActivity(ctx, map[string]int64{u.ID: 1715000000, "missing": 7}); err != nil { // unknown users are skipped
		t.Fatal(err)
	}
	got, _ = s.UserByID(ctx, store.DefaultOrg, u.ID)
	if got.FirstName != "Al" || string(got.AvatarObject) != `{"file_id":"f"}` || got.RecentActivity != 1715000000 {
		t.Fatalf("after update: got %+v", got)
	}
	if err := s.DeleteUser(ctx, store.DefaultOrg, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, store.DefaultOrg, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: got %v, want ErrNotFound", err)
	}
}

func uniqueness(t *testing.T, s store.Store) {
	mustCreate(t, s, newUser(store.DefaultOrg, "bob", "bob@x.io", "12345"))
	mustCreate(t, s, newUser(store.DefaultOrg, "no_contact_1", "", ""))
	mustCreate(t, s, newUser(store.DefaultOrg, "no_contact_2", "", "")) // empty e-mail/phone never clash
	for name, u := range map[string]*store.User{
		"login": newUser(store.DefaultOrg, "BOB", "", ""),
		"email": newUser(store.DefaultOrg, "bob2", "BOB@X.IO", ""),
		"phone": newUser(store.DefaultOrg, "bob3", "", "12345"),
	} {
		if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate %s: got %v, want ErrConflict", name, err)
		}
	}
	if err := s.CreateOrganization(ctx, &store.Organization{ID: "acme", Name: "Acme", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, newUser("acme", "bob", "bob@x.io", "12345")) // other organization
	c := mustCreate(t, s, newUser(store.DefaultOrg, "carol", "", ""))
	c.Login = "Bob"
	if err := s.UpdateUser(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update to a taken login: got %v, want ErrConflict", err)
	}
}

func search(t *testing.T, s store.Store) {
	ann := newUser(store.DefaultOrg, "anna", "", "")
	mustCreate(t, s, ann)
	b := newUser(store.DefaultOrg, "zz", "", "")
	b.FirstName = "Annabel"
	mustCreate(t, s, b)
	mustCreate(t, s, newUser(store.DefaultOrg, "an_x", "", ""))
	mustCreate(t, s, newUser(store.DefaultOrg, "anqx", "", ""))
	mustCreate(t, s, newUser(store.DefaultOrg, "50%off", "", ""))
	mustCreate(t, s, newUser(store.DefaultOrg, "500", "", ""))
	l := newUser(store.DefaultOrg, "yy", "", "")
	l.LastName = "Anderson"
	mustCreate(t, s, l)
	if err := s.CreateOrganization(ctx, &store.Organization{ID: "search-other", Name: "Other", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, newUser("search-other", "annex", "", ""))
	cases := []struct {
		name string
		q    store.UserQuery
		want []string // logins, any order
	}{
		{"login or first name, any case", store.UserQuery{Prefix: "ANN", Limit: 10}, []string{"anna", "zz"}},
		{"last name", store.UserQuery{Prefix: "ander", Limit: 10}, []string{"yy"}},
		{"prefix, not substring", store.UserQuery{Prefix: "nna", Limit: 10}, nil},
		{"exclude", store.UserQuery{Prefix: "ann", ExcludeIDs: []string{ann.ID}, Limit: 10}, []string{"zz"}},
		{"underscore literal", store.UserQuery{Prefix: "an_", Limit: 10}, []string{"an_x"}},
		{"percent literal", store.UserQuery{Prefix: "%", Limit: 10}, nil},
		{"percent inside literal", store.UserQuery{Prefix: "50%", Limit: 10}, []string{"50%off"}},
		{"updated after, future bound", store.UserQuery{Prefix: "ann", UpdatedAfter: time.Now().Add(time.Hour), Limit: 10}, nil},
		{"updated after, past bound", store.UserQuery{Prefix: "ann", UpdatedAfter: time.Now().Add(-time.Hour), Limit: 10}, []string{"anna", "zz"}},
	}
	for _, tc := range cases {
		got, err := s.SearchUsers(ctx, store.DefaultOrg, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got, want := loginsOf(got), sorted(tc.want); !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, want)
		}
	}
	got, err := s.SearchUsers(ctx, store.DefaultOrg, store.UserQuery{Prefix: "an", Limit: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("limit 2: got %d users (%v), want 2", len(got), err)
	}
}

func loginsOf(us []store.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Login)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

func usersByIDs(t *testing.T, s store.Store) {
	var ids []string
	for i := range 3 {
		ids = append(ids, mustCreate(t, s, newUser(store.DefaultOrg, fmt.Sprintf("u%d", i), "", "")).ID)
	}
	got, err := s.UsersByIDs(ctx, store.DefaultOrg, append(ids, "missing"))
	if err != nil || len(got) != 3 {
		t.Fatalf("by ids: got %d, %v, want 3", len(got), err)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].ID < got[i].ID {
			t.Fatalf("order: got %s before %s, want _id descending", got[i-1].ID, got[i].ID)
		}
	}
	if got, err := s.UsersByIDs(ctx, "other", ids); err != nil || len(got) != 0 {
		t.Fatalf("other org: got %d, %v, want 0", len(got), err)
	}
	if got, err := s.UsersByIDs(ctx, store.DefaultOrg, nil); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no ids: got %#v, %v, want empty non-nil", got, err)
	}
}

func newSession(u *store.User, device string) *store.Session {
	now := time.Now()
	return &store.Session{ID: store.NewID(), UserID: u.ID, OrgID: u.OrgID, DeviceID: device,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func sessions(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "sam", "", ""))
	a, b, c := newSession(u, "laptop"), newSession(u, "laptop"), newSession(u, "phone")
	for _, x := range []*store.Session{a, b, c} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TouchSession(ctx, a.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if devs, err := s.LiveDevices(ctx, u.ID, time.Now()); err != nil || len(devs) != 2 {
		t.Fatalf("live devices: got %v, %v, want laptop and phone", devs, err)
	}
	n, err := s.RevokeSessions(ctx, u.ID, "laptop", time.Now())
	if err != nil || n != 2 {
		t.Fatalf("revoke laptop: got %d, %v, want 2", n, err)
	}
	if got, _ := s.Session(ctx, a.ID); got.RevokedAt.IsZero() {
		t.Fatal("laptop session still live after revoke")
	}
	if got, _ := s.Session(ctx, c.ID); !got.RevokedAt.IsZero() {
		t.Fatal("phone session revoked with the laptop")
	}
	if n, _ := s.RevokeSessions(ctx, u.ID, "", time.Now()); n != 1 {
		t.Fatalf("revoke all: got %d, want 1 (the phone)", n)
	}
	if err := s.RevokeSession(ctx, c.ID, time.Now()); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, err := s.Session(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing session: got %v", err)
	}
}

func refreshRotation(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "rita", "", ""))
	sess := newSession(u, "d")
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	tok := func(h string) *store.RefreshToken {
		return &store.RefreshToken{Hash: h, SessionID: sess.ID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	}
	if err := s.CreateRefreshToken(ctx, tok("h0")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RotateRefreshToken(ctx, "h0", tok("h1"), time.Now()); !ok || err != nil {
		t.Fatalf("first rotation: got %v, %v, want true", ok, err)
	}
	if ok, err := s.RotateRefreshToken(ctx, "h0", tok("h1b"), time.Now()); ok || err != nil {
		t.Fatalf("second rotation of a used token: got %v, %v, want false", ok, err)
	}
	old, _ := s.RefreshToken(ctx, "h0")
	if old.UsedAt.IsZero() || old.ReplacedBy != "h1" {
		t.Fatalf("rotated token: got %+v, want used and replaced by h1", old)
	}
	if _, err := s.RefreshToken(ctx, "h1"); err != nil {
		t.Fatalf("successor stored: %v", err)
	}
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.RotateRefreshToken(ctx, "h1", tok(fmt.Sprintf("h2-%d", i)), time.Now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("concurrent rotations: got %d winners, want 1", wins)
	}
}

func deleteCascades(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "dora", "", ""))
	sess := newSession(u, "d")
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	rt := &store.RefreshToken{Hash: "hd", SessionID: sess.ID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, store.DefaultOrg, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after user delete: got %v, want ErrNotFound", err)
	}
	if _, err := s.RefreshToken(ctx, "hd"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refresh token after user delete: got %v, want ErrNotFound", err)
	}
}
