// Package postgres is the shared store: one PostgreSQL database that every
// node of a samagate cluster uses, so users, sessions, conversations, the
// event log and signing keys are the same wherever a client connects.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/samagate/samagate/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_xact_lock key ("samagate" in ASCII) that
// serializes migrations of nodes starting at once against one database.
const migrationLock int64 = 0x73616d6167617465

// uniqueViolation is the SQLSTATE of a unique index or constraint violation.
const uniqueViolation = "23505"

// Config locates the database and sizes the connection pool.
type Config struct {
	// URL is the libpq-style connection string or postgres:// URL. Required:
	// an empty one would silently mean libpq's defaults.
	URL string
	// MaxConns bounds the pool. Default 20.
	MaxConns int32
	// MinConns is kept open even when idle. Default 0.
	MinConns int32
	// MaxConnLifetime recycles connections (failovers, balancers). Default 1h.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle that long. Default 5m.
	MaxConnIdleTime time.Duration
}

// DB is the PostgreSQL store.
type DB struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*DB)(nil)

// Open connects to the database, checks it answers and applies the embedded
// migrations in order, so a node never serves on an older schema.
//
// Statements are prepared once per connection: the pool keeps pgx's
// default mode, QueryExecModeCacheStatement, in which each statement text
// is prepared on a connection the first time it runs there (an LRU of 512
// per connection, the URL's statement_cache_capacity) and runs by name
// afterwards, so PostgreSQL parses and plans it once. Pipelines (SendBatch:
// a commit, ResolveCommit) use the same cache: the statements of a batch
// that the connection has not prepared yet are prepared in one round trip
// before it, then every statement runs by name. Every statement of this
// store has a fixed text (lists are array parameters), so the cache never
// churns. A URL that sets default_query_exec_mode (simple_protocol for a
// pooler in transaction mode, say) turns this off: every call is parsed and
// planned again, about 1.5 times the time of a read and twice that of a
// commit (BenchmarkHotStatements; TestStatementsPrepared checks the mode).
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return nil, errors.New("open postgres: empty URL")
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	pc.MaxConns, pc.MinConns = 20, 0
	pc.MaxConnLifetime, pc.MaxConnIdleTime = time.Hour, 5*time.Minute
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if cfg.MinConns > 0 {
		pc.MinConns = cfg.MinConns
	}
	if cfg.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = cfg.MaxConnLifetime
	}
	if cfg.MaxConnIdleTime > 0 {
		pc.MaxConnIdleTime = cfg.MaxConnIdleTime
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	s := &DB{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes every connection of the pool, waiting for the ones in use to
// be released first.
func (s *DB) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers (one pooled connection, a round
// trip), for readiness checks.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// migrate applies every embedded migration not yet recorded, each in its own
// transaction.
func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.applyMigration(ctx, name); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

// applyMigration applies one migration unless recorded. The advisory lock,
// held until the transaction ends, makes concurrent nodes take turns: the
// second one finds the migration recorded and skips it.
func (s *DB) applyMigration(ctx context.Context, name string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, time.Now().UnixMilli())
		return err
	})
}

// limitArg passes a LIMIT: negative means none, as in SQLite, where
// PostgreSQL would reject it.
func limitArg(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

// mapErr turns driver errors into store errors.
func mapErr(err error) error {
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case errors.As(err, &pe) && pe.Code == uniqueViolation:
		return fmt.Errorf("%w: %s (%s)", store.ErrConflict, pe.Message, pe.ConstraintName)
	}
	return err
}

// affected reports ErrNotFound when a write matched no row.
func affected(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// mapScan maps the error of a shared row scan (sqlrow) to store errors.
func mapScan[T any](v T, err error) (T, error) { return v, mapErr(err) }

// PoolStats is a snapshot of the connection pool, for metrics.
type PoolStats struct {
	Total, Idle, Acquired int32
	// AcquireWait is the total time callers waited for a connection.
	AcquireWait time.Duration
}

// PoolStats reads the pool's counters (cheap: no round trip).
func (d *DB) PoolStats() PoolStats {
	st := d.pool.Stat()
	return PoolStats{Total: st.TotalConns(), Idle: st.IdleConns(), Acquired: st.AcquiredConns(), AcquireWait: st.AcquireDuration()}
}
