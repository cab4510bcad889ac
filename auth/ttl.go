package auth

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/samagate/samagate/protocol"
)

// ttlKey carries a login's requested access-token lifetime.
type ttlKey struct{}

// WithAccessTTL asks for access tokens of lifetime d on the logins made
// with ctx (Kuzzle's expiresIn). It is request-scoped data: every login
// variant honours it without a parameter of its own. The service caps it
// at Config.AccessTTLMax.
func WithAccessTTL(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, ttlKey{}, d)
}

// accessTTL is the lifetime for a token issued under ctx.
func (s *Service) accessTTL(ctx context.Context) time.Duration {
	d, ok := ctx.Value(ttlKey{}).(time.Duration)
	if !ok || d <= 0 {
		return s.cfg.AccessTTL
	}
	return min(d, s.cfg.AccessTTLMax)
}

// maxExpiresIn bounds what ParseExpiresIn accepts (the service then caps
// it at AccessTTLMax); it keeps the arithmetic far from overflow.
const maxExpiresIn = 100 * 365 * 24 * time.Hour

var durationPart = regexp.MustCompile(`(\d+)(ms|s|m|h|d|w)`)

// ParseExpiresIn reads a requested token lifetime: a JSON number is
// milliseconds, a string is a duration such as "90m", "12h", "7d", "1d12h"
// or "500ms" (units ms, s, m, h, d, w). Zero, negative, fractional or
// malformed values are a 422 naming the field.
func ParseExpiresIn(v any) (time.Duration, error) {
	bad := protocol.Invalid("expiresIn", `'expiresIn' must be a positive number of milliseconds or a duration like "12h", "7d", "90m"`)
	switch x := v.(type) {
	case float64:
		if x < 1 || x != float64(int64(x)) || x > float64(maxExpiresIn/time.Millisecond) {
			return 0, bad
		}
		return time.Duration(x) * time.Millisecond, nil
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil { // "3600000" from a query string
			return ParseExpiresIn(float64(n))
		}
		parts := durationPart.FindAllStringSubmatchIndex(x, -1)
		if len(parts) == 0 || len(x) > 32 {
			return 0, bad
		}
		var total time.Duration
		end := 0
		for _, p := range parts {
			if p[0] != end {
				return 0, bad
			}
			end = p[1]
			u := unit(x[p[4]:p[5]])
			n, err := strconv.ParseInt(x[p[2]:p[3]], 10, 64)
			if err != nil || n > int64(maxExpiresIn/u) {
				return 0, bad
			}
			if total += time.Duration(n) * u; total > maxExpiresIn {
				return 0, bad
			}
		}
		if end != len(x) || total <= 0 {
			return 0, bad
		}
		return total, nil
	}
	return 0, bad
}

func unit(u string) time.Duration {
	switch u {
	case "ms":
		return time.Millisecond
	case "s":
		return time.Second
	case "m":
		return time.Minute
	case "h":
		return time.Hour
	case "d":
		return 24 * time.Hour
	}
	return 7 * 24 * time.Hour // "w"
}
