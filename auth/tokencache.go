package auth

import (
	"sync"
	"time"
)

// tokenCacheSize bounds the access tokens a node remembers as verified.
const tokenCacheSize = 4096

// tokenCache remembers the access tokens this node verified lately, so
// that the same token presented again (a client reconnecting, a device's
// tabs, a connect storm after a restart) skips the signature check and the
// decoding of its header and claims: 9 % of a node's CPU under connect
// churn (issue 11). It answers only for the exact token string it
// verified, and only while the token is unexpired and the key that signed
// it is still usable (a retired key refuses its tokens here too); anything
// else goes through the full check. It says nothing about the session: the
// session is checked on every use as before, so a revoked one is refused
// at once. Bounded: when full, an arbitrary entry makes room.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken // guarded by mu
}

type cachedToken struct {
	claims   accessClaims
	kid, alg string
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]cachedToken{}} }

// get returns a copy of token's claims if they were verified and the token
// is still unexpired at now and signed with a usable key.
func (c *tokenCache) get(token string, now time.Time, keys *Keys) (*accessClaims, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.m[token]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	if e.claims.ExpiresAt == nil || !now.Before(e.claims.ExpiresAt.Time) || !keys.usable(e.kid, e.alg) {
		c.mu.Lock()
		delete(c.m, token)
		c.mu.Unlock()
		return nil, false
	}
	out := e.claims
	return &out, true
}

// put remembers a token whose check passed. A nil cache (a Service built
// without New, in tests) remembers nothing.
func (c *tokenCache) put(token string, claims *accessClaims, kid, alg string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[token]; !ok && len(c.m) >= tokenCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[token] = cachedToken{claims: *claims, kid: kid, alg: alg}
}
