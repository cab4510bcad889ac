package auth_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/internal/testenv"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/sqlite"
)

// openDB opens a fresh SQLite store in dir, closed when the test ends.
func openDB(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// envOn is newEnv with the given keys over db: several envs on one db
// are nodes of one cluster sharing the clock clk.
func envOn(t *testing.T, db store.Store, keys *auth.Keys, clk *clocktest.Clock) *env {
	t.Helper()
	e := &env{clk: clk, dir: t.TempDir()}
	cfg := auth.Config{Hash: auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}, Now: e.clock}
	var err error
	if e.svc, err = auth.New(db, keys, cfg, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	return e
}

// keysOf returns a function that fails the test on a key loading error
// and returns the keys otherwise: keysOf(t)(auth.LoadOrCreateKeys(dir)).
func keysOf(t *testing.T) func(*auth.Keys, error) *auth.Keys {
	return func(k *auth.Keys, err error) *auth.Keys {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// header returns the alg and kid of a token's header, unverified.
func header(t *testing.T, token string) (alg, kid string) {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse %q: %v", token, err)
	}
	alg, _ = tok.Header["alg"].(string)
	kid, _ = tok.Header["kid"].(string)
	return alg, kid
}

// TestRotateKeyFile: after RotateKeys a token signed before still
// verifies, and new tokens carry the new kid.
func TestRotateKeyFile(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	clk := clocktest.New()
	before := envOn(t, db, keysOf(t)(auth.LoadOrCreateKeys(dir)), clk)
	before.user(t, "alice")
	old := before.login(t, "alice", "d1")
	_, oldKid := header(t, old.AccessToken)

	keys := keysOf(t)(auth.RotateKeys(dir))
	if keys.AccessKid() == oldKid {
		t.Fatalf("rotation kept kid %s", oldKid)
	}
	after := envOn(t, db, keysOf(t)(auth.LoadOrCreateKeys(dir)), clk) // a restart reads the rotated file
	if _, err := after.svc.Authenticate(ctx, old.AccessToken, "d1"); err != nil {
		t.Fatalf("token from before the rotation: %v", err)
	}
	fresh := after.login(t, "alice", "d2")
	if alg, kid := header(t, fresh.AccessToken); kid != keys.AccessKid() || alg != auth.AlgHS256 {
		t.Fatalf("new token: got %s %s, want HS256 %s", alg, kid, keys.AccessKid())
	}
	if _, err := before.svc.Authenticate(ctx, fresh.AccessToken, "d2"); err == nil {
		t.Fatal("a node without a store verified a kid it cannot know")
	}
}

// TestRotateStoreKeys: a node loaded before another node rotated verifies
// the rotated key's tokens (it reloads on the unknown kid) and then signs
// with the new key too; tokens from before the rotation stay valid.
func TestRotateStoreKeys(t *testing.T) {
	db := openDB(t, t.TempDir())
	testRotateStoreKeys(t, db, db)
}

// TestRotateStoreKeysPostgres is TestRotateStoreKeys with the nodes on
// their own PostgreSQL pools, as in a cluster.
func TestRotateStoreKeysPostgres(t *testing.T) {
	dbURL := testenv.Database(t)
	open := func() store.Store {
		db, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	testRotateStoreKeys(t, open(), open())
}

// testRotateStoreKeys runs the rotation story with one node on db1 and the
// stale node on db2 (one database).
func testRotateStoreKeys(t *testing.T, db1, db2 store.Store) {
	clk := clocktest.New()
	a := envOn(t, db1, keysOf(t)(auth.LoadOrCreateStoreKeys(ctx, db1)), clk)
	stale := envOn(t, db2, keysOf(t)(auth.LoadOrCreateStoreKeys(ctx, db2)), clk)
	a.user(t, "alice")
	old := a.login(t, "alice", "d1")
	_, oldKid := header(t, old.AccessToken)

	rotated := keysOf(t)(auth.RotateStoreKeys(ctx, db1))
	if rotated.AccessKid() == oldKid {
		t.Fatalf("rotation kept kid %s", oldKid)
	}
	r := envOn(t, db1, rotated, clk)
	if _, err := r.svc.Authenticate(ctx, old.AccessToken, "d1"); err != nil {
		t.Fatalf("token from before the rotation: %v", err)
	}
	fresh := r.login(t, "alice", "d2")
	if _, kid := header(t, fresh.AccessToken); kid != rotated.AccessKid() {
		t.Fatalf("new token kid: got %s, want %s", kid, rotated.AccessKid())
	}
	if _, err := stale.svc.Authenticate(ctx, fresh.AccessToken, "d2"); err != nil {
		t.Fatalf("node loaded before the rotation, new kid: %v", err)
	}
	if _, kid := header(t, stale.login(t, "alice", "d3").AccessToken); kid != rotated.AccessKid() {
		t.Fatalf("stale node after reload signs with %s, want %s", kid, rotated.AccessKid())
	}
	if _, err := stale.svc.Authenticate(ctx, old.AccessToken, "d1"); err != nil {
		t.Fatalf("stale node, old kid: %v", err)
	}
}

// TestStoreKeysEdDSA: switching a cluster to EdDSA adds an Ed25519 key
// (kid "ed-...") that every node reads back as one; HS256 tokens of before
// stay valid.
func TestStoreKeysEdDSA(t *testing.T) {
	db := openDB(t, t.TempDir())
	clk := clocktest.New()
	hs := envOn(t, db, keysOf(t)(auth.LoadOrCreateStoreKeys(ctx, db)), clk)
	hs.user(t, "alice")
	old := hs.login(t, "alice", "d1")

	k1 := keysOf(t)(auth.LoadOrCreateStoreKeys(ctx, db, auth.WithAlg(auth.AlgEdDSA)))
	k2 := keysOf(t)(auth.LoadOrCreateStoreKeys(ctx, db, auth.WithAlg(auth.AlgEdDSA)))
	if k1.AccessKid() != k2.AccessKid() || !strings.HasPrefix(k1.AccessKid(), "ed-") {
		t.Fatalf("ed25519 key: got %s and %s, want one ed- kid", k1.AccessKid(), k2.AccessKid())
	}
	ed := envOn(t, db, k2, clk)
	if _, err := ed.svc.Authenticate(ctx, old.AccessToken, "d1"); err != nil {
		t.Fatalf("HS256 token after the switch: %v", err)
	}
	g := ed.login(t, "alice", "d2")
	if alg, kid := header(t, g.AccessToken); alg != auth.AlgEdDSA || kid != k1.AccessKid() {
		t.Fatalf("token: got %s %s, want EdDSA %s", alg, kid, k1.AccessKid())
	}
	if _, err := hs.svc.Authenticate(ctx, g.AccessToken, "d2"); err != nil {
		t.Fatalf("HS256 node verifying an EdDSA token of the cluster: %v", err)
	}
	r := keysOf(t)(auth.RotateStoreKeys(ctx, db, auth.WithAlg(auth.AlgEdDSA)))
	if r.AccessKid() == k1.AccessKid() || !strings.HasPrefix(r.AccessKid(), "ed-") {
		t.Fatalf("rotated ed25519 kid: got %s, was %s", r.AccessKid(), k1.AccessKid())
	}
}
