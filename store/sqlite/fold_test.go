package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/samagate/samagate/store/storetest"
)

// TestFoldMigration: a database at schema 0011 whose accounts differ only
// in a case NOCASE did not fold migrates to folded identifiers: the older
// account of each pair is kept, the newer renamed (storetest.LegacyUsers).
func TestFoldMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samagate.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if filepath.Base(f) >= "0012" {
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
	// NOCASE let both of a pair in; the SQLite-only pair shows it.
	data := append([]string{`INSERT INTO users (id, org_id, login, password_hash, created_at, updated_at) VALUES
		('bbbbbbbbbbbbbbbbbbbbb001', 'default', 'Äsa', 'h', 1000, 1000), ('bbbbbbbbbbbbbbbbbbbbb002', 'default', 'äsa', 'h', 2000, 2000)`},
		storetest.LegacyUsers...)
	for _, q := range data {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db := open(t, path)
	defer db.Close()
	storetest.CheckLegacyUsers(t, db)
	if u, err := db.UserByLogin(t.Context(), "default", "ÄSA"); err != nil || u.Login != "Äsa" {
		t.Fatalf("Äsa after the migration: got %v, %v", u, err)
	}
}
