package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store/sqlrow"
	"github.com/samagate/samagate/store/storetest"
)

// TestFoldFunction: PostgreSQL's samagate_fold is sqlrow.Fold, rune for
// rune over Unicode planes 0 and 1 (every rune the table maps is there),
// whatever the database's locale; the migration carries exactly
// sqlrow.FoldPairs.
func TestFoldFunction(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("migrations", "0012_auth_hardening.sql"))
	if err != nil {
		t.Fatal(err)
	}
	from, to := sqlrow.FoldPairs()
	if !strings.Contains(string(body), "'"+from+"',\n'"+to+"')") {
		t.Fatal("migration 0012's translate() table is not sqlrow.FoldPairs")
	}
	dbURL := freshDB(t)
	openURL(t, dbURL) // migrates
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var b strings.Builder
	checked := 0
	flush := func() {
		var got string
		if err := conn.QueryRow(ctx, `SELECT samagate_fold($1)`, b.String()).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := sqlrow.Fold(b.String()); got != want {
			for i, w := range []rune(want) {
				if g := []rune(got); i >= len(g) || g[i] != w {
					t.Fatalf("samagate_fold(%U) in PostgreSQL differs from Go's %U", []rune(b.String())[i], w)
				}
			}
			t.Fatalf("samagate_fold differs from Go (lengths %d, %d)", len(got), len(want))
		}
		b.Reset()
	}
	for r := rune(1); r < 0x20000; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		b.WriteRune(r)
		checked++
		if checked%8192 == 0 {
			flush()
		}
	}
	flush()
	t.Logf("samagate_fold equals sqlrow.Fold on %d runes", checked)
}

// TestFoldMigration: a database at schema 0011 whose accounts lower() told
// apart and Fold does not migrates to folded identifiers: the older
// account of each pair is kept, the newer renamed (storetest.LegacyUsers).
func TestFoldMigration(t *testing.T) {
	dbURL := freshDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
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
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, 1)`, filepath.ToSlash(f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range storetest.LegacyUsers {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	storetest.CheckLegacyUsers(t, openURL(t, dbURL))
}
