package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the prepared statements of one database. Only queries
// of fixed text go through them (a query built per call, such as an IN list
// of its arguments' length, runs unprepared), so the bound is never reached
// in practice; it keeps a mistake from growing the cache without end.
const maxPrepared = 256

// stmts prepares each fixed query once per database: SQLite parses and
// plans a statement when it is prepared, which was a large share of the CPU
// of the message path when every call prepared its statement again
// (issue 11). database/sql keeps a prepared statement per connection of the
// pool and prepares it on a connection the first time it runs there; inside
// a transaction, Tx.StmtContext reuses the one of the transaction's
// connection. The driver (modernc.org/sqlite) keeps the compiled statement
// of a single-statement query and resets it after each use.
type stmts struct {
	db *sql.DB

	mu     sync.RWMutex
	byText map[string]*sql.Stmt // guarded by mu
	off    bool                 // guarded by mu: run everything unprepared (benchmarks' baseline)
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db, byText: map[string]*sql.Stmt{}} }

// get returns the prepared statement of query, preparing it on first use;
// nil when it cannot (the caller then runs the query unprepared, which
// reports the same error if the query is wrong).
func (c *stmts) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.byText[query]
	off := c.off
	c.mu.RUnlock()
	if ok || off {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.byText[query]; ok || c.off {
		return st
	}
	if len(c.byText) >= maxPrepared {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.byText[query] = st
	return st
}

// setPrepared turns preparing on or off (off closes what is prepared).
func (c *stmts) setPrepared(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = !on
	if !on {
		c.closeLocked()
	}
}

// close closes every prepared statement.
func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *stmts) closeLocked() {
	for q, st := range c.byText {
		_ = st.Close()
		delete(c.byText, q)
	}
}

// queryRow runs a query of fixed text, prepared.
func (s *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmts.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// query runs a query of fixed text, prepared.
func (s *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmts.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// rows runs a query: prepared when its text is fixed, else (built per
// call, such as an IN list) as it is.
func (s *DB) rows(ctx context.Context, fixed bool, q string, args ...any) (*sql.Rows, error) {
	if fixed {
		return s.query(ctx, q, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}

// exec runs a statement of fixed text, prepared.
func (s *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s.writes.Add(1)
	if st := s.stmts.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, query, args...)
}

// wtx is a transaction whose ExecContext, QueryContext and QueryRowContext
// run fixed queries prepared: each statement of the database is bound to
// the transaction once (Tx.StmtContext) and reused for the rest of it.
type wtx struct {
	*sql.Tx
	st    *stmts
	bound map[*sql.Stmt]*sql.Stmt
}

// begin starts a write transaction (the DSN's _txlock=immediate).
func (s *DB) begin(ctx context.Context) (*wtx, error) {
	s.writes.Add(1)
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &wtx{Tx: t, st: s.stmts}, nil
}

// stmt is query's prepared statement bound to the transaction, nil when
// there is none.
func (t *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	st := t.st.get(ctx, query)
	if st == nil {
		return nil
	}
	if b, ok := t.bound[st]; ok {
		return b
	}
	if t.bound == nil {
		t.bound = map[*sql.Stmt]*sql.Stmt{}
	}
	b := t.Tx.StmtContext(ctx, st)
	t.bound[st] = b
	return b
}

// ExecContext runs a statement of fixed text in the transaction, prepared.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query of fixed text in the transaction, prepared.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of fixed text in the transaction, prepared.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
