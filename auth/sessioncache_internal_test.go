package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// TestSessionCacheBounds: the cache never holds more than its size;
// expired entries go first; forgetting a user drops exactly its entries
// and refuses a read taken before.
func TestSessionCacheBounds(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newSessionCache(time.Minute, 1000)
	put := func(id, user string, at time.Time) {
		c.put(&store.Session{ID: id, UserID: user}, c.epoch(user), at)
	}
	for i := range 5000 {
		put(fmt.Sprintf("s%d", i), fmt.Sprintf("u%d", i%50), now)
		if n := c.size(); n > 1000 {
			t.Fatalf("after %d puts: %d entries, want at most 1000", i+1, n)
		}
	}
	later := now.Add(2 * time.Minute) // everything cached so far has expired
	put("fresh", "u1", later)
	if n := c.size(); n != 1 {
		t.Fatalf("a put into a full cache of expired entries: %d left, want 1 (only the new one)", n)
	}
	if _, ok := c.get("fresh", later.Add(time.Minute)); ok {
		t.Fatal("an entry answered at its TTL")
	}

	put("a1", "ann", later)
	put("a2", "ann", later)
	put("b1", "ben", later)
	stale := c.epoch("ann") // a read of ann's session begins
	c.forgetUser("ann")
	for _, id := range []string{"a1", "a2"} {
		if _, ok := c.get(id, later); ok {
			t.Fatalf("%s answered after its user was forgotten", id)
		}
	}
	if _, ok := c.get("b1", later); !ok {
		t.Fatal("forgetting ann dropped ben's entry")
	}
	c.put(&store.Session{ID: "a3", UserID: "ann"}, stale, later)
	if _, ok := c.get("a3", later); ok {
		t.Fatal("a read that raced the user's session end was kept")
	}
	if len(c.users["ann"]) != 0 || len(c.users["ben"]) != 1 {
		t.Fatalf("user index: %v", c.users)
	}
}
