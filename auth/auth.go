// Package auth is accounts and sessions: argon2id passwords behind a
// bounded hashing queue, access JWTs bound to server-side sessions,
// rotating refresh tokens with reuse detection, second factors, signing
// keys that retire, and the throttles that make every guess (password,
// code, selection token) and every sign-up count before any work is done.
// The websocket and the HTTP side both call it, so both behave the same.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/store"
)

// Config tunes auth. The zero value works; each field's comment gives its
// default and unit.
type Config struct {
	// Issuer and Audience are the iss and aud of access tokens. Default "samagate".
	Issuer, Audience string
	// AccessTTL is the lifetime of access tokens. Default 3h (SAMA's example).
	AccessTTL time.Duration
	// AccessTTLMax caps the lifetime a login may ask for (expiresIn). Default
	// 30 days, and never below AccessTTL.
	AccessTTLMax time.Duration
	// RefreshTTL is the lifetime of refresh tokens and sessions. Default 14 days.
	RefreshTTL time.Duration
	// RefreshReuseGrace: a just-rotated refresh token presented again within
	// this window (two tabs refreshing at once) gets a fresh successor
	// instead of revoking the session. Default 10s.
	RefreshReuseGrace time.Duration
	// HashConcurrency bounds argon2id hashes running at once, so logins cannot
	// starve socket work. Default max(1, NumCPU/2).
	HashConcurrency int
	// HashQueue is how many logins may wait for a hashing slot (new hashes
	// of sign-ups and password changes: a quarter as many, served after
	// every waiting login); one more is answered 503 "Server busy. Try
	// again later." at once. Default 32.
	HashQueue int
	// HashWait is the longest a request waits for a hashing slot before it
	// is answered 503. Default 3s.
	HashWait time.Duration
	// MaxSessionsPerUser caps a user's live sessions: a login beyond it
	// ends the least recently used one (its sockets close with 4102), so
	// the owner can always log in. Negative: no cap. Default 50.
	MaxSessionsPerUser int
	// SessionCacheTTL is how long a live session read from the store may
	// answer a later connect of the same session without a read
	// (sessioncache.go). Session ends of any node drop it at once; the TTL
	// bounds what a lost announcement costs. Negative: no cache. Default 30s.
	SessionCacheTTL time.Duration
	// SessionCacheSize bounds the cached sessions (about 300 bytes each).
	// Default 100,000.
	SessionCacheSize int
	// ActivityFlush is how often users' last-disconnect times are written,
	// all in one transaction, while Run runs (activity.go). Default 1s.
	ActivityFlush time.Duration
	// PruneInterval is how often RunPruning deletes ended sessions, spent
	// refresh tokens and retired signing keys. Default 1h.
	PruneInterval time.Duration
	// Hash are the argon2id parameters; the zero value is OWASP's
	// (19 MiB, 2 passes, 1 lane). Tests use cheaper ones.
	Hash HashParams
	// Throttle limits guesses (passwords, second-factor codes) per account,
	// user and address, and sign-ups per address.
	Throttle ThrottleConfig
	// Throttler counts the attempts. Nil means one in this process's
	// memory, which is right for a single node; a cluster sets a shared one
	// (such as auth/redisthrottle, built with the same Throttle limits) so
	// an attacker cannot multiply the limits by spreading attempts over the
	// nodes. While it fails, this node's memory counts instead.
	Throttler Throttle
	// OnSessionEnd is called after sessions are revoked (logout, deletion,
	// refresh-token reuse), so live sockets of them can be closed. It must
	// not block long.
	OnSessionEnd func(ctx context.Context, e SessionEnd)
	// Observer, when set, is told the result of every password login
	// (metrics). Default nil: none.
	Observer Observer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Issuer == "" {
		c.Issuer = "samagate"
	}
	if c.Audience == "" {
		c.Audience = "samagate"
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 3 * time.Hour
	}
	if c.AccessTTLMax <= 0 {
		c.AccessTTLMax = 30 * 24 * time.Hour
	}
	c.AccessTTLMax = max(c.AccessTTLMax, c.AccessTTL)
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 14 * 24 * time.Hour
	}
	if c.RefreshReuseGrace <= 0 {
		c.RefreshReuseGrace = 10 * time.Second
	}
	if c.HashConcurrency <= 0 {
		c.HashConcurrency = max(1, runtime.NumCPU()/2)
	}
	if c.HashQueue <= 0 {
		c.HashQueue = 32
	}
	if c.HashWait <= 0 {
		c.HashWait = 3 * time.Second
	}
	if c.MaxSessionsPerUser == 0 {
		c.MaxSessionsPerUser = 50
	}
	if c.PruneInterval <= 0 {
		c.PruneInterval = time.Hour
	}
	if c.ActivityFlush <= 0 {
		c.ActivityFlush = time.Second
	}
	if c.SessionCacheTTL == 0 {
		c.SessionCacheTTL = 30 * time.Second
	}
	if c.SessionCacheSize <= 0 {
		c.SessionCacheSize = 100_000
	}
	c.Hash = c.Hash.withDefaults()
	c.Throttle = c.Throttle.WithDefaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service is the auth core.
type Service struct {
	// immutable after New
	cfg      Config
	st       store.Store
	keys     *Keys
	log      zerolog.Logger
	hashing  *hashQueue
	throttle Throttle        // shared, or local
	local    *MemoryThrottle // this node's counts; the fallback of a shared throttle
	dummy    string          // hash verified for unknown users, so timing does not tell
	sessions *sessionCache   // live sessions recently read, for connects
	tokens   *tokenCache     // access tokens verified lately (tokencache.go)
	activity *activityWriter // last-disconnect times waiting for a flush

	hashes atomic.Int64 // argon2id hashes run
}

// New builds the service.
func New(st store.Store, keys *Keys, cfg Config, log zerolog.Logger) (*Service, error) {
	if st == nil || keys == nil {
		return nil, errors.New("auth: store and keys are required")
	}
	cfg = cfg.withDefaults()
	s := &Service{
		cfg:      cfg,
		st:       st,
		keys:     keys,
		log:      log,
		hashing:  newHashQueue(cfg.HashConcurrency, cfg.HashQueue, cfg.HashWait),
		sessions: newSessionCache(cfg.SessionCacheTTL, cfg.SessionCacheSize),
		tokens:   newTokenCache(),
		activity: newActivityWriter(),
		throttle: cfg.Throttler,
		local:    NewMemoryThrottle(cfg.Throttle, cfg.Now),
	}
	if s.throttle == nil {
		s.throttle = s.local
	}
	keys.setMaxTokenLifetime(max(cfg.AccessTTLMax, selectionTTL))
	d, err := hashPassword("not a password", cfg.Hash)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s.dummy = d
	return s, nil
}

// Principal is who a socket or request acts as.
type Principal struct {
	UserID, OrgID, DeviceID, SessionID, Login string
	ExpiresAt                                 time.Time // the access token's expiry
	// SessionExpiresAt is when the principal's right to be connected ends:
	// its session's expiry, or, for an external issuer's token (no
	// session), the token's. A socket bound to it is closed then.
	SessionExpiresAt time.Time

	// epoch is the user's session-end epoch taken before the session was
	// checked (sessioncache.go); StillLive compares it. 0: not checked
	// through the cache (external tokens, logins).
	epoch uint64
}

// Grant is the result of a login: a session's tokens.
type Grant struct {
	User             *User
	Principal        Principal
	AccessToken      string
	AccessExpiresAt  time.Time
	AccessTTL        time.Duration // lifetime of AccessToken
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// SessionEnd says which sessions ended and why (Reason: "logout",
// "deleted", "revoked").
type SessionEnd struct {
	UserID, OrgID   string
	DeviceID        string // "" = every device of the user
	SessionID       string // set: only this session
	ExceptSessionID string // set: every session but this one
	Reason          string
}

// User is the public wire user object (sama-reference.md §2.9): never
// hashes, organization or device ids. _id and native_id carry the same value.
type User struct {
	NativeID       string          `json:"native_id"`
	ID             string          `json:"_id"`
	Login          string          `json:"login"`
	Email          string          `json:"email,omitempty"`
	Phone          string          `json:"phone,omitempty"`
	RecentActivity int64           `json:"recent_activity,omitempty"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	FirstName      string          `json:"first_name,omitempty"`
	LastName       string          `json:"last_name,omitempty"`
	AvatarObject   json.RawMessage `json:"avatar_object,omitempty"`

	created time.Time // for CreatedUnix; not on the wire
}

// isoTime is SAMA's created_at/updated_at format (JS Date JSON).
const isoTime = "2006-01-02T15:04:05.000Z"

func publicUser(u *store.User) *User {
	return &User{
		NativeID:       u.ID,
		ID:             u.ID,
		Login:          u.Login,
		Email:          u.Email,
		Phone:          u.Phone,
		RecentActivity: u.RecentActivity,
		CreatedAt:      u.CreatedAt.UTC().Format(isoTime),
		UpdatedAt:      u.UpdatedAt.UTC().Format(isoTime),
		FirstName:      u.FirstName,
		LastName:       u.LastName,
		AvatarObject:   u.AvatarObject,
		created:        u.CreatedAt,
	}
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// SessionEnded is told of a session end announced by another node: the
// user's cached sessions are forgotten before that node's sockets close,
// so a revoked session cannot connect here from the cache.
func (s *Service) SessionEnded(e SessionEnd) { s.sessions.forgetUser(e.UserID) }

// endSessions forgets the user's cached sessions, then tells the hook (the
// gateway closes the sockets, here and on the other nodes).
func (s *Service) endSessions(ctx context.Context, e SessionEnd) {
	s.sessions.forgetUser(e.UserID)
	if s.cfg.OnSessionEnd != nil {
		s.cfg.OnSessionEnd(ctx, e)
	}
}
