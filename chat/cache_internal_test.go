package chat

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/samagate/samagate/store"
)

// cacheEntry makes the entry of a conversation with n members.
func cacheEntry(c *memberCache, cid string, n int) *convEntry {
	return c.entry(conversationOf(cid, n))
}

// conversationOf is a conversation with n members (private for 2).
func conversationOf(cid string, n int) (*store.Conversation, []store.Participant) {
	cv := &store.Conversation{ID: cid, OrgID: store.DefaultOrg, Type: store.TypeGroup, OwnerID: store.NewID()}
	ps := make([]store.Participant, n)
	for i := range ps {
		ps[i].UserID = fmt.Sprintf("%024x", i)
	}
	if n == 2 {
		cv.Type, cv.OpponentID = store.TypePrivate, ps[1].UserID
	}
	return cv, ps
}

// TestMemberCacheBounded: however many conversations pass through it, the
// cache holds at most its bound, and the conversations used lately stay.
func TestMemberCacheBounded(t *testing.T) {
	const limit = 1024
	c := newMemberCache(limit)
	hot := cacheEntry(c, "hot", 3)
	c.put(hot, c.generation("hot"))
	for i := range 50 * limit {
		cid := fmt.Sprint("c", i)
		c.put(cacheEntry(c, cid, 2), c.generation(cid))
		if i%100 == 0 && c.get("hot") == nil {
			t.Fatalf("after %d others: the conversation in use was dropped", i)
		}
	}
	if n := c.size(); n > limit {
		t.Fatalf("holds %d conversations, bound %d", n, limit)
	}
	if !c.has(hot, fmt.Sprintf("%024x", 2)) || c.has(hot, fmt.Sprintf("%024x", 3)) {
		t.Fatal("membership of the hot entry")
	}
}

// TestMemberCacheGeneration: what was read before a change of the
// conversation's shard is not stored after it, and an invalidated
// conversation is gone until read again.
func TestMemberCacheGeneration(t *testing.T) {
	c := newMemberCache(1024)
	e := cacheEntry(c, "g", 3)
	gen := c.generation("g")
	c.invalidate("g") // a commit changed it while it was being read
	c.put(e, gen)
	if c.get("g") != nil {
		t.Fatal("an entry read before the change was stored")
	}
	c.put(e, c.generation("g"))
	if c.get("g") != e {
		t.Fatal("an entry read after the change was not stored")
	}
	c.invalidate("g")
	if c.get("g") != nil {
		t.Fatal("an invalidated entry is still used")
	}
}

// TestMemberCacheMemory measures what the cache holds on to, full of
// 100,000 private chats, then of 100,000 groups of 50: its maps, the
// entries and the strings they keep of what was read from the store (each
// read allocates its own).
func TestMemberCacheMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MB")
	}
	const n = 100_000
	for _, members := range []int{2, 50} {
		c := newMemberCache(4 * n) // room for all n (a shard turns when its newer half fills)
		before := heapBytes()
		for range n {
			cv, ps := conversationOf(store.NewID(), members)
			cv.OrgID = strings.Clone(cv.OrgID)
			e := c.entry(cv, ps)
			c.put(e, c.generation(e.id))
		}
		after := heapBytes()
		if c.size() != n {
			t.Fatalf("holds %d, want %d", c.size(), n)
		}
		per := (after - before) / n
		t.Logf("%d conversations of %d members: %.1f MB, %d B each", n, members, float64(after-before)/1e6, per)
		if per > 1024 {
			t.Fatalf("%d B per conversation of %d members, want at most 1 KiB", per, members)
		}
		runtime.KeepAlive(c)
	}
}

func heapBytes() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
