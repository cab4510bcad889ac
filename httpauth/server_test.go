package httpauth_test

import (
	"bytes"
	"context"
	"github.com/samagate/samagate/internal/clocktest"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/httpauth"
	"github.com/samagate/samagate/store/sqlite"
)

// options are the configs a test may adjust before the server starts.
type options struct {
	http httpauth.Config
	auth auth.Config
}

// server is a real httpauth.Handler over a real auth.Service and SQLite
// store, served by httptest.
type server struct {
	url          string
	client       *http.Client
	svc          *auth.Service
	db           *sqlite.DB
	clock        *clocktest.Clock
	log          *syncBuffer // everything the handler logged
	accessTTL    time.Duration
	refreshTTL   time.Duration
	refreshGrace time.Duration
}

// newServer starts a server with cheap password hashing; tweak may adjust
// the configs.
func newServer(t *testing.T, tweak func(*options)) *server {
	t.Helper()
	clk := clocktest.New()
	o := options{auth: auth.Config{
		AccessTTL:         time.Hour,
		RefreshTTL:        24 * time.Hour,
		RefreshReuseGrace: 5 * time.Second,
		Hash:              auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1},
		Now:               clk.Now,
	}}
	if tweak != nil {
		tweak(&o)
	}

	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	keys, err := auth.NewKeys()
	if err != nil {
		t.Fatalf("new keys: %v", err)
	}
	svc, err := auth.New(db, keys, o.auth, zerolog.Nop())
	if err != nil {
		t.Fatalf("new auth: %v", err)
	}
	logs := &syncBuffer{}
	ts := httptest.NewServer(httpauth.New(svc, o.http, zerolog.New(logs)))
	t.Cleanup(ts.Close)
	client := ts.Client()
	t.Cleanup(client.CloseIdleConnections)

	return &server{
		url: ts.URL, client: client, svc: svc, db: db, clock: clk, log: logs,
		accessTTL: o.auth.AccessTTL, refreshTTL: o.auth.RefreshTTL, refreshGrace: o.auth.RefreshReuseGrace,
	}
}

// throttleAfter blocks an account after n failed logins.
func throttleAfter(o *options, n int) {
	o.auth.Throttle = auth.ThrottleConfig{PerAccount: n, PerAddress: 10 * n, Window: time.Minute, Block: 90 * time.Second}
}

// createUser signs a user up in the default organization.
func (s *server) createUser(t *testing.T, login, password string) {
	t.Helper()
	if _, err := s.svc.CreateUser(context.Background(), auth.NewUser{Login: login, Password: password}); err != nil {
		t.Fatalf("create user %s: %v", login, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
