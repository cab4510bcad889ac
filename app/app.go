// Package app wires samagate together from a Config: store, auth, presence,
// the websocket gateway and the HTTP side, on one port. End-to-end tests
// start a whole gateway with New + Run on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/adminapi"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/auth/redisthrottle"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/contacts"
	"github.com/samagate/samagate/files"
	"github.com/samagate/samagate/gateway"
	"github.com/samagate/samagate/httpauth"
	"github.com/samagate/samagate/metrics"
	"github.com/samagate/samagate/presence"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/sqlite"
	"github.com/samagate/samagate/web"
)

// Config is everything samagate needs. The zero value runs a single node on
// :9001 with an SQLite database under ./data and in-memory presence;
// DatabaseURL and RedisURL make it one node of a cluster.
type Config struct {
	// Addr is the listen address for HTTP and websockets. Default ":9001" (as SAMA).
	Addr string
	// DataDir holds the SQLite database and the signing keys. Default "./data".
	DataDir string
	// DatabasePath is the SQLite file. Default <DataDir>/samagate.db.
	DatabasePath string
	// DatabaseURL, when set ("postgres://..."), stores everything in
	// PostgreSQL instead of SQLite, signing keys included, so several nodes
	// can share it.
	DatabaseURL string
	// Postgres tunes the PostgreSQL pool (its URL field is DatabaseURL).
	Postgres postgres.Config
	// RedisURL, when set, shares presence and carries events between nodes
	// through Redis: "redis://host:port/db" or a comma-separated list of
	// Redis Cluster nodes.
	RedisURL string
	// Redis tunes the Redis presence backend (its URL field is RedisURL);
	// Redis.NodeID names this node (default host name + random suffix).
	Redis presence.RedisConfig

	Gateway gateway.Config
	HTTP    httpauth.Config
	Auth    auth.Config
	Chat    chat.Config
	// Contacts bounds address books (contact_* methods).
	Contacts contacts.Config
	// Files configures attachments (files.go).
	Files FilesConfig
	// JWTAlg signs access tokens: auth.AlgHS256 (default) or auth.AlgEdDSA;
	// RotateSigningKey puts a fresh signing key in front at start;
	// ExternalJWT trusts another issuer's tokens (auth.ExternalIssuer).
	JWTAlg           string
	RotateSigningKey bool
	ExternalJWT      auth.ExternalIssuer
	// DebugAddr, when set, serves net/http/pprof under /debug/pprof/ on a
	// listener of its own (for profiles under load). Keep it on loopback or
	// a private network. Default off.
	DebugAddr string
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on a
	// listener of its own (the same one as DebugAddr when they are equal).
	// Keep it on a private network. Default off; the node counts anyway
	// (a few atomic adds per request), so turning it on needs no restart
	// of anything but the listener.
	MetricsAddr string
	// Build names the binary in samagate_build_info.
	Build metrics.BuildInfo
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":9001"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DatabasePath == "" {
		c.DatabasePath = filepath.Join(c.DataDir, "samagate.db")
	}
	return c
}

// gatewayConfig is the gateway's config. One trust decision per node: behind a
// trusted proxy (HTTP.TrustProxyHeaders, --trust-proxy) sockets are counted
// by the client address it reports, as HTTP logins are throttled by it.
func (c Config) gatewayConfig() gateway.Config {
	g := c.Gateway
	g.TrustProxyHeaders = g.TrustProxyHeaders || c.HTTP.TrustProxyHeaders
	return g
}

// App is one running samagate node.
type App struct {
	cfg Config
	log zerolog.Logger

	mu       sync.Mutex // guards the fields below
	db       backend
	cluster  *presence.Redis // nil on a single node
	throttle io.Closer       // the login throttle's Redis client; nil on a single node
	gw       *gateway.Gateway
	addr     net.Addr
	accounts *auth.Service
	chat     *chat.Service

	metrics   *metrics.Registry
	ops       []*opsServer       // the metrics and debug listeners, when set
	stopPrune context.CancelFunc // ends auth's background work (Run); nil when not running
	pruneDone chan struct{}      // closed when auth's Run has returned

	files     *files.Service     // attachments (files.go)
	local     *files.Local       // nil with S3
	s3        *files.S3          // nil on the local disk
	stopFiles context.CancelFunc // ends the unattached-file collector
	filesDone chan struct{}      // closed when the collector has returned
}

// New returns an App that is not running yet.
func New(cfg Config, log zerolog.Logger) *App {
	return &App{cfg: cfg.withDefaults(), log: log}
}

// Run opens the store, builds every part and starts serving; it returns once
// the listener is up (or on the first error). Close stops it.
func (a *App) Run(ctx context.Context) (err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gw != nil {
		return errors.New("run: already running")
	}
	cfg := a.cfg
	started := time.Now()
	defer func() {
		if err != nil {
			a.closeLocked(context.Background())
		}
	}()
	a.metrics = metrics.New(cfg.Build)
	keys, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	if pg, ok := a.db.(*postgres.DB); ok {
		a.metrics.ReadPostgresPool(func() metrics.PostgresPoolStats {
			st := pg.PoolStats()
			return metrics.PostgresPoolStats{Total: int64(st.Total), Idle: int64(st.Idle), Acquired: int64(st.Acquired),
				AcquireWaitSeconds: st.AcquireWait.Seconds()}
		})
	}

	// auth tells the gateway when a session ends; the gateway exists only
	// after auth, so the hook looks it up late.
	var gw *gateway.Gateway
	authCfg := cfg.Auth
	authCfg.Observer = a.metrics
	next := authCfg.OnSessionEnd
	authCfg.OnSessionEnd = func(ctx context.Context, e auth.SessionEnd) {
		if gw != nil {
			gw.EndSession(ctx, e)
		}
		if next != nil {
			next(ctx, e)
		}
	}
	if cfg.RedisURL != "" { // failed logins count across the cluster
		rdb, err := presence.NewRedisClient(cfg.RedisURL, cfg.Redis.Pool)
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		a.throttle = rdb
		authCfg.Throttler = redisthrottle.New(rdb, authCfg.Throttle, cfg.Redis.Prefix)
	}
	a.accounts, err = auth.New(a.db, keys, authCfg, a.log.With().Str("component", "auth").Logger())
	if err != nil {
		return fmt.Errorf("build auth: %w", err)
	}
	pctx, stopPrune := context.WithCancel(context.WithoutCancel(ctx))
	a.stopPrune, a.pruneDone = stopPrune, make(chan struct{})
	go func(done chan<- struct{}) {
		defer close(done)
		a.accounts.Run(pctx)
	}(a.pruneDone)
	// chat's committer hands every commit to the gateway's ordered release;
	// the gateway exists only after chat, so the sink looks it up late.
	if err := a.buildFiles(ctx); err != nil {
		return err
	}
	chatCfg := cfg.Chat
	chatCfg.Observer = a.metrics
	chatCfg.Attachments = a.files
	rates := adminapi.NewRates(nil) // the admin API's message rates
	chatCfg.Sink = func(c chat.Commit) {
		rates.Committed(c)
		if gw != nil {
			gw.Committed(c)
		}
	}
	if a.chat, err = chat.New(ctx, a.db, chatCfg, a.log.With().Str("component", "chat").Logger()); err != nil {
		return fmt.Errorf("build chat: %w", err)
	}
	var pres gateway.Presence = presence.NewMemory()
	if cfg.RedisURL != "" {
		rdb, err := presence.NewRedisClient(cfg.RedisURL, cfg.Redis.Pool)
		if err != nil {
			return err
		}
		hb, err := presence.NewHeartbeatClient(cfg.RedisURL)
		if err != nil {
			_ = rdb.Close()
			return err
		}
		rcfg := cfg.Redis
		rcfg.Observer = a.metrics
		if a.cluster, err = presence.NewRedis(rdb, rcfg, a.log.With().Str("component", "presence").Logger()); err != nil {
			_ = rdb.Close()
			_ = hb.Close()
			return err
		}
		a.cluster.UseHeartbeatClient(hb)
		a.metrics.ReadRedisPool(func() metrics.RedisPoolStats {
			st := rdb.PoolStats()
			return metrics.RedisPoolStats{Total: int64(st.TotalConns), Idle: int64(st.IdleConns), Stale: int64(st.StaleConns),
				Timeouts: int64(st.Timeouts)}
		})
		pres = a.cluster
	}
	gwCfg := cfg.gatewayConfig()
	gwCfg.Observer = a.metrics
	gwCfg.Contacts = contacts.New(a.db, cfg.Contacts)
	gwCfg.Files = a.files
	if a.local != nil { // uploads to the local disk come through the gateway's HTTP side
		gwCfg.MaxHTTPBodyBytes = max(gwCfg.MaxHTTPBodyBytes, a.files.MaxUploadBytes()+64<<10)
	}
	gw = gateway.New(gwCfg, a.accounts, pres, a.chat, a.log.With().Str("component", "gateway").Logger())
	a.gw = gw // closed by closeLocked if a later step fails
	a.metrics.ReadGateway(func() metrics.GatewayStats {
		st := gw.Stats()
		return metrics.GatewayStats{Unauthenticated: st.Unauthenticated, Bound: st.Bound, Users: st.Users,
			Devices: st.Devices, QueuedBytes: st.QueuedBytes, Deliveries: st.Deliveries, LiveEvents: st.LiveEvents,
			Writes: st.Writes, Draining: st.Draining}
	})
	if a.cluster != nil {
		gw.UseCluster(a.cluster)
	}
	if err := gw.Start(ctx); err != nil {
		return err
	}
	if a.cluster != nil {
		if err := a.cluster.Start(ctx, gw); err != nil {
			return fmt.Errorf("join cluster: %w", err)
		}
	}
	httpCfg := cfg.HTTP
	if httpCfg.Fallback == nil {
		httpCfg.Fallback = web.Handler() // the demo chat page at GET /
	}
	httpCfg.Admin = a.adminAPI(pres, gw, rates, started)
	api := httpauth.New(a.accounts, httpCfg, a.log.With().Str("component", "http").Logger())

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ready := a.newReadiness(gw)
	a.listened(ln.Addr())
	if err := gw.Serve(ln, ready.handler(a.filesRoutes(api))); err != nil { // GET /ready before the routes of httpauth
		_ = ln.Close()
		return err
	}
	a.addr = ln.Addr()
	if err := a.startOps(ctx); err != nil {
		return err
	}
	ev := a.log.Info().Str("addr", a.addr.String())
	if cfg.DatabaseURL == "" {
		ev = ev.Str("data", cfg.DataDir)
	} else {
		ev = ev.Str("store", "postgres")
	}
	if a.cluster != nil {
		ev = ev.Str("node", a.cluster.NodeID())
	}
	ev.Msg("samagate listening (HTTP and websocket)")
	ready.started.Store(true)
	return nil
}

// newReadiness builds the GET /ready check of the node's store, Redis and
// drain (ready.go).
func (a *App) newReadiness(gw *gateway.Gateway) *readiness {
	var redis pinger
	node := ""
	if a.cluster != nil {
		redis, node = a.cluster, a.cluster.NodeID()
	}
	return newReadiness(a.db, redis, gw, node, a.log.With().Str("component", "ready").Logger())
}

// backend is a store with a Close, and a Ping for readiness.
type backend interface {
	store.Store
	Ping(ctx context.Context) error
	Close() error
}

// openStore opens PostgreSQL (keys in the database, shared by the cluster)
// or the SQLite file (keys in a file beside it).
func (a *App) openStore(ctx context.Context) (*auth.Keys, error) {
	cfg := a.cfg
	keyOpts := []auth.KeyOption{auth.WithAlg(cfg.JWTAlg), auth.WithExternalIssuer(cfg.ExternalJWT)}
	if cfg.DatabaseURL != "" {
		pcfg := cfg.Postgres
		pcfg.URL = cfg.DatabaseURL
		db, err := postgres.Open(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		a.db = db
		keys, err := auth.LoadOrCreateStoreKeys(ctx, db, keyOpts...)
		if err == nil && cfg.RotateSigningKey {
			keys, err = auth.RotateStoreKeys(ctx, db, keyOpts...)
		}
		return a.loadedKeys(keys, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: cfg.DatabasePath})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.db = db
	keys, err := auth.LoadOrCreateKeys(cfg.DataDir, keyOpts...)
	if err == nil && cfg.RotateSigningKey {
		keys, err = auth.RotateKeys(cfg.DataDir, keyOpts...)
	}
	return a.loadedKeys(keys, err)
}

// loadedKeys wraps a key loading error, or logs a rotation.
func (a *App) loadedKeys(keys *auth.Keys, err error) (*auth.Keys, error) {
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if a.cfg.RotateSigningKey {
		a.log.Info().Str("kid", keys.AccessKid()).Msg("signing key rotated")
	}
	return keys, nil
}

// Addr is the address the node listens on (useful with port 0), or nil.
func (a *App) Addr() net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}

// Accounts exposes the auth service (for the CLI's admin commands and tests).
func (a *App) Accounts() *auth.Service {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.accounts
}

// DebugAddr is the address of the profiling listener, or nil when off.
func (a *App) DebugAddr() net.Addr { return a.opsAddr(a.cfg.DebugAddr) }

// MetricsAddr is the address of the metrics listener, or nil when off.
func (a *App) MetricsAddr() net.Addr { return a.opsAddr(a.cfg.MetricsAddr) }

// Metrics is the node's registry (nil before Run).
func (a *App) Metrics() *metrics.Registry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.metrics
}

// Online is the number of open sockets.
func (a *App) Online() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gw == nil {
		return 0
	}
	return a.gw.Online()
}

// OrderHoldBack reports how long this node's released commits waited for
// commits with lower numbers (p50, p99, count): the cost of commit order.
func (a *App) OrderHoldBack() (p50, p99 time.Duration, n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gw == nil {
		return 0, 0, 0
	}
	return a.gw.OrderHoldBack()
}

// Close shuts the node down gracefully: it turns not-ready and refuses new
// sockets, tells its sockets to reconnect (1012) spread over the gateway's
// DrainWindow, finishes the commits in flight, leaves the cluster and
// closes the store. It waits at most DrainWindow + ShutdownTimeout.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	timeout := a.cfg.Gateway.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	timeout += max(a.cfg.Gateway.DrainWindow, 0)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a.closeLocked(ctx)
}

func (a *App) closeLocked(ctx context.Context) error {
	var errs []error
	for _, o := range a.ops {
		if err := o.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a.ops = nil
	if a.gw != nil {
		if err := a.gw.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		a.gw = nil
	}
	if a.cluster != nil {
		if err := a.cluster.Close(ctx); err != nil { // after the gateway removed its sockets
			errs = append(errs, err)
		}
		a.cluster = nil
	}
	if a.throttle != nil {
		if err := a.throttle.Close(); err != nil { // after the gateway: no login is in flight
			errs = append(errs, fmt.Errorf("close throttle redis: %w", err))
		}
		a.throttle = nil
	}
	a.stopFilesLocked()     // before the store closes under it
	if a.stopPrune != nil { // before the store closes under it
		a.stopPrune()
		<-a.pruneDone
		a.stopPrune, a.pruneDone = nil, nil
	}
	if a.chat != nil {
		a.chat.Close() // after the gateway: no request is in flight any more
		a.chat = nil
	}
	if a.db != nil {
		if err := a.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
		a.db = nil
	}
	return errors.Join(errs...)
}
