package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
	"github.com/samagate/samagate/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := open(t, filepath.Join(t.TempDir(), "sub", "samagate.db"))
		t.Cleanup(func() { _ = db.Close() })
		return db
	})
}

// TestReopen: data survives a restart and migrations are not applied twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samagate.db")
	db := open(t, path)
	u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: "keep", PasswordHash: "h"}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, path)
	defer db.Close()
	if got, err := db.UserByID(context.Background(), store.DefaultOrg, u.ID); err != nil || got.Login != "keep" {
		t.Fatalf("after reopen: got %v, %v", got, err)
	}
}
