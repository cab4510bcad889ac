// Package redisthrottle is the login throttle of auth shared by every node
// of a cluster through Redis, so spreading attempts over the nodes does not
// multiply the limits. It works on a standalone Redis and on Redis Cluster:
// each command or script touches the keys of one hash slot only.
package redisthrottle

import (
	"context"
	"crypto/sha256"
	_ "embed" // the Lua script
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/samagate/samagate/auth"
)

//go:embed lua/fail.lua
var failLua string

// Throttle is auth.Throttle on Redis. Per account and per address it keeps
// a failure counter that expires a Window after its first failure, and a
// block key that expires Block after the limit was reached. The counting
// happens on the Redis clock, so node clocks need not agree.
type Throttle struct {
	rdb    redis.UniversalClient
	cfg    auth.ThrottleConfig
	prefix string
	fail   *redis.Script
}

var _ auth.Throttle = (*Throttle)(nil)

// New returns a Throttle on rdb with cfg's limits (unset fields get
// auth's defaults, the same the memory throttle uses). Every key starts with
// prefix; "" means "sg:", the prefix of the Redis presence backend. rdb stays
// the caller's to close.
func New(rdb redis.UniversalClient, cfg auth.ThrottleConfig, prefix string) *Throttle {
	if prefix == "" {
		prefix = "sg:"
	}
	return &Throttle{rdb: rdb, cfg: cfg.WithDefaults(), prefix: prefix, fail: redis.NewScript(failLua)}
}

// keys returns the counter and block key of kind ("a" account, "i" address)
// and id. The id is hashed: accounts hold any byte, and a '}' inside the
// braces would end the hash tag early and split the pair across slots.
func (t *Throttle) keys(kind, id string) (counter, block string) {
	sum := sha256.Sum256([]byte(id))
	base := t.prefix + "th:{" + kind + ":" + hex.EncodeToString(sum[:]) + "}"
	return base, base + ":b"
}

// Check implements auth.Throttle: it returns the longer remaining block of
// the account and the address as a *auth.ThrottledError.
func (t *Throttle) Check(ctx context.Context, account, addr string) error {
	_, accBlock := t.keys("a", account)
	ttls := []*redis.DurationCmd{}
	// One round trip; on a cluster the pipeline splits by slot.
	_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		ttls = append(ttls, p.PTTL(ctx, accBlock))
		if addr != "" {
			_, addrBlock := t.keys("i", addr)
			ttls = append(ttls, p.PTTL(ctx, addrBlock))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("throttle check: %w", err)
	}
	var wait time.Duration
	for _, c := range ttls {
		// PTTL answers -2 (no key) or -1 (no expiry, which this package
		// never writes) as negative durations; only a positive one blocks.
		wait = max(wait, c.Val())
	}
	if wait > 0 {
		return &auth.ThrottledError{RetryAfter: wait}
	}
	return nil
}

// Fail implements auth.Throttle: it counts a failure against the account
// and, when addr is set, against the address.
func (t *Throttle) Fail(ctx context.Context, account, addr string) error {
	err := t.failKey(ctx, "a", account, t.cfg.PerAccount)
	if addr != "" {
		err = errors.Join(err, t.failKey(ctx, "i", addr, t.cfg.PerAddress))
	}
	return err
}

// failKey runs fail.lua on one key pair; the pair shares a hash slot.
func (t *Throttle) failKey(ctx context.Context, kind, id string, limit int) error {
	counter, block := t.keys(kind, id)
	err := t.fail.Run(ctx, t.rdb, []string{counter, block},
		millis(t.cfg.Window), limit, millis(t.cfg.Block)).Err()
	if err != nil {
		return fmt.Errorf("throttle fail: %w", err)
	}
	return nil
}

// Succeed implements auth.Throttle: it forgets the account's failures; a
// block already set runs its course.
func (t *Throttle) Succeed(ctx context.Context, account string) error {
	counter, _ := t.keys("a", account)
	if err := t.rdb.Del(ctx, counter).Err(); err != nil {
		return fmt.Errorf("throttle succeed: %w", err)
	}
	return nil
}

// millis is d in whole milliseconds, at least 1: Redis rejects or deletes
// on an expiry of 0, and a sub-millisecond setting must still expire.
func millis(d time.Duration) int64 { return max(1, d.Milliseconds()) }
