package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
	"github.com/samagate/samagate/store/storetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t testing.TB, path string) *sqlite.DB {
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

// migrations reads schema_migrations and the organization count straight
// from the file, beside the store.
func migrations(t *testing.T, path string) (map[string]int64, int) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT name, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	applied := map[string]int64{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			t.Fatal(err)
		}
		applied[name] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var orgs int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM organizations`).Scan(&orgs); err != nil {
		t.Fatal(err)
	}
	return applied, orgs
}

// TestReopen: data survives a restart and migrations are not applied twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samagate.db")
	db := open(t, path)
	u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: "keep", Email: "keep@x.io", PasswordHash: "h"}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before, orgs := migrations(t, path)
	if len(before) == 0 || orgs != 1 {
		t.Fatalf("first open: got %d migrations, %d organizations, want some and 1", len(before), orgs)
	}
	time.Sleep(5 * time.Millisecond) // a re-run would record a later applied_at
	for i := range 2 {
		db = open(t, path)
		got, err := db.UserByLogin(context.Background(), store.DefaultOrg, "KEEP@x.io")
		if err != nil || got.ID != u.ID || got.Login != "keep" {
			t.Fatalf("reopen %d: got %v, %v, want user %s", i, got, err, u.ID)
		}
		if err := db.CreateUser(context.Background(), &store.User{ID: store.NewID(), OrgID: store.DefaultOrg,
			Login: "Keep", PasswordHash: "h"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reopen %d: unique index lost: got %v, want ErrConflict", i, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		after, orgs := migrations(t, path)
		if !maps.Equal(after, before) || orgs != 1 {
			t.Fatalf("reopen %d: got migrations %v and %d organizations, want %v and 1", i, after, orgs, before)
		}
	}
}

// TestPositionsMigration: a database at the schema before commit
// positions (0010) keeps the order of its history, read marks and event
// log through the migration, and new commits follow (storetest.LegacyData).
func TestPositionsMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samagate.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if filepath.Base(f) >= "0011" {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, 1)`, filepath.ToSlash(f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range storetest.LegacyData {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db := open(t, path)
	defer db.Close()
	storetest.CheckLegacy(t, db)
}

// TestFailedCommitKeepsNumber: SQLite rolls a failed commit's number back
// with it, so the failure is a plain error (not store.AbortedError: no
// number is burned) and the next commit takes the same number.
func TestFailedCommitKeepsNumber(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "samagate.db"))
	defer db.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	first, err := db.Commit(ctx, []*store.Batch{{}})
	if err != nil {
		t.Fatal(err)
	}
	bad := &store.Batch{Messages: []store.Message{{ID: "m", ConversationID: "missing", From: "a", CreatedAt: now, UpdatedAt: now}}}
	_, err = db.Commit(ctx, []*store.Batch{bad})
	var aborted *store.AbortedError
	if err == nil || errors.As(err, &aborted) {
		t.Fatalf("commit to a missing conversation: got %v, want a plain error", err)
	}
	if last, err := db.LastCommit(ctx); err != nil || last != first.Seq {
		t.Fatalf("last commit after a failure: got %d, %v, want %d", last, err, first.Seq)
	}
	next, err := db.Commit(ctx, []*store.Batch{{}})
	if err != nil || next.Seq != first.Seq+1 {
		t.Fatalf("next commit: got %+v, %v, want number %d", next, err, first.Seq+1)
	}
}
