package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
)

// options are settings of the process itself, not of the node.
type options struct {
	logLevel  string
	logFormat string
}

// parseConfig turns flags and SAMAGATE_* variables into an app.Config. A
// flag's variable is SAMAGATE_ plus its name in upper case with '-' as '_'.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (app.Config, options, error) {
	var (
		c       app.Config
		o       options
		origins string
		cors    string
		pgMax   int
		pgMin   int
	)
	fs := flag.NewFlagSet("samagate", flag.ContinueOnError)
	fs.SetOutput(out)

	fs.StringVar(&c.Addr, "addr", ":9001", "listen address for HTTP and websockets")
	fs.StringVar(&c.DataDir, "data-dir", "data", "directory of the SQLite database and the signing keys")
	fs.StringVar(&c.DatabasePath, "db-path", "", "SQLite database file (default <data-dir>/samagate.db)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...); empty: the SQLite file")
	fs.IntVar(&pgMax, "pg-max-conns", 20, "most PostgreSQL connections of this node")
	fs.IntVar(&pgMin, "pg-min-conns", 0, "PostgreSQL connections kept open when idle")
	fs.DurationVar(&c.Postgres.MaxConnLifetime, "pg-max-conn-lifetime", time.Hour, "close PostgreSQL connections older than this")
	fs.DurationVar(&c.Postgres.MaxConnIdleTime, "pg-max-conn-idle", 5*time.Minute, "close PostgreSQL connections idle for this long")
	fs.StringVar(&c.RedisURL, "redis-url", "", "Redis for presence and the node bus: redis://host:port/db, or comma-separated Redis Cluster nodes; empty: one node, in memory")
	fs.StringVar(&c.Redis.NodeID, "node-id", "", "this node's id in the cluster (default: host name + random suffix)")
	fs.DurationVar(&c.Redis.Heartbeat, "node-heartbeat", time.Second, "how often a node beats, pings its bus channel and looks for dead nodes")
	fs.DurationVar(&c.Redis.DeadAfter, "node-dead-after", 5*time.Second, "silence after which a node's devices are removed and announced offline")
	fs.IntVar(&c.Redis.Pool.Size, "redis-pool-size", 64, "most connections to one Redis node (heartbeats have two of their own)")
	fs.DurationVar(&c.Redis.Pool.Timeout, "redis-pool-timeout", 2*time.Second, "how long a Redis call waits for a free connection")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "serve Go profiles (net/http/pprof, /debug/pprof/) on this address; keep it private; empty: off")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address (may equal --debug-addr); keep it private; empty: off")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.logFormat, "log-format", "console", "log format: console or json")

	g := &c.Gateway
	fs.IntVar(&g.MaxFrameBytes, "max-frame-bytes", 64<<10, "largest websocket frame processed; larger ones get a 413 reply")
	fs.IntVar(&g.SendQueueBytes, "send-queue-bytes", 1<<20, "unsent bytes kept per socket before it is closed as a slow consumer")
	fs.DurationVar(&g.WriteTimeout, "write-timeout", 10*time.Second, "close a socket whose queued bytes make no progress for this long")
	fs.DurationVar(&g.PingInterval, "ping-interval", 25*time.Second, "websocket ping interval")
	fs.DurationVar(&g.KeepaliveTimeout, "keepalive-timeout", 75*time.Second, "close a socket silent for this long (no frame, no pong)")
	fs.IntVar(&g.MaxBadFrames, "max-bad-frames", 20, "undecodable frames in a row before a socket is closed")
	fs.DurationVar(&g.DrainWindow, "drain-window", 10*time.Second, "on SIGTERM, spread the closes (1012, reconnect) of this node's sockets over this long, jittered; 0: all at once")
	fs.DurationVar(&g.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "bound of graceful shutdown after the drain window (commits in flight, leaving the cluster, closing the store)")
	fs.StringVar(&origins, "ws-origins", "", "comma-separated browser origins allowed to open websockets (empty: any)")
	fs.DurationVar(&g.OrderHoldBack, "order-holdback", 250*time.Millisecond, "longest an event waits for a commit with a lower number before that commit is read from the log")
	fs.DurationVar(&g.LogProbeInterval, "log-probe-interval", time.Second, "how often a node reads the newest commit number of the log (finds commits whose packets were lost)")
	fs.IntVar(&g.MaxInflightFrames, "max-inflight-frames", 256, "frames of one socket read but not handled yet before it is closed with 4002 (-1: no bound)")
	fs.IntVar(&g.MaxInflightBytes, "max-inflight-bytes", 2<<20, "bytes of one socket read but not handled yet before it is closed with 4002 (-1: no bound)")
	fs.IntVar(&g.MaxSocketsPerUser, "max-sockets-per-user", 100, "bound sockets of one user on this node; more connects get 429 (-1: no cap)")
	fs.IntVar(&g.MaxSocketsPerAddress, "max-sockets-per-address", 2000, "open sockets of one client address on this node; more upgrades get HTTP 429 (-1: no cap)")
	g.SocketRequests, g.UserRequests = gateway.Rate{PerSecond: 50, Burst: 100}, gateway.Rate{PerSecond: 100, Burst: 500}
	g.UserMessages, g.UserSystemMessages = gateway.Rate{PerSecond: 20, Burst: 50}, gateway.Rate{PerSecond: 5, Burst: 20}
	g.UserTyping = gateway.Rate{PerSecond: 5, Burst: 20}
	fs.Var((*rateFlag)(&g.SocketRequests), "socket-rate", "requests of one socket: per second:burst, over it 429 (off: no limit)")
	fs.Var((*rateFlag)(&g.UserRequests), "user-rate", "requests of all of one user's sockets on this node: per second:burst (off: no limit)")
	fs.Var((*rateFlag)(&g.UserMessages), "user-message-rate", "message frames of one user on this node: per second:burst (off: no limit)")
	fs.Var((*rateFlag)(&g.UserSystemMessages), "user-system-message-rate", "system_message frames of one user on this node: per second:burst (off: no limit)")
	fs.Var((*rateFlag)(&g.UserTyping), "user-typing-rate", "typing frames of one user on this node: per second:burst (off: no limit)")

	h := &c.HTTP
	fs.StringVar(&cors, "cors-origins", "", "comma-separated origins allowed by credentialed CORS on the HTTP API (empty: the page's own origin and loopback origins only)")
	fs.BoolVar(&h.InsecureCookie, "insecure-cookie", false, "drop the Secure flag of the refresh_token cookie (plain-http development only)")
	fs.StringVar(&h.AdminAPIKey, "admin-api-key", "", "key of the admin HTTP API (header admin-api-key); empty disables it")
	fs.BoolVar(&h.TrustProxyHeaders, "trust-proxy", false, "take the client address from the last X-Forwarded-For entry, for throttles and socket caps (only behind a trusted proxy that sets it)")

	au := &c.Auth
	fs.DurationVar(&au.AccessTTL, "access-ttl", 3*time.Hour, "lifetime of access tokens")
	th := &au.Throttle
	fs.IntVar(&th.PerAccount, "login-throttle-account", 10, "failed logins per account within the window before it is blocked")
	fs.IntVar(&th.PerAddress, "login-throttle-address", 50, "failed logins per client address within the window before it is blocked")
	fs.DurationVar(&th.Window, "login-throttle-window", 5*time.Minute, "window over which failed logins are counted")
	fs.DurationVar(&th.Block, "login-throttle-block", 5*time.Minute, "how long a blocked account or address waits")
	fs.IntVar(&th.SecondFactor, "login-throttle-2fa", 5, "wrong second-factor codes per user within the window before the second factor is locked")
	fs.IntVar(&th.SignupPerAddress, "signup-throttle-address", 30, "sign-ups (user_create) per client address within the sign-up window (-1: no limit)")
	fs.DurationVar(&th.SignupWindow, "signup-throttle-window", 10*time.Minute, "window over which sign-ups are counted")
	var hashMem, hashTime uint
	fs.UintVar(&hashMem, "hash-memory-kib", 19*1024, "argon2id memory per password hash, KiB (OWASP: 19456 with --hash-time 2, or 12288 with 3, 9216 with 4)")
	fs.UintVar(&hashTime, "hash-time", 2, "argon2id passes per password hash")
	fs.IntVar(&au.HashQueue, "hash-queue", 32, "logins that may wait for a password-hashing slot; one more is answered 503 at once")
	fs.DurationVar(&au.HashWait, "hash-wait", 3*time.Second, "longest a request waits for a password-hashing slot before 503")
	fs.IntVar(&au.MaxSessionsPerUser, "max-sessions-per-user", 50, "live sessions of one user; a login beyond it ends the least recently used one (-1: no cap)")
	fs.DurationVar(&au.SessionCacheTTL, "session-cache-ttl", 30*time.Second, "how long a session read at connect answers later connects of it without a read; session ends of any node drop it at once (negative: no cache)")
	fs.DurationVar(&au.ActivityFlush, "activity-flush", time.Second, "how often users' last-disconnect times are written, all in one transaction")
	fs.DurationVar(&au.PruneInterval, "prune-interval", time.Hour, "how often ended sessions, spent refresh tokens and retired signing keys are deleted")
	fs.DurationVar(&au.AccessTTLMax, "access-ttl-max", 30*24*time.Hour, "longest access token a login may ask for (expiresIn)")
	fs.DurationVar(&au.RefreshTTL, "refresh-ttl", 14*24*time.Hour, "lifetime of refresh tokens")
	fs.StringVar(&au.Issuer, "jwt-issuer", "samagate", "iss claim of access tokens")
	fs.StringVar(&au.Audience, "jwt-audience", "samagate", "aud claim of access tokens")
	fs.StringVar(&c.JWTAlg, "jwt-alg", "HS256", "signing algorithm of access tokens: HS256 (shared secret) or EdDSA (Ed25519, public keys at /.well-known/jwks.json)")
	fs.BoolVar(&c.RotateSigningKey, "rotate-signing-key", false, "add a fresh signing key at start (old keys still verify); set it for one start only")
	fs.StringVar(&c.ExternalJWT.JWKSURL, "jwt-jwks-url", "", "JWKS URL of an external token issuer (Ed25519 or RSA keys); empty: none")
	fs.StringVar(&c.ExternalJWT.Issuer, "jwt-external-issuer", "", "iss claim required of external tokens")
	fs.StringVar(&c.ExternalJWT.Audience, "jwt-external-audience", "", "aud claim required of external tokens")
	fs.BoolVar(&c.ExternalJWT.CreateUsers, "jwt-external-create-users", false, "create the user of an external token's sub on its first connect")

	ch := &c.Chat
	fs.IntVar(&ch.MaxParticipants, "max-participants", 50, "most members of a group conversation")
	fs.IntVar(&ch.MaxListIDs, "max-list-ids", 100, "longest id list of one request (cids, ids); longer ones get 422")
	fs.DurationVar(&ch.Retention, "event-retention", 7*24*time.Hour, "how long the event log keeps events for catch-up")
	fs.DurationVar(&ch.CommitTimeout, "commit-timeout", 10*time.Second, "deadline of one commit of the event log")

	ct := &c.Contacts
	fs.IntVar(&ct.MaxPerUser, "max-contacts", 10_000, "most contacts in one user's address book (-1: no cap)")
	fs.IntVar(&ct.MaxBatch, "max-contact-batch", 100, "most contacts of one contact_batch_add")
	fl := &c.Files // attachments
	fs.StringVar(&fl.PublicURL, "public-url", "", "origin clients reach this node at (https://chat.example.com), the start of local-disk file URLs (default http://<addr>)")
	fs.Int64Var(&fl.MaxUploadBytes, "max-upload-bytes", 25<<20, "largest file create_files accepts, bytes")
	fs.DurationVar(&fl.URLTTL, "file-url-ttl", time.Hour, "lifetime of file upload and download URLs")
	fs.DurationVar(&fl.UnattachedTTL, "file-unattached-ttl", 24*time.Hour, "delete files no message carries after this long")
	fs.StringVar(&fl.S3.Endpoint, "s3-endpoint", "", "S3-compatible object storage URL (https://s3.eu-west-1.amazonaws.com, http://minio:9000); empty: files on the local disk under <data-dir>/files")
	fs.StringVar(&fl.S3.Bucket, "s3-bucket", "samagate", "bucket of the files (created when missing)")
	fs.StringVar(&fl.S3.AccessKey, "s3-access-key", "", "S3 access key id")
	fs.StringVar(&fl.S3.SecretKey, "s3-secret-key", "", "S3 secret access key")
	fs.StringVar(&fl.S3.Region, "s3-region", "us-east-1", "S3 region")
	fs.BoolVar(&fl.S3.PathStyle, "s3-path-style", false, "address the bucket in the URL path (MinIO and most self-hosted services)")

	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: samagate [flags]\n\nRuns the samagate messaging gateway. Every flag can also be set\nwith the environment variable shown; flags win.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(out, "  --%s (%s, default %q)\n    \t%s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", envName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return c, o, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, o, err
	}
	if fs.NArg() > 0 {
		return c, o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	g.AllowedOrigins = splitList(origins)
	h.AllowedOrigins = splitList(cors)
	if pgMax < 1 || pgMax > 10000 || pgMin < 0 || pgMin > pgMax {
		return c, o, fmt.Errorf("pg-max-conns must be 1..10000 and pg-min-conns 0..pg-max-conns (got %d and %d)", pgMax, pgMin)
	}
	c.Postgres.MaxConns, c.Postgres.MinConns = int32(pgMax), int32(pgMin)
	if g.DrainWindow < 0 || g.ShutdownTimeout <= 0 {
		return c, o, fmt.Errorf("drain-window must be 0 or more and shutdown-timeout more than 0 (got %s and %s)", g.DrainWindow, g.ShutdownTimeout)
	}
	if hashMem < 8 || hashMem > 4<<20 || hashTime < 1 || hashTime > 100 {
		return c, o, fmt.Errorf("hash-memory-kib must be 8..4194304 and hash-time 1..100 (got %d and %d)", hashMem, hashTime)
	}
	au.Hash.MemoryKiB, au.Hash.Time = uint32(hashMem), uint32(hashTime)
	if fl.MaxUploadBytes < 1 || fl.URLTTL <= 0 || fl.UnattachedTTL <= 0 {
		return c, o, fmt.Errorf("max-upload-bytes, file-url-ttl and file-unattached-ttl must be more than 0 (got %d, %s and %s)",
			fl.MaxUploadBytes, fl.URLTTL, fl.UnattachedTTL)
	}
	return c, o, nil
}

// weakHashing reports whether argon2id parameters fall below every one of
// OWASP's recommended pairs (memory KiB, passes): fine for benchmarks that
// sign up thousands of users, not for production.
func weakHashing(memKiB, passes uint32) bool {
	for _, ok := range []struct{ mem, t uint32 }{{47104, 1}, {19456, 2}, {12288, 3}, {9216, 4}, {7168, 5}} {
		if memKiB >= ok.mem && passes >= ok.t {
			return false
		}
	}
	return true
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "SAMAGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// rateFlag is a gateway.Rate as a flag: "PER_SECOND:BURST" (for example
// "20:50"), or "off" for no limit.
type rateFlag gateway.Rate

func (r *rateFlag) String() string {
	if r == nil {
		return ""
	}
	if r.PerSecond < 0 {
		return "off"
	}
	return strconv.FormatFloat(r.PerSecond, 'g', -1, 64) + ":" + strconv.Itoa(r.Burst)
}

func (r *rateFlag) Set(v string) error {
	if v == "off" {
		*r = rateFlag{PerSecond: -1}
		return nil
	}
	rate, burst, ok := strings.Cut(v, ":")
	ps, err := strconv.ParseFloat(rate, 64)
	if !ok || err != nil || ps <= 0 || math.IsInf(ps, 0) || math.IsNaN(ps) {
		return fmt.Errorf("want PER_SECOND:BURST (e.g. 20:50) or off, got %q", v)
	}
	b, err := strconv.Atoi(burst)
	if err != nil || b < 1 {
		return fmt.Errorf("burst must be a whole number of at least 1, got %q", burst)
	}
	*r = rateFlag{PerSecond: ps, Burst: b}
	return nil
}
