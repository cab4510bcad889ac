// Package redisthrottle is the throttle of auth shared by every node of a
// cluster through Redis, so spreading attempts over the nodes does not
// multiply the limits. It works on a standalone Redis and on Redis Cluster:
// each script touches the keys of one hash slot only.
package redisthrottle

import (
	"context"
	"crypto/sha256"
	_ "embed" // the Lua scripts
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/samagate/samagate/auth"
)

var (
	//go:embed lua/reserve.lua
	reserveLua string
	//go:embed lua/fail.lua
	failLua string
	//go:embed lua/refund.lua
	refundLua string
)

// Throttle is auth.Throttle on Redis. Per key it keeps an attempt counter
// that expires a window after its first attempt, and a block key that
// expires Block after a failure used the last attempt. Counting happens on
// the Redis clock, so node clocks need not agree. A reservation of several
// keys (an account and an address live in different slots) takes them one
// by one and gives back what it took when one refuses: never more than a
// key's limit gets through, at worst a concurrent attempt is refused while
// another's partial reservation is being undone.
type Throttle struct {
	rdb                   redis.UniversalClient
	cfg                   auth.ThrottleConfig
	prefix                string
	reserve, fail, refund *redis.Script
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
	return &Throttle{rdb: rdb, cfg: cfg.WithDefaults(), prefix: prefix,
		reserve: redis.NewScript(reserveLua), fail: redis.NewScript(failLua), refund: redis.NewScript(refundLua)}
}

// keys returns the counter and block key of k. The id is hashed: ids hold
// any byte, and a '}' inside the braces would end the hash tag early and
// split the pair across slots.
func (t *Throttle) keys(k auth.Key) (counter, block string) {
	sum := sha256.Sum256([]byte(k.ID))
	base := t.prefix + "th:{" + string(k.Kind) + ":" + hex.EncodeToString(sum[:]) + "}"
	return base, base + ":b"
}

// Reserve implements auth.Throttle.
func (t *Throttle) Reserve(ctx context.Context, keys ...auth.Key) error {
	for i, k := range keys {
		l := t.cfg.Limit(k.Kind)
		if l.Max <= 0 {
			continue
		}
		counter, block := t.keys(k)
		wait, err := t.reserve.Run(ctx, t.rdb, []string{counter, block}, millis(l.Window), l.Max).Int64()
		if err == nil && wait == 0 {
			continue
		}
		if uerr := t.Refund(context.WithoutCancel(ctx), keys[:i]...); uerr != nil {
			err = errors.Join(err, uerr)
		}
		if err != nil {
			return fmt.Errorf("throttle reserve: %w", err)
		}
		return &auth.ThrottledError{RetryAfter: time.Duration(wait) * time.Millisecond}
	}
	return nil
}

// Fail implements auth.Throttle.
func (t *Throttle) Fail(ctx context.Context, keys ...auth.Key) error {
	var errs []error
	for _, k := range keys {
		l := t.cfg.Limit(k.Kind)
		if l.Max <= 0 || l.Block <= 0 {
			continue
		}
		counter, block := t.keys(k)
		if err := t.fail.Run(ctx, t.rdb, []string{counter, block}, l.Max, millis(l.Block)).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("throttle fail: %w", err)
	}
	return nil
}

// Refund implements auth.Throttle.
func (t *Throttle) Refund(ctx context.Context, keys ...auth.Key) error {
	var errs []error
	for _, k := range keys {
		counter, _ := t.keys(k)
		if err := t.refund.Run(ctx, t.rdb, []string{counter}).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("throttle refund: %w", err)
	}
	return nil
}

// Clear implements auth.Throttle: it forgets the keys' counts; a block
// already set runs its course.
func (t *Throttle) Clear(ctx context.Context, keys ...auth.Key) error {
	var errs []error
	for _, k := range keys {
		counter, _ := t.keys(k)
		if err := t.rdb.Del(ctx, counter).Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("throttle clear: %w", err)
	}
	return nil
}

// millis is d in whole milliseconds, at least 1: Redis rejects or deletes
// on an expiry of 0, and a sub-millisecond setting must still expire.
func millis(d time.Duration) int64 { return max(1, d.Milliseconds()) }
