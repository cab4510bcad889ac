package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/samagate/samagate/store"
)

// foldedIdentifiers: logins and e-mails are unique and found by the same
// case-insensitive key on every backend, non-ASCII included (sqlrow.Fold:
// "Äsa" is "äSA", "ΣΟΦΙΑ" is "σοφια"; "straße" is not "STRASSE", one rune
// never folds into two).
func foldedIdentifiers(t *testing.T, s store.Store) {
	cases := []struct {
		stored, typed string
		same          bool
	}{
		{"Äsa", "äSA", true},
		{"ΣΟΦΙΑ", "σοφια", true},
		{"Νικόλαος", "ΝΙΚΌΛΑΟΣ", true},
		{"ΟΔΥΣΣΕΑΣ", "οδυσσεας", true}, // final sigma
		{"Ǆemal", "ǆemal", true},
		{"STRAẞE", "straße", true},
		{"Ёжик", "ёЖИК", true},
		{"Maße", "MASSE", false},
		{"Åke", "Ake", false},
	}
	for _, c := range cases {
		u := mustCreate(t, s, newUser(store.DefaultOrg, c.stored, "", ""))
		got, err := s.UserByLogin(ctx, store.DefaultOrg, c.typed)
		switch {
		case c.same && (err != nil || got.ID != u.ID):
			t.Errorf("login %q typed as %q: got %v, %v; want the user", c.stored, c.typed, got, err)
		case !c.same && !errors.Is(err, store.ErrNotFound):
			t.Errorf("login %q typed as %q: got %v, %v; want ErrNotFound", c.stored, c.typed, got, err)
		}
		dup := newUser(store.DefaultOrg, c.typed, "", "")
		err = s.CreateUser(ctx, dup)
		switch {
		case c.same && !errors.Is(err, store.ErrConflict):
			t.Errorf("sign-up %q beside %q: got %v, want ErrConflict", c.typed, c.stored, err)
		case !c.same && err != nil:
			t.Errorf("sign-up %q beside %q: got %v, want a second user", c.typed, c.stored, err)
		}
		if got, err := s.UsersByIdentifier(ctx, c.typed, 10); c.same && (err != nil || len(got) != 1 || got[0].ID != u.ID) {
			t.Errorf("identifier %q: got %v, %v; want %q", c.typed, got, err, c.stored)
		}
	}
	// E-mails and phones fold alike; an e-mail is found by UserByLogin.
	e := mustCreate(t, s, newUser(store.DefaultOrg, "ernst", "Ärger@Beispiel.DE", "+49ⅠⅡ"))
	if got, err := s.UserByLogin(ctx, store.DefaultOrg, "ärger@beispiel.de"); err != nil || got.ID != e.ID {
		t.Errorf("e-mail in other case: got %v, %v", got, err)
	}
	for name, u := range map[string]*store.User{
		"e-mail": newUser(store.DefaultOrg, "ernst2", "ÄRGER@beispiel.de", ""),
		"phone":  newUser(store.DefaultOrg, "ernst3", "", "+49ⅰⅱ"),
	} {
		if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate %s in other case: got %v, want ErrConflict", name, err)
		}
	}
	// Renaming into a taken key conflicts too.
	e.Login = "äsa"
	if err := s.UpdateUser(ctx, e); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename to a taken login: got %v, want ErrConflict", err)
	}
}

// foldedSearch: the search prefix folds like logins, on login, first and
// last name.
func foldedSearch(t *testing.T, s store.Store) {
	a := mustCreate(t, s, newUser(store.DefaultOrg, "Ölaf", "", ""))
	b := newUser(store.DefaultOrg, "zed", "", "")
	b.FirstName, b.LastName = "Σωκράτης", "Ärmel"
	mustCreate(t, s, b)
	cases := []struct {
		prefix string
		want   []string
	}{
		{"öL", []string{a.Login}},
		{"ΣΩΚ", []string{"zed"}},
		{"ärm", []string{"zed"}},
		{"OL", nil},
	}
	for _, c := range cases {
		got, err := s.SearchUsers(ctx, store.DefaultOrg, store.UserQuery{Prefix: c.prefix, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(loginsOf(got), sorted(c.want)) {
			t.Errorf("search %q: got %v, want %v", c.prefix, loginsOf(got), c.want)
		}
	}
}

// userTaken: a sign-up is checked against logins, e-mails and phones
// before any hash, folded, within the organization, never against itself.
func userTaken(t *testing.T, s store.Store) {
	u := mustCreate(t, s, newUser(store.DefaultOrg, "Tomás", "tomas@x.io", "555"))
	cases := []struct {
		name                        string
		except, login, email, phone string
		want                        bool
	}{
		{"login, other case", "", "TOMÁS", "", "", true},
		{"e-mail", "", "fresh", "TOMAS@x.io", "", true},
		{"phone", "", "fresh", "", "555", true},
		{"login is not an e-mail", "", "tomas@x.io", "", "", false},
		{"nothing taken", "", "fresh", "fresh@x.io", "556", false},
		{"empty values", "", "", "", "", false},
		{"itself", u.ID, "tomás", "tomas@x.io", "555", false},
	}
	for _, c := range cases {
		got, err := s.UserTaken(ctx, store.DefaultOrg, c.except, c.login, c.email, c.phone)
		if err != nil || got != c.want {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if got, err := s.UserTaken(ctx, "other-org", "", "tomás", "", ""); err != nil || got {
		t.Errorf("other organization: got %v, %v; want false", got, err)
	}
}
