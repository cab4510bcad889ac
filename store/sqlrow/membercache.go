package sqlrow

import (
	"slices"
	"sync"

	"github.com/samagate/samagate/store"
)

// MemberCache keeps the member lists a commit reads, keyed by the
// conversation's members_version, so that a commit to a conversation whose
// members did not change reads one row of it instead of every member (the
// member read was 38 % of a message commit on SQLite, issue 11).
//
// It is correct without invalidation: the version is read inside the
// commit's transaction, and a trigger of the schema sets it from a
// database-wide counter whenever a member row of the conversation is
// inserted, updated or deleted, or the conversation is made, so a version
// names one member list for good, whoever changed it (another node, an
// admin path, a cascade). An entry is kept only after its transaction
// committed (Keep), since a rolled back transaction takes its counter
// values back and a later one would give them out again.
//
// Lists handed out are copies: a caller may do what it likes with them.
type MemberCache struct {
	mu    sync.Mutex
	m     map[string]cachedMembers // guarded by mu
	limit int
}

type cachedMembers struct {
	version int64
	members []store.Member
}

// MemberRead is one conversation's members as a transaction read them, to
// be kept once it commits.
type MemberRead struct {
	ConversationID string
	Version        int64
	Members        []store.Member
}

// NewMemberCache holds up to limit conversations (at least 1).
func NewMemberCache(limit int) *MemberCache {
	return &MemberCache{m: map[string]cachedMembers{}, limit: max(1, limit)}
}

// Lookup puts in out the members of every conversation of versions whose
// version the cache holds, and returns the conversations it does not hold.
func (c *MemberCache) Lookup(versions map[string]int64, out map[string][]store.Member) (missing []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cid, v := range versions {
		if e, ok := c.m[cid]; ok && e.version == v {
			if len(e.members) > 0 {
				out[cid] = slices.Clone(e.members)
			}
			continue
		}
		missing = append(missing, cid)
	}
	slices.Sort(missing)
	return missing
}

// Keep stores what a committed transaction read (a copy: the reader hands
// its lists on). When full, it forgets
// arbitrary entries (Go's map order) to make room.
func (c *MemberCache) Keep(reads []MemberRead) {
	if len(reads) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range reads {
		if _, ok := c.m[r.ConversationID]; !ok && len(c.m) >= c.limit {
			for k := range c.m {
				delete(c.m, k)
				break
			}
		}
		c.m[r.ConversationID] = cachedMembers{version: r.Version, members: slices.Clone(r.Members)}
	}
}
