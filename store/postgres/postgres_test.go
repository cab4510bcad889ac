package postgres_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/samagate/samagate/internal/testenv"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// freshDB creates an empty database, dropped when the test ends, and
// returns its URL.
func freshDB(t testing.TB) string {
	t.Helper()
	return testenv.Database(t)
}

// open opens a store on a fresh database; cleanup closes it before the
// database is dropped.
func open(t *testing.T) *postgres.DB {
	t.Helper()
	return openURL(t, freshDB(t))
}

// openURL opens a store on dbURL, closed when the test ends.
func openURL(t *testing.T, dbURL string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL, MaxConns: 8})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// execOn runs one statement on its own connection to dbURL.
func execOn(t *testing.T, dbURL, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestContract(t *testing.T) {
	testenv.Lookup(t, testenv.DatabaseEnv) // skip once, not in every subtest
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// migrations reads schema_migrations and the organization count straight
// from the database, beside the store.
func migrations(t *testing.T, dbURL string) (map[string]int64, int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	rows, err := conn.Query(ctx, `SELECT name, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string]int64{}
	var name string
	var at int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &at}, func() error {
		if _, dup := applied[name]; dup {
			return errors.New("migration recorded twice: " + name)
		}
		applied[name] = at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var orgs int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&orgs); err != nil {
		t.Fatal(err)
	}
	return applied, orgs
}

// TestConcurrentOpen: nodes starting at once against one new database all
// start, each migration is applied once, and a later start applies none.
func TestConcurrentOpen(t *testing.T) {
	dbURL := freshDB(t)
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	const nodes = 4
	dbs := make([]*postgres.DB, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			dbs[i], errs[i] = postgres.Open(context.Background(), postgres.Config{URL: dbURL, MaxConns: 2})
		})
	}
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		if err := dbs[i].Close(); err != nil {
			t.Errorf("close %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	before, orgs := migrations(t, dbURL)
	if len(before) != len(files) || orgs != 1 {
		t.Fatalf("after concurrent opens: got %d migrations (%v) and %d organizations, want %d and 1",
			len(before), before, orgs, len(files))
	}
	for _, f := range files {
		if _, ok := before[filepath.ToSlash(f)]; !ok {
			t.Fatalf("migration %s not recorded: %v", f, before)
		}
	}

	time.Sleep(5 * time.Millisecond) // a re-run would record a later applied_at
	db, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(context.Background(), &store.User{ID: store.NewID(), OrgID: store.DefaultOrg,
		Login: "keep", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(context.Background(), &store.User{ID: store.NewID(), OrgID: store.DefaultOrg,
		Login: "KEEP", PasswordHash: "h"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("case-insensitive login index: got %v, want ErrConflict", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after, orgs := migrations(t, dbURL); !maps.Equal(after, before) || orgs != 1 {
		t.Fatalf("reopen: got migrations %v and %d organizations, want %v and 1", after, orgs, before)
	}
}

// TestOpenErrors: a bad or unreachable URL fails Open promptly instead of
// leaving a node waiting on a database that is not there.
func TestOpenErrors(t *testing.T) {
	for name, u := range map[string]string{
		"empty":       "",
		"malformed":   "postgres://%zz",
		"bad option":  "postgres://postgres@127.0.0.1:1/x?sslmode=bogus",
		"unreachable": "postgres://postgres@127.0.0.1:1/x?sslmode=disable",
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			db, err := postgres.Open(ctx, postgres.Config{URL: u})
			if err == nil {
				_ = db.Close()
				t.Fatalf("open %q: got nil error", u)
			}
			t.Logf("open %q: %v", u, err)
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("open %q: failed after %v, want promptly", u, d)
			}
		})
	}
}

// TestOpenTimeout: a server that accepts but never answers fails Open when
// the context ends.
func TestOpenTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			held = append(held, c) // silent: no reply to the startup message
		}
		for _, c := range held {
			_ = c.Close()
		}
	})
	defer wg.Wait()
	defer func() { _ = ln.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	db, err := postgres.Open(ctx, postgres.Config{URL: "postgres://postgres@" + ln.Addr().String() + "/x?sslmode=disable"})
	if err == nil {
		_ = db.Close()
		t.Fatal("open on a silent server: got nil error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("open on a silent server: failed after %v, want about the context's 300ms", d)
	}
}
