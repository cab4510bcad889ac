package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/storetest"
)

// TestStatementsPrepared: the pool runs in pgx's default mode,
// QueryExecModeCacheStatement, which prepares every statement once per
// connection (an LRU of 512 per connection) and runs it by name after:
// plain queries and the statements of a pipelined commit alike. After a
// message and a connect on a one-connection pool, the commit's statements
// and the reads are among the connection's prepared statements.
func TestStatementsPrepared(t *testing.T) {
	dbURL := freshDB(t)
	db, err := postgres.Open(context.Background(), postgres.Config{URL: dbURL, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	pool := postgres.Pool(db)
	if mode := pool.Config().ConnConfig.DefaultQueryExecMode; mode != pgx.QueryExecModeCacheStatement {
		t.Fatalf("query exec mode %v, want cache_statement", mode)
	}
	for _, h := range storetest.HotPaths(t, db) {
		if err := h.Run(0); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
	}
	rows, err := pool.Query(context.Background(), `SELECT statement FROM pg_prepared_statements`)
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"SELECT 1 FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE", // the commit's first statement
		"INSERT INTO commits (seq, at, changed)",
		"INSERT INTO messages",
		"INSERT INTO events",
		"UPDATE conversations SET updated_at",
		"WITH restored AS", // the members read with the sender's check
		"FROM conversations c WHERE c.org_id",
		"FROM participants",
		"FROM sessions WHERE id",
		"FROM users WHERE org_id",
	} {
		found := false
		for _, p := range prepared {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("not prepared on the connection: %q", want)
		}
	}
	t.Logf("%d statements prepared on the pool's one connection", len(prepared))
}

// BenchmarkHotStatements runs each store call of the message and connect
// paths with pgx's default mode (statements prepared once per connection)
// and with default_query_exec_mode=exec (parsed and planned by the server
// on every call), on one database, in the same run:
//
//	make test ARGS="-run '^$' -bench HotStatements -benchmem ./store/postgres/"
func BenchmarkHotStatements(b *testing.B) {
	dbURL := freshDB(b)
	unprepared, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	q := unprepared.Query()
	q.Set("default_query_exec_mode", "exec")
	unprepared.RawQuery = q.Encode()
	var hots [2][]storetest.Hot
	for i, u := range []string{unprepared.String(), dbURL} {
		db, err := postgres.Open(context.Background(), postgres.Config{URL: u, MaxConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		hots[i] = storetest.HotPaths(b, db)
	}
	for n := range hots[0] {
		for i, prepared := range []bool{false, true} {
			h := hots[i][n]
			b.Run(fmt.Sprintf("%s/prepared=%v", h.Name, prepared), func(b *testing.B) {
				if err := h.Run(0); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := range b.N {
					if err := h.Run(i); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
