package auth

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samagate/samagate/store/sqlite"
)

// rotatedFileKeys makes a key file in dir, rotates it once and returns the
// keys (the longest token lifetime an hour), the old and the current
// signing key, and the keys' clock, set to the current key's creation.
func rotatedFileKeys(t *testing.T, dir string) (keys *Keys, old, cur key, now *time.Time) {
	t.Helper()
	first, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	old = first.signing()
	if keys, err = RotateKeys(dir); err != nil {
		t.Fatal(err)
	}
	cur = keys.signing()
	at := cur.Created
	keys.now = func() time.Time { return at }
	keys.setMaxTokenLifetime(time.Hour)
	return keys, old, cur, &at
}

// TestRetireFileKeys (item 15): a superseded key verifies until the
// longest token lifetime (plus a minute of skew) has passed since its
// successor was created, then verifies nothing and Retire deletes it from
// the key file; the newest key is never retired.
func TestRetireFileKeys(t *testing.T) {
	dir := t.TempDir()
	keys, old, cur, now := rotatedFileKeys(t, dir)
	verifies := func(k key) bool { _, err := keys.verifyKey(k.Kid, AlgHS256); return err == nil }

	*now = cur.Created.Add(time.Hour) // tokens of the old key may still be valid
	if !verifies(old) || !verifies(cur) {
		t.Fatal("within the lifetime: both keys must verify")
	}
	if n, err := keys.Retire(context.Background()); err != nil || n != 0 {
		t.Fatalf("retire within the lifetime: got %d, %v", n, err)
	}
	*now = cur.Created.Add(time.Hour + retireSkew + time.Second)
	if verifies(old) {
		t.Fatal("the old key still verifies after the longest token lifetime")
	}
	n, err := keys.Retire(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("retire: got %d, %v; want 1", n, err)
	}
	file, err := readKeyFile(dir)
	if err != nil || len(file) != 1 || file[0].Kid != cur.Kid {
		t.Fatalf("key file after retire: got %d keys (%v), want only %s", len(file), err, cur.Kid)
	}
	*now = now.Add(365 * 24 * time.Hour)
	if !verifies(cur) {
		t.Fatal("the newest key was retired")
	}
	t.Logf("old key verified 1h after its successor, refused at 1h%v, deleted from the file; the newest kept a year later", retireSkew+time.Second)
}

// TestRetireStoreKeys (item 15): in a cluster the retired key leaves the
// shared store, and a node that loaded the keys before the rotation
// refuses it by the same rule.
func TestRetireStoreKeys(t *testing.T) {
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	stale, err := LoadOrCreateStoreKeys(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	old := stale.signing()
	rotated, err := RotateStoreKeys(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cur := rotated.signing()
	later := cur.Created.Add(2 * time.Hour)
	for _, k := range []*Keys{stale, rotated} {
		k.now = func() time.Time { return later }
		k.setMaxTokenLifetime(time.Hour)
	}
	if _, err := stale.verifyKey(cur.Kid, AlgHS256); err != nil { // reloads, learns the successor
		t.Fatalf("stale node, new kid: %v", err)
	}
	for name, k := range map[string]*Keys{"stale node": stale, "rotating node": rotated} {
		if _, err := k.verifyKey(old.Kid, AlgHS256); err == nil {
			t.Fatalf("%s verified a retired key", name)
		}
	}
	if n, err := rotated.Retire(ctx); err != nil || n != 1 {
		t.Fatalf("retire: got %d, %v", n, err)
	}
	rows, err := db.SigningKeys(ctx)
	if err != nil || len(rows) != 1 || rows[0].Kid != cur.Kid {
		t.Fatalf("store after retire: got %+v, %v", rows, err)
	}
}

// TestOldKeyFileStamped: keys of a file written before creation times get
// the time of the first load (written back), so their successors' age
// counts from then, never from earlier.
func TestOldKeyFileStamped(t *testing.T) {
	dir := t.TempDir()
	k1, _ := newKey(AlgHS256)
	k2, _ := newKey(AlgHS256)
	raw, _ := json.Marshal([]map[string]any{{"kid": k2.Kid, "secret": k2.Secret}, {"kid": k1.Kid, "secret": k1.Secret}})
	if err := os.WriteFile(filepath.Join(dir, keysFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := readKeyFile(dir)
	if len(file) != 2 || file[0].Created.Before(before.Add(-time.Second)) {
		t.Fatalf("stamped file: got %+v, want creation times of this load", file)
	}
	keys.setMaxTokenLifetime(time.Hour)
	if _, err := keys.verifyKey(k1.Kid, AlgHS256); err != nil {
		t.Fatalf("old key right after the upgrade: %v", err)
	}
}
