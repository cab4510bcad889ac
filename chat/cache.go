package chat

import (
	"hash/maphash"
	"slices"
	"sync"

	"github.com/samagate/samagate/store"
)

// cacheShards spreads the membership cache over locks, so that senders of
// different conversations rarely wait for each other.
const cacheShards = 64

// memberCache answers "is this user a member of this conversation of this
// organization" for the write paths' pre-checks (message, read mark,
// system message, typing) without a read, for the conversations used
// lately. It is never the last word: every commit it lets through checks
// its sender again inside the transaction (store.Batch.Require), so an
// entry that is out of date costs a refused commit (403), never a write by
// a non-member. To be usually right, it forgets a conversation as soon as
// this node learns of a commit that changed it (its own commits, through
// the committer; the other nodes', through Service.Observe), and it never
// uses an entry read before such a commit (the shard's generation).
//
// It holds the users who are members, as 64-bit hashes: a user it does not
// hold is looked up again (so a member added on another node can send at
// once), and a false "member" from a hash collision is refused by the
// commit. Bounded: at most max conversations, kept in two generations per
// shard (the entries used since the last turn and those of the turn
// before); an entry of the older one is moved up when used, the older one
// is dropped when the newer one fills, which keeps the conversations used
// lately at a map operation per use.
type memberCache struct {
	seed     maphash.Seed
	perShard int // entries of one shard's newer generation before it turns
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.Mutex
	cur, old map[string]*convEntry
	// gen counts the shard's invalidations: a reader that began before one
	// must not store what it read.
	gen uint64
}

// convEntry is what the cache holds of a conversation; immutable once
// made (a change replaces it).
type convEntry struct {
	id, org, typ    string
	owner, opponent string
	members         []uint64 // hashes of the member ids, sorted
	// posters are a channel's owner and admins, by id (exact, unlike
	// members): only they write into it. Nil for other types.
	posters []string
}

// newMemberCache holds at most limit conversations (at least two per
// shard).
func newMemberCache(limit int) *memberCache {
	c := &memberCache{seed: maphash.MakeSeed(), perShard: max(1, limit/cacheShards/2)}
	for i := range c.shards {
		c.shards[i].cur, c.shards[i].old = map[string]*convEntry{}, map[string]*convEntry{}
	}
	return c
}

func (c *memberCache) shard(cid string) *cacheShard {
	return &c.shards[maphash.String(c.seed, cid)%cacheShards]
}

// entry makes the entry of conversation cv with members ps.
func (c *memberCache) entry(cv *store.Conversation, ps []store.Participant) *convEntry {
	e := &convEntry{id: cv.ID, org: cv.OrgID, typ: cv.Type, owner: cv.OwnerID, opponent: cv.OpponentID,
		members: make([]uint64, 0, len(ps))}
	for _, p := range ps {
		e.members = append(e.members, maphash.String(c.seed, p.UserID))
		if cv.Type == store.TypeChannel && (p.Role == store.RoleOwner || p.Role == store.RoleAdmin) {
			e.posters = append(e.posters, p.UserID)
		}
	}
	slices.Sort(e.members)
	return e
}

// has reports whether e holds userID as a member.
func (c *memberCache) has(e *convEntry, userID string) bool {
	_, ok := slices.BinarySearch(e.members, maphash.String(c.seed, userID))
	return ok
}

// get returns the entry of cid, nil when there is none.
func (c *memberCache) get(cid string) *convEntry {
	s := c.shard(cid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cur[cid]; ok {
		return e
	}
	e, ok := s.old[cid]
	if ok {
		delete(s.old, cid)
		s.putLocked(cid, e, c.perShard)
	}
	return e
}

// generation is what a reader of cid records before it reads the store,
// for put.
func (c *memberCache) generation(cid string) uint64 {
	s := c.shard(cid)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// put stores e unless a conversation of its shard was invalidated since
// gen (what e was read from may be older than the change).
func (c *memberCache) put(e *convEntry, gen uint64) {
	s := c.shard(e.id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	delete(s.old, e.id)
	s.putLocked(e.id, e, c.perShard)
}

func (s *cacheShard) putLocked(cid string, e *convEntry, perShard int) {
	if _, ok := s.cur[cid]; !ok && len(s.cur) >= perShard {
		s.old, s.cur = s.cur, make(map[string]*convEntry, perShard)
	}
	s.cur[cid] = e
}

// invalidate forgets cid, and makes every read of its shard begun before
// now unfit to be stored.
func (c *memberCache) invalidate(cid string) {
	s := c.shard(cid)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cur, cid)
	delete(s.old, cid)
	s.gen++
}

// size is how many conversations the cache holds.
func (c *memberCache) size() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.cur) + len(s.old)
		s.mu.Unlock()
	}
	return n
}
