package auth

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samagate/samagate/store"
)

// sessionCache keeps recently read live sessions, so a device that
// reconnects (a flaky network, a reloaded tab, a node restart) is
// authenticated without a database read. It is never the only guard of a
// revocation:
//
//   - every session end of this node forgets the user's entries before the
//     gateway is told (Service.endSessions), and a session end announced by
//     another node does the same (Service.SessionEnded), so an entry of a
//     revoked session does not outlive the announcement;
//   - a read that raced a session end is not kept: each user hashes to an
//     epoch, bumped on every end, and an entry is stored only if its
//     user's epoch did not move between before the read and after it;
//   - every entry expires after SessionCacheTTL, which bounds what a lost
//     announcement (a Redis outage) can cost.
//
// Expiry and revocation times are checked on every use, as for a read.
type sessionCache struct {
	ttl  time.Duration // 0: the cache is off
	max  int
	seed maphash.Seed

	epochs [sessionEpochs]atomic.Uint64

	mu      sync.Mutex
	entries map[string]cachedSession // by session id; guarded by mu
	users   map[string][]string      // user id -> ids of its entries; guarded by mu
}

// sessionEpochs is how many epoch slots users hash to: a collision only
// costs a miss.
const sessionEpochs = 4096

type cachedSession struct {
	sess   store.Session
	loaded time.Time
}

func newSessionCache(ttl time.Duration, max int) *sessionCache {
	return &sessionCache{ttl: ttl, max: max, seed: maphash.MakeSeed(),
		entries: map[string]cachedSession{}, users: map[string][]string{}}
}

// epoch is the current epoch of userID's slot; pass it to put.
func (c *sessionCache) epoch(userID string) uint64 {
	return c.epochs[maphash.String(c.seed, userID)%sessionEpochs].Load()
}

// get returns a copy of the cached session id, if it was read less than
// the TTL before now.
func (c *sessionCache) get(id string, now time.Time) (*store.Session, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || now.Sub(e.loaded) >= c.ttl || now.Before(e.loaded) {
		return nil, false
	}
	sess := e.sess
	return &sess, true
}

// put keeps sess, read at now, unless a session end of its user came
// since epoch was taken (before the read).
func (c *sessionCache) put(sess *store.Session, epoch uint64, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch(sess.UserID) != epoch {
		return
	}
	if _, ok := c.entries[sess.ID]; !ok {
		if len(c.entries) >= c.max {
			c.evict(now)
		}
		c.users[sess.UserID] = append(c.users[sess.UserID], sess.ID)
	}
	c.entries[sess.ID] = cachedSession{sess: *sess, loaded: now}
}

// drop deletes entry id of userID. Caller holds mu.
func (c *sessionCache) drop(id, userID string) {
	delete(c.entries, id)
	ids := c.users[userID]
	for i, x := range ids {
		if x == id {
			ids[i] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
			break
		}
	}
	if len(ids) == 0 {
		delete(c.users, userID)
	} else {
		c.users[userID] = ids
	}
}

// evict drops expired entries, or, when none has expired, an arbitrary
// eighth of them (map order), so a full cache costs one pass per eighth.
func (c *sessionCache) evict(now time.Time) {
	n := 0
	for id, e := range c.entries {
		if now.Sub(e.loaded) >= c.ttl {
			c.drop(id, e.sess.UserID)
			n++
		}
	}
	if n > 0 {
		return
	}
	left := max(1, len(c.entries)/8)
	for id, e := range c.entries {
		if left == 0 {
			break
		}
		c.drop(id, e.sess.UserID)
		left--
	}
}

// touched records a new last-used time of a cached session.
func (c *sessionCache) touched(id string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		e.sess.LastUsedAt = at
		c.entries[id] = e
	}
}

// forgetUser drops every entry of userID and bumps its epoch, so that a
// read already under way is not kept either.
//
// The epoch moves even with the cache off: Service.StillLive uses it to
// catch a session end that raced a socket's bind.
func (c *sessionCache) forgetUser(userID string) {
	c.epochs[maphash.String(c.seed, userID)%sessionEpochs].Add(1)
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.users[userID] {
		delete(c.entries, id)
	}
	delete(c.users, userID)
}

// size is the number of entries (tests).
func (c *sessionCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
