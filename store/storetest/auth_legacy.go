package storetest

import (
	"errors"
	"testing"

	"github.com/samagate/samagate/store"
)

// legacyUserID is an id of LegacyUsers.
func legacyUserID(n string) string { return "aaaaaaaaaaaaaaaaaaaaa" + n }

// LegacyUsers fill a database at schema 0011 (before folded identifiers)
// in either dialect with accounts the old rules told apart and Fold does
// not: a final sigma (lower() keeps 'ς', Fold makes it 'σ') and a long s
// ('ſ' is lower case already; Fold makes it 's'). Migration 0012 must
// keep the older account of each pair as it is and rename the newer one.
var LegacyUsers = []string{
	`INSERT INTO users (id, org_id, login, email, phone, password_hash, created_at, updated_at) VALUES
		('` + legacyUserID("001") + `', 'default', 'οδυσσεας', 'ΣΟΦΟΣ@x.io', NULL, 'h', 1000, 1000),
		('` + legacyUserID("002") + `', 'default', 'ΟΔΥΣΣΕΑΣ', 'σοφος@x.io', NULL, 'h', 2000, 2000),
		('` + legacyUserID("003") + `', 'default', 'sam', NULL, 'ſ1', 'h', 1000, 1000),
		('` + legacyUserID("004") + `', 'default', 'ſam', NULL, 's1', 'h', 3000, 3000),
		('` + legacyUserID("005") + `', 'default', 'Plain', 'plain@x.io', '42', 'h', 1000, 1000)`,
}

// CheckLegacyUsers checks a store opened (and so migrated) on LegacyUsers:
// the older account of each pair keeps its login, e-mail and phone, the
// newer one's login gets its id's last 6 characters and its clashing
// e-mail or phone is cleared; the folded keys are unique from then on.
func CheckLegacyUsers(t *testing.T, s store.Store) {
	t.Helper()
	want := map[string]struct{ login, email, phone string }{
		"001": {"οδυσσεας", "ΣΟΦΟΣ@x.io", ""},
		"002": {"ΟΔΥΣΣΕΑΣ-aaa002", "", ""},
		"003": {"sam", "", "ſ1"},
		"004": {"ſam-aaa004", "", ""},
		"005": {"Plain", "plain@x.io", "42"},
	}
	for n, w := range want {
		u, err := s.UserByID(ctx, store.DefaultOrg, legacyUserID(n))
		if err != nil || u.Login != w.login || u.Email != w.email || u.Phone != w.phone {
			t.Errorf("user %s: got %+v, %v; want login %q, e-mail %q, phone %q", n, u, err, w.login, w.email, w.phone)
		}
	}
	for typed, n := range map[string]string{"ΟΔΥΣΣΕΑΣ": "001", "Οδυσσεασ": "001", "SAM": "003", "ſAM-AAA004": "004",
		"σοφοσ@X.IO": "001", "PLAIN@x.io": "005"} {
		if u, err := s.UserByLogin(ctx, store.DefaultOrg, typed); err != nil || u.ID != legacyUserID(n) {
			t.Errorf("login %q: got %v, %v; want user %s", typed, u, err, n)
		}
	}
	for _, u := range []*store.User{newUser(store.DefaultOrg, "ΟΔΥΣΣΕΑς", "", ""), newUser(store.DefaultOrg, "x1", "Σοφος@x.io", ""),
		newUser(store.DefaultOrg, "x2", "", "S1")} {
		if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrConflict) {
			t.Errorf("sign-up %q/%q/%q after the migration: got %v, want ErrConflict", u.Login, u.Email, u.Phone, err)
		}
	}
}
