package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

func newContact(owner *store.User, first string, at time.Time, email, phone []store.ContactEntry) store.Contact {
	return store.Contact{ID: store.NewID(), OrgID: owner.OrgID, OwnerID: owner.ID, FirstName: first,
		Email: email, Phone: phone, CreatedAt: at, UpdatedAt: at}
}

func firstNames(cs []store.Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.FirstName
	}
	return out
}

// contactsCRUD: contacts are stored, listed newest first (the later added
// first within a millisecond), updated field by field, and deleted, by
// their owner only.
func contactsCRUD(t *testing.T, s store.Store) {
	alice := mustCreate(t, s, newUser(store.DefaultOrg, "alice", "", ""))
	bob := mustCreate(t, s, newUser(store.DefaultOrg, "bob", "", ""))
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	work := []store.ContactEntry{{Type: "work", Value: "W@x.io"}}
	batch := []store.Contact{
		newContact(alice, "c1", t0, work, nil),
		newContact(alice, "c2", t0, nil, []store.ContactEntry{{Value: "123"}}),
		newContact(alice, "c3", t0.Add(time.Millisecond), []store.ContactEntry{}, nil),
	}
	batch[0].LastName, batch[0].Company = "L", "Acme"
	if err := s.AddContacts(ctx, alice.ID, batch, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListContacts(ctx, alice.ID, store.ContactQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if names := fmt.Sprint(firstNames(got)); names != "[c3 c2 c1]" {
		t.Fatalf("list: got %s, want [c3 c2 c1]", names)
	}
	c1 := got[2]
	if c1.ID != batch[0].ID || c1.OrgID != store.DefaultOrg || c1.OwnerID != alice.ID || c1.LastName != "L" ||
		c1.Company != "Acme" || fmt.Sprint(c1.Email) != fmt.Sprint(work) || c1.Phone != nil || !c1.CreatedAt.Equal(t0) {
		t.Fatalf("c1: got %+v", c1)
	}
	if got[0].Email == nil || len(got[0].Email) != 0 || got[0].Phone != nil {
		t.Fatalf("c3 keeps an empty e-mail list and no phones: got %+v", got[0])
	}
	if other, _ := s.ListContacts(ctx, bob.ID, store.ContactQuery{Limit: 10}); len(other) != 0 {
		t.Fatalf("bob sees %d contacts, want 0", len(other))
	}
	for _, q := range []struct {
		q    store.ContactQuery
		want string
	}{
		{store.ContactQuery{Limit: 1}, "[c3]"},
		{store.ContactQuery{Limit: 10, UpdatedAfter: t0}, "[c3]"},
		{store.ContactQuery{Limit: 10, UpdatedBefore: t0.Add(time.Millisecond)}, "[c2 c1]"},
		{store.ContactQuery{Limit: 10, UpdatedAfter: t0, UpdatedBefore: t0.Add(time.Millisecond)}, "[]"},
	} {
		got, err := s.ListContacts(ctx, alice.ID, q.q)
		if err != nil || fmt.Sprint(firstNames(got)) != q.want {
			t.Fatalf("list %+v: got %v, %v, want %s", q.q, firstNames(got), err, q.want)
		}
	}

	t1 := t0.Add(time.Second)
	name, phones := "C1", []store.ContactEntry{{Type: "home", Value: "555"}}
	up, err := s.UpdateContact(ctx, alice.ID, c1.ID, store.ContactUpdate{FirstName: &name, Phone: &phones, UpdatedAt: t1})
	if err != nil {
		t.Fatal(err)
	}
	if up.FirstName != "C1" || up.LastName != "L" || up.Company != "Acme" || fmt.Sprint(up.Email) != fmt.Sprint(work) ||
		fmt.Sprint(up.Phone) != fmt.Sprint(phones) || !up.UpdatedAt.Equal(t1) || !up.CreatedAt.Equal(t0) {
		t.Fatalf("updated: got %+v", up)
	}
	if _, err := s.UpdateContact(ctx, bob.ID, c1.ID, store.ContactUpdate{FirstName: &name, UpdatedAt: t1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update by another user: got %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateContact(ctx, alice.ID, "nope", store.ContactUpdate{UpdatedAt: t1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteContact(ctx, bob.ID, c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete by another user: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteContact(ctx, alice.ID, c1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContact(ctx, alice.ID, c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: got %v, want ErrNotFound", err)
	}
	if got, _ := s.ListContacts(ctx, alice.ID, store.ContactQuery{Limit: 10}); fmt.Sprint(firstNames(got)) != "[c3 c2]" {
		t.Fatalf("after delete: got %v", firstNames(got))
	}
	// A deleted owner's contacts go with them.
	if err := s.DeleteUser(ctx, store.DefaultOrg, alice.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListContacts(ctx, alice.ID, store.ContactQuery{Limit: 10}); len(got) != 0 {
		t.Fatalf("after the owner's deletion: got %v", firstNames(got))
	}
	if err := s.AddContacts(ctx, alice.ID, batch[:1], 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("add for a deleted owner: got %v, want ErrNotFound", err)
	}
}

// contactsCap: a batch that would pass the cap stores nothing.
func contactsCap(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "alice", "", ""))
	now := time.Now().UTC()
	mk := func(n int) []store.Contact {
		cs := make([]store.Contact, n)
		for i := range cs {
			cs[i] = newContact(u, fmt.Sprint("c", i), now, nil, nil)
		}
		return cs
	}
	if err := s.AddContacts(ctx, u.ID, mk(3), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.AddContacts(ctx, u.ID, mk(2), 4); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("past the cap: got %v, want ErrLimit", err)
	}
	if err := s.AddContacts(ctx, u.ID, mk(1), 4); err != nil {
		t.Fatalf("up to the cap: %v", err)
	}
	if got, _ := s.ListContacts(ctx, u.ID, store.ContactQuery{Limit: 10}); len(got) != 4 {
		t.Fatalf("got %d contacts, want 4", len(got))
	}
}

// contactMatches: keys (sqlrow.Fold) find users of the organization only,
// by e-mail and by phone separately.
func contactMatches(t *testing.T, s store.Store) {
	if err := s.CreateOrganization(ctx, &store.Organization{ID: "acme", Name: "Acme", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, s, newUser(store.DefaultOrg, "a", "Ann@X.io", "111"))
	b := mustCreate(t, s, newUser(store.DefaultOrg, "b", "", "222"))
	mustCreate(t, s, newUser("acme", "c", "cat@x.io", "333"))
	byEmail, byPhone, err := s.ContactMatches(ctx, store.DefaultOrg,
		[]string{"ann@x.io", "cat@x.io", "222", "nobody"}, []string{"111", "222", "333", "ann@x.io"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(byEmail) != fmt.Sprint(map[string]string{"ann@x.io": a.ID}) {
		t.Fatalf("by e-mail: got %v", byEmail)
	}
	if fmt.Sprint(byPhone) != fmt.Sprint(map[string]string{"111": a.ID, "222": b.ID}) {
		t.Fatalf("by phone: got %v", byPhone)
	}
	byEmail, byPhone, err = s.ContactMatches(ctx, store.DefaultOrg, nil, nil)
	if err != nil || len(byEmail) != 0 || len(byPhone) != 0 {
		t.Fatalf("no keys: got %v %v %v", byEmail, byPhone, err)
	}
	many := make([]string, 1200) // more than one IN list
	for i := range many {
		many[i] = fmt.Sprintf("k%d", i)
	}
	many[1100] = "ann@x.io"
	if byEmail, _, err = s.ContactMatches(ctx, store.DefaultOrg, many, nil); err != nil || byEmail["ann@x.io"] != a.ID {
		t.Fatalf("many keys: got %v, %v", byEmail, err)
	}
}

// contactsCapConcurrent: batches of one owner racing (as from several
// nodes) never take the address book past its cap together.
func contactsCapConcurrent(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "alice", "", ""))
	const writers, per, capN = 8, 3, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0 // guarded by mu
	for w := range writers {
		wg.Go(func() {
			cs := make([]store.Contact, per)
			for i := range cs {
				cs[i] = newContact(u, fmt.Sprintf("w%d-%d", w, i), time.Now().UTC(), nil, nil)
			}
			err := s.AddContacts(ctx, u.ID, cs, capN)
			switch {
			case err == nil:
				mu.Lock()
				stored += per
				mu.Unlock()
			case !errors.Is(err, store.ErrLimit):
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	got, err := s.ListContacts(ctx, u.ID, store.ContactQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != stored || stored != capN/per*per {
		t.Fatalf("got %d contacts, %d reported stored, want %d", len(got), stored, capN/per*per)
	}
}
