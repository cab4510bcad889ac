// Package sqlite is the embedded store: one SQLite file (WAL mode), the
// zero-config default of a single samagate node.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config locates the database. The zero value uses ./data/samagate.db.
type Config struct {
	// Path is the database file; its directory is created. Default data/samagate.db.
	Path string
	// MaxOpenConns bounds connections (readers run in parallel under WAL;
	// SQLite serializes writers). Default 8.
	MaxOpenConns int
}

// DB is the SQLite store.
type DB struct {
	db      *sql.DB
	stmts   *stmts
	members *sqlrow.MemberCache // member lists by members_version (commit.go)
	writes  atomic.Int64        // write statements and transactions begun: the checkpoints skip a quiet store
	closing sync.Once
	stopCP  chan struct{} // closed by Close: the checkpoint goroutine stops
	cpDone  chan struct{} // closed when it has
}

var _ store.Store = (*DB)(nil)

// memberCacheSize bounds the conversations whose member lists a node keeps
// for its commits (about 4 KiB for a group of 50; the entries of the
// conversations written to lately).
const memberCacheSize = 4096

// Open opens (creating if needed) the database and applies the embedded
// migrations in order.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		cfg.Path = filepath.Join("data", "samagate.db")
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = 8
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create database dir: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)",
		"wal_autocheckpoint(" + strconv.Itoa(walBackstop) + ")"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &DB{db: db, stmts: newStmts(db), members: sqlrow.NewMemberCache(memberCacheSize)}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.stopCP, s.cpDone = make(chan struct{}), make(chan struct{})
	go s.checkpoints(s.stopCP, s.cpDone)
	return s, nil
}

// Close closes the prepared statements and the database.
func (s *DB) Close() error {
	var err error
	s.closing.Do(func() {
		close(s.stopCP)
		<-s.cpDone
		s.stmts.close()
		err = s.db.Close()
	})
	return err
}

// Ping checks that the database file can be reached, for readiness checks.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// migrate applies every embedded migration not yet recorded.
func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
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

func (s *DB) applyMigration(ctx context.Context, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// mapErr turns driver errors into store errors.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case strings.Contains(err.Error(), "UNIQUE constraint failed"):
		return fmt.Errorf("%w: %s", store.ErrConflict, err.Error())
	}
	return err
}

// mapScan maps the error of a shared row scan (sqlrow) to store errors.
func mapScan[T any](v T, err error) (T, error) { return v, mapErr(err) }
