package presence

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script {
	src, err := luaFS.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic("presence: missing embedded script " + name) // a build defect, not a runtime state
	}
	return redis.NewScript(string(src))
}

// scripts are parsed once per Redis value; they hold no state.
type scripts struct {
	add, remove, reap, sync, org, online, beat *redis.Script
}

func loadScripts() scripts {
	return scripts{add: script("add"), remove: script("remove"), reap: script("reap"), sync: script("sync"),
		org: script("org"), online: script("online"), beat: script("beat")}
}

// RedisConfig tunes the Redis backend. Only URL is required.
type RedisConfig struct {
	// URL is "redis://[user:pass@]host:port[/db]" for a standalone Redis, or
	// a comma-separated list of "host:port" (or redis:// URLs) of Redis
	// Cluster nodes, or a redis:// URL with addr= parameters (cluster).
	URL string
	// NodeID names this node on the bus; it must be unique in the cluster.
	// Default: host name + "-" + 6 random hex digits. Letters, digits, '.',
	// '_' and '-' only.
	NodeID string
	// Prefix starts every key and channel. Default "sg:".
	Prefix string
	// Heartbeat is how often the node stamps itself alive, pings its own bus
	// channel and looks for dead nodes. Default 1s.
	Heartbeat time.Duration
	// DeadAfter is how long a node may miss its beats before the others
	// remove its devices and announce them offline. Default 5s.
	DeadAfter time.Duration
	// KeyTTL is the backstop expiry of every key; the owners refresh it every
	// KeyTTL/6. Default 1h.
	KeyTTL time.Duration
	// Pool tunes the client's connection pool (NewRedisClient).
	Pool Pool
	// Observer, when set, is told of bus publishes, recoveries, heartbeats
	// and reaps (metrics). Default nil: none.
	Observer Observer
}

// Observer is told of the cluster's bus and heartbeat events, for metrics
// (*metrics.Registry implements it). It must not block.
type Observer interface {
	BusPublished(took time.Duration, err error)
	BusRecovered()
	Heartbeat(ok bool)
	NodeReaped()
}

// noObserver is the Observer of a node without metrics.
type noObserver struct{}

func (noObserver) BusPublished(time.Duration, error) {}
func (noObserver) BusRecovered()                     {}
func (noObserver) Heartbeat(bool)                    {}
func (noObserver) NodeReaped()                       {}

func (c RedisConfig) withDefaults() RedisConfig {
	if c.Prefix == "" {
		c.Prefix = "sg:"
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = 5 * time.Second
	}
	if c.KeyTTL <= 0 {
		c.KeyTTL = time.Hour
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	return c
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// DefaultNodeID is the host name with a random suffix, so two processes on
// one host never share an id.
func DefaultNodeID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host = regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(host, "-")
	if len(host) > 50 {
		host = host[:50]
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// NewRedisClient connects to a standalone Redis or a Redis Cluster as
// RedisConfig.URL describes.
func NewRedisClient(url string, pool Pool) (redis.UniversalClient, error) {
	pool = pool.withDefaults()
	url = strings.TrimSpace(url)
	if url == "" {
		return nil, errors.New("redis url is empty")
	}
	if strings.Contains(url, ",") {
		var addrs []string
		opt := &redis.ClusterOptions{}
		for _, part := range strings.Split(url, ",") {
			part = strings.TrimSpace(part)
			if !strings.Contains(part, "://") {
				addrs = append(addrs, part)
				continue
			}
			o, err := redis.ParseURL(part)
			if err != nil {
				return nil, fmt.Errorf("parse redis url: %w", err)
			}
			addrs = append(addrs, o.Addr)
			opt.Username, opt.Password, opt.TLSConfig = o.Username, o.Password, o.TLSConfig
		}
		opt.Addrs = addrs
		opt.PoolSize, opt.PoolTimeout = pool.Size, pool.Timeout
		return redis.NewClusterClient(opt), nil
	}
	if strings.Contains(url, "addr=") {
		o, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("parse redis cluster url: %w", err)
		}
		o.PoolSize, o.PoolTimeout = pool.Size, pool.Timeout
		return redis.NewClusterClient(o), nil
	}
	if !strings.Contains(url, "://") {
		url = "redis://" + url
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	o.PoolSize, o.PoolTimeout = pool.Size, pool.Timeout
	return redis.NewClient(o), nil
}

// Pool tunes a Redis client's connection pool (per Redis node). The zero
// value takes the defaults.
type Pool struct {
	// Size is the most connections to one Redis node. Default 64: a
	// gateway's calls are short, but a mass disconnect makes thousands at
	// once, and the client library's default (10 per CPU: 20 on a 2-core
	// node) queued other requests behind them for up to a second (issue
	// 14). Redis serves them one at a time anyway; the pool only bounds how
	// many wait in Redis rather than in the node.
	Size int
	// Timeout is how long a call waits for a free connection before it
	// fails. Default 2s.
	Timeout time.Duration
}

func (p Pool) withDefaults() Pool {
	if p.Size <= 0 {
		p.Size = 64
	}
	if p.Timeout <= 0 {
		p.Timeout = 2 * time.Second
	}
	return p
}

// heartbeatPool is the pool of the heartbeat client (UseHeartbeatClient):
// the loop makes one call at a time.
var heartbeatPool = Pool{Size: 2, Timeout: time.Second}

// NewHeartbeatClient is a client of its own for the node's heartbeats
// (UseHeartbeatClient), connected to url.
func NewHeartbeatClient(url string) (redis.UniversalClient, error) {
	return NewRedisClient(url, heartbeatPool)
}

// Receiver is the node's side of the bus: what the gateway does with
// packets from other nodes and with cluster-wide changes. The gateway
// implements it.
type Receiver interface {
	// CommitLocal takes a commit another node broadcast.
	CommitLocal(payload []byte)
	// ActivityLocal tells this node's followers of userID its last activity.
	ActivityLocal(userID string, value int64)
	// EndSessionLocal closes this node's sockets of ended sessions: the
	// user's, narrowed to deviceID or sessionID when set, sparing
	// exceptSessionID.
	EndSessionLocal(ctx context.Context, userID, deviceID, sessionID, exceptSessionID, reason string)
	// PresenceChanged reports users who went offline because their last
	// device was on a dead node, or (online) came back when this node
	// restored its entries.
	PresenceChanged(ctx context.Context, userIDs []string, online bool)
	// Recover is told that packets since t may have been lost (the bus was
	// down, Redis lost its data, a node died): the receiver reads what it
	// missed from the event log.
	Recover(ctx context.Context, since time.Time)
}

// localConn is one socket of this node, kept so the node can restore its
// entries when Redis loses them.
type localConn struct{ user, org, device string }

// Redis is the presence registry and node-to-node bus shared by every node
// through Redis (standalone or Cluster). Per-user keys carry the user id as
// hash tag, so a user's scripts run on one slot.
//
// Keys (prefix "sg:"):
//
//	sg:u:{<user>}        hash  "<node>/<conn>" -> "<len>:<org><device>"   one field per live socket
//	sg:o:{<org>}         hash  user -> +gen online | -gen offline mark  (online_list)
//	sg:w:{<user>}        hash  node -> 1                               nodes with followers of user
//	sg:n:{<node>}:users  set   users with a socket on node               (for reaping)
//	sg:nodes             zset  node -> last heartbeat (ms, Redis time)
//	sg:reap:{<node>}     string  who reaps a dead node (30 s lock)
//	sg:dead:{<node>}     string  a reaped node died (1 min): survivors recover its events
//	sg:bus:{<node>}      sharded pub/sub channel of node
//
// Every key has an expiry (KeyTTL) that its owner refreshes; dead nodes'
// entries are removed by the survivors within DeadAfter + Heartbeat.
type Redis struct {
	cfg     RedisConfig
	log     zerolog.Logger
	rdb     redis.UniversalClient
	hb      redis.UniversalClient // heartbeats and dead-node checks: rdb, or a client of their own
	node    string
	mine    string // field prefix of this node: "<node>/"
	lua     scripts
	seed    maphash.Seed
	stripes [64]sync.Mutex // serialize one user's changes on this node

	mu    sync.Mutex           // guards local and watch
	local map[string]localConn // connID -> socket
	users map[string]int       // user -> how many of local are theirs
	watch map[string]int       // user -> local followers

	bus   *bus
	out   outbox                   // bus sends waiting for Redis
	nodes atomic.Pointer[[]string] // other live nodes at the last heartbeat

	runMu  sync.Mutex // guards cancel/done
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRedis builds the backend on an existing client; Start joins the
// cluster. The client is closed by Close.
func NewRedis(rdb redis.UniversalClient, cfg RedisConfig, log zerolog.Logger) (*Redis, error) {
	cfg = cfg.withDefaults()
	if cfg.NodeID == "" {
		cfg.NodeID = DefaultNodeID()
	}
	if !nodeIDPattern.MatchString(cfg.NodeID) {
		return nil, fmt.Errorf("node id %q: use 1-64 letters, digits, '.', '_' or '-'", cfg.NodeID)
	}
	r := &Redis{cfg: cfg, log: log, rdb: rdb, hb: rdb, node: cfg.NodeID, mine: cfg.NodeID + "/", lua: loadScripts(),
		seed: maphash.MakeSeed(), local: map[string]localConn{}, users: map[string]int{}, watch: map[string]int{}}
	r.bus = newBus(r)
	return r, nil
}

// Nodes are the other nodes that were alive at this node's last heartbeat:
// where Broadcast sends.
func (r *Redis) Nodes() []string {
	if p := r.nodes.Load(); p != nil {
		return *p
	}
	return nil
}

// NodeID is this node's id on the bus.
func (r *Redis) NodeID() string { return r.node }

func (r *Redis) userKey(uid string) string  { return r.cfg.Prefix + "u:{" + uid + "}" }
func (r *Redis) orgKey(org string) string   { return r.cfg.Prefix + "o:{" + org + "}" }
func (r *Redis) watchKey(uid string) string { return r.cfg.Prefix + "w:{" + uid + "}" }
func (r *Redis) usersKey(node string) string {
	return r.cfg.Prefix + "n:{" + node + "}:users"
}
func (r *Redis) nodesKey() string           { return r.cfg.Prefix + "nodes" }
func (r *Redis) reapKey(node string) string { return r.cfg.Prefix + "reap:{" + node + "}" }
func (r *Redis) deadKey(node string) string { return r.cfg.Prefix + "dead:{" + node + "}" }
func (r *Redis) channel(node string) string { return r.cfg.Prefix + "bus:{" + node + "}" }
func (r *Redis) ttlMS() int64               { return r.cfg.KeyTTL.Milliseconds() }
func (r *Redis) stripe(uid string) *sync.Mutex {
	return &r.stripes[maphash.String(r.seed, uid)%uint64(len(r.stripes))]
}

// connValue encodes org and device in one field value (both may hold any
// character).
func connValue(org, device string) string { return strconv.Itoa(len(org)) + ":" + org + device }

// parseConnValue splits a field value into org and device.
func parseConnValue(v string) (org, device string, ok bool) {
	i := strings.IndexByte(v, ':')
	if i < 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(v[:i])
	if err != nil || n < 0 || i+1+n > len(v) {
		return "", "", false
	}
	return v[i+1 : i+1+n], v[i+1+n:], true
}

// Add registers socket connID of (userID, deviceID) in orgID on this node;
// first reports whether the user had no socket anywhere before. The socket
// is remembered locally even when Redis fails, so a later resync restores it.
func (r *Redis) Add(ctx context.Context, orgID, userID, deviceID, connID string) (bool, error) {
	mu := r.stripe(userID)
	mu.Lock()
	defer mu.Unlock()
	r.mu.Lock()
	if old, again := r.local[connID]; again {
		r.forgetLocked(old.user)
	}
	r.users[userID]++
	r.local[connID] = localConn{user: userID, org: orgID, device: deviceID}
	r.mu.Unlock()
	pipe := r.rdb.Pipeline()
	pipe.SAdd(ctx, r.usersKey(r.node), userID)
	pipe.PExpire(ctx, r.usersKey(r.node), r.cfg.KeyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("presence add: %w", err)
	}
	res, err := r.lua.add.Run(ctx, r.rdb, []string{r.userKey(userID)}, r.mine+connID, connValue(orgID, deviceID), r.ttlMS()).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("presence add: %w", err)
	}
	first := res[0] == 1
	if first {
		r.setOrg(ctx, orgID, userID, res[1])
	}
	return first, nil
}

// Remove forgets socket connID; last reports whether it was the user's last
// socket anywhere.
func (r *Redis) Remove(ctx context.Context, userID, _, connID string) (bool, error) {
	mu := r.stripe(userID)
	mu.Lock()
	defer mu.Unlock()
	// Whether this node still holds sockets of the user is its own
	// count, not a scan of the user's sockets in Redis: a close costs the
	// same whatever the user's socket count (a user with 6,000 sockets
	// cost Redis 1.1 ms per close when the script counted them; issue 14).
	r.mu.Lock()
	lc, known := r.local[connID]
	if known {
		delete(r.local, connID)
		r.forgetLocked(lc.user)
	}
	mine := r.users[userID]
	r.mu.Unlock()
	res, err := r.lua.remove.Run(ctx, r.rdb, []string{r.userKey(userID)}, r.mine+connID).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("presence remove: %w", err)
	}
	if mine == 0 { // the stripe lock keeps a concurrent Add of this user out

		if err := r.rdb.SRem(ctx, r.usersKey(r.node), userID).Err(); err != nil {
			r.log.Debug().Err(err).Msg("presence: forget user of node")
		}
	}
	last := res[0] == 1
	if last && known {
		r.setOrg(ctx, lc.org, userID, -res[1])
	}
	return last, nil
}

// forgetLocked takes one socket off user's local count (mu held).
func (r *Redis) forgetLocked(user string) {
	if r.users[user]--; r.users[user] <= 0 {
		delete(r.users, user)
	}
}

// setOrg records a user's online (gen > 0) or offline (gen < 0) state in the
// organization index; a failure only delays online_list until the resync.
func (r *Redis) setOrg(ctx context.Context, org, userID string, gen int64) {
	if err := r.lua.org.Run(ctx, r.rdb, []string{r.orgKey(org)}, userID, gen, r.ttlMS()).Err(); err != nil {
		r.log.Warn().Err(err).Str("org", org).Msg("presence: organization index")
	}
}

// Online reports whether userID has a live socket on any node.
func (r *Redis) Online(ctx context.Context, userID string) (bool, error) {
	n, err := r.rdb.HLen(ctx, r.userKey(userID)).Result()
	if err != nil {
		return false, fmt.Errorf("presence online: %w", err)
	}
	return n > 0, nil
}

// OnlineUsers lists the online users of orgID on every node, ids ascending.
func (r *Redis) OnlineUsers(ctx context.Context, orgID string) ([]string, error) {
	cutoff := time.Now().Add(-time.Minute).UnixMicro()
	ids, err := r.lua.online.Run(ctx, r.rdb, []string{r.orgKey(orgID)}, cutoff).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("presence online users: %w", err)
	}
	if ids == nil {
		ids = []string{}
	}
	slices.Sort(ids)
	return ids, nil
}

// Watch records a local follower of userID's activity, so that nodes where
// the user's devices come and go tell this node.
func (r *Redis) Watch(ctx context.Context, userID string) error {
	mu := r.stripe(userID)
	mu.Lock()
	defer mu.Unlock()
	r.mu.Lock()
	r.watch[userID]++
	n := r.watch[userID]
	r.mu.Unlock()
	if n > 1 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	pipe.HSet(ctx, r.watchKey(userID), r.node, 1)
	pipe.PExpire(ctx, r.watchKey(userID), r.cfg.KeyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("presence watch: %w", err)
	}
	return nil
}

// Unwatch drops one local follower of userID.
func (r *Redis) Unwatch(ctx context.Context, userID string) error {
	mu := r.stripe(userID)
	mu.Lock()
	defer mu.Unlock()
	r.mu.Lock()
	n := r.watch[userID] - 1
	if n <= 0 {
		delete(r.watch, userID)
	} else {
		r.watch[userID] = n
	}
	r.mu.Unlock()
	if n > 0 {
		return nil
	}
	if err := r.rdb.HDel(ctx, r.watchKey(userID), r.node).Err(); err != nil {
		return fmt.Errorf("presence unwatch: %w", err)
	}
	return nil
}

// nodesOf returns, for each user, the other nodes holding a socket of it:
// node -> users. One pipelined round trip.
func (r *Redis) nodesOf(ctx context.Context, userIDs []string, key func(string) string) (map[string][]string, error) {
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(userIDs))
	for i, uid := range userIDs {
		cmds[i] = pipe.HKeys(ctx, key(uid))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := map[string][]string{}
	for i, c := range cmds {
		for _, f := range c.Val() {
			node, _, _ := strings.Cut(f, "/")
			if node == r.node {
				continue
			}
			if l := out[node]; len(l) == 0 || l[len(l)-1] != userIDs[i] {
				out[node] = append(l, userIDs[i])
			}
		}
	}
	return out, nil
}
