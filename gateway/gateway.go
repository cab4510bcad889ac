// Package gateway owns the sockets: upgrade, per-socket frame handling in
// order, the local hub of (user, device) -> sockets, the method router and
// the handlers that turn frames into calls on auth, and graceful shutdown.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// Config tunes the websocket side. The zero value works; each field's comment
// gives its default and unit.
type Config struct {
	// MaxFrameBytes is the largest frame processed; a larger one gets a 413
	// error reply and the socket stays open. Default 64 KiB.
	MaxFrameBytes int
	// SendQueueBytes bounds the unsent bytes kept for one socket once the
	// kernel buffer is full; past it the socket is closed as a slow consumer
	// (close code 4000) and nobody else waits. Default 1 MiB.
	SendQueueBytes int
	// WriteTimeout closes a socket whose queued bytes make no progress for
	// this long. Default 10s.
	WriteTimeout time.Duration
	// PingInterval is how often every socket gets a websocket ping. Default 25s.
	PingInterval time.Duration
	// KeepaliveTimeout closes a socket from which nothing (frame or pong) was
	// read for this long. Default 75s.
	KeepaliveTimeout time.Duration
	// HandshakeTimeout bounds the websocket upgrade. Default 10s.
	HandshakeTimeout time.Duration
	// RequestTimeout bounds the handling of one frame. Default 15s.
	RequestTimeout time.Duration
	// MaxBadFrames is how many undecodable frames in a row a socket may send
	// (each answered with an error) before it is closed with 1008. Default 20.
	MaxBadFrames int
	// AllowedOrigins lists browser origins allowed to open a websocket.
	// Empty (the default) allows any origin, as SAMA does: the socket carries
	// no ambient credentials (auth is in-band), so cross-site use cannot act
	// for a user. "*" in the list also allows any.
	AllowedOrigins []string
	// MaxHTTPBodyBytes bounds plain HTTP request bodies. Default 1 MiB.
	MaxHTTPBodyBytes int64
	// ShutdownTimeout bounds graceful shutdown after the drain window: the
	// commits in flight, leaving the cluster, closing the store. Default 10s.
	ShutdownTimeout time.Duration
	// DrainWindow is the time over which Shutdown spreads the closes of the
	// node's sockets (CloseServiceRestart, each at a jittered moment), so
	// that its clients reconnect to the other nodes a few at a time. Zero
	// (the default here; the samagate command's default is 10s) closes
	// them all at once.
	DrainWindow time.Duration
	// OrderHoldBack is the longest a logged event waits for a commit with a
	// lower number before that commit is read from the log (its packet was
	// lost, or its writer is slow, failed or died). Default 250ms.
	OrderHoldBack time.Duration
	// LogProbeInterval is how often the node reads the log's newest commit
	// number, so that commits whose packets were lost at the end of a burst
	// are noticed. Default 1s.
	LogProbeInterval time.Duration

	// MaxInflightFrames bounds the frames one socket has sent that are not
	// answered yet. The event loop reads a connection as fast as the peer
	// writes and queues each frame for the socket's in-order handler, and
	// a message keeps its slot while its commit is in flight (up to 32
	// messages of a socket are: pipeline.go); past this many the socket is
	// closed with 4002 (CloseFlood, reconnect allowed) and its queued
	// frames are dropped. Negative: no bound. Default 256.
	MaxInflightFrames int
	// MaxInflightBytes bounds the bytes read from one socket whose frames
	// are not handled yet (a partial frame included); past it the socket is
	// closed with 4002. Negative: no bound. Default 2 MiB, and never less
	// than the largest frame read (4 × MaxFrameBytes, at least 1 MiB) plus
	// 64 KiB, so that any frame that gets an answer fits.
	MaxInflightBytes int

	// SocketRequests limits the frames of one socket, authenticated or not;
	// over it a request gets 429 "Too many requests. Slow down." and the
	// socket stays open. Default 50/s, burst 100.
	SocketRequests Rate
	// UserRequests limits the requests of all of one user's sockets on this
	// node together (429 as above). Default 100/s, burst 500 (a reconnect
	// of many tabs at once).
	UserRequests Rate
	// UserMessages limits one user's message frames on this node (429 in
	// the message's own error shape). Default 20/s, burst 50.
	UserMessages Rate
	// UserSystemMessages limits one user's system_message frames on this
	// node (each may be stored for 20 users). Default 5/s, burst 20.
	UserSystemMessages Rate
	// UserTyping limits one user's typing frames on this node (each goes to
	// every member; SAMA's web client sends one per 5 s per conversation).
	// Default 5/s, burst 20.
	UserTyping Rate

	// MaxSocketsPerUser caps the sockets bound to one user on this node: a
	// connect or user_login beyond it gets 429 "Too many attempts. Try
	// again later." and the socket stays unauthenticated. Negative: no cap.
	// Default 100.
	MaxSocketsPerUser int
	// MaxSocketsPerAddress caps the open sockets of one client address on
	// this node: an upgrade beyond it is refused with HTTP 429 before any
	// socket exists. Behind a proxy every client has the proxy's address:
	// set TrustProxyHeaders, or raise this. Negative: no cap. Default 2000.
	MaxSocketsPerAddress int
	// TrustProxyHeaders takes a socket's client address from the last
	// X-Forwarded-For entry of the upgrade request (the one the trusted
	// proxy added), else the TCP peer. Enable it only behind a proxy that
	// sets the header. Default false.
	TrustProxyHeaders bool

	// Observer, when set, is told of every request, socket close and
	// replay (metrics.Registry implements it). Default nil: none.
	Observer Observer

	// Contacts serves the contact_* methods (set by app). Default nil:
	// they answer "Method not supported.".
	Contacts Contacts

	// writeHook, when set, is told the frames and the writes to the
	// connection of every flush of a socket's outbox (outbox.go). A test
	// seam only, set by export_test.go, to count frames per write.
	writeHook func(frames, writes int)

	// handlerHook, when set, is called with every request right before its
	// handler, inside the handler's panic recovery. It is a test seam only,
	// unexported so that production code cannot set it (export_test.go
	// does, to make a handler panic on purpose).
	handlerHook func(protocol.Request)

	// Files, when set, serves create_files and get_file_urls
	// (handlers_files.go); nil answers them "Method not supported.".
	Files Files
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = 64 << 10
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = 1 << 20
	}
	if c.MaxBadFrames <= 0 {
		c.MaxBadFrames = 20
	}
	if c.MaxHTTPBodyBytes <= 0 {
		c.MaxHTTPBodyBytes = 1 << 20
	}
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.PingInterval, 25*time.Second)
	def(&c.KeepaliveTimeout, keepaliveTimeoutDefault)
	def(&c.HandshakeTimeout, 10*time.Second)
	def(&c.RequestTimeout, 15*time.Second)
	def(&c.ShutdownTimeout, 10*time.Second)
	def(&c.OrderHoldBack, 250*time.Millisecond)
	def(&c.LogProbeInterval, time.Second)
	intDef := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	intDef(&c.MaxInflightFrames, 256)
	intDef(&c.MaxInflightBytes, 2<<20)
	if c.MaxInflightBytes > 0 {
		c.MaxInflightBytes = max(c.MaxInflightBytes, c.hardFrameLimit()+64<<10)
	}
	intDef(&c.MaxSocketsPerUser, 100)
	intDef(&c.MaxSocketsPerAddress, 2000)
	c.SocketRequests = c.SocketRequests.withDefault(Rate{PerSecond: 50, Burst: 100})
	c.UserRequests = c.UserRequests.withDefault(Rate{PerSecond: 100, Burst: 500})
	c.UserMessages = c.UserMessages.withDefault(Rate{PerSecond: 20, Burst: 50})
	c.UserSystemMessages = c.UserSystemMessages.withDefault(Rate{PerSecond: 5, Burst: 20})
	c.UserTyping = c.UserTyping.withDefault(Rate{PerSecond: 5, Burst: 20})
	return c
}

// hardFrameLimit is where the library stops reading a frame at all: frames
// up to it are read and answered with 413 when over MaxFrameBytes.
func (c Config) hardFrameLimit() int {
	if n := 4 * c.MaxFrameBytes; n > 1<<20 {
		return n
	}
	return 1 << 20
}

// Accounts is what the gateway needs from auth (implemented by *auth.Service).
type Accounts interface {
	CreateUser(ctx context.Context, u auth.NewUser) (*auth.User, error)
	LoginPassword(ctx context.Context, l auth.PasswordLogin) (*auth.Grant, error)
	Authenticate(ctx context.Context, accessToken, deviceID string) (*auth.Principal, error)
	IssueAccess(ctx context.Context, p auth.Principal) (string, time.Time, error)
	GetUser(ctx context.Context, orgID, userID string) (*auth.User, error)
	Logout(ctx context.Context, p auth.Principal) error
	EditUser(ctx context.Context, p auth.Principal, e auth.UserEdit) (*auth.User, error)
	DeleteUser(ctx context.Context, p auth.Principal) error
	SearchUsers(ctx context.Context, p auth.Principal, q auth.UserSearch) ([]auth.User, error)
	UsersByIDs(ctx context.Context, orgID string, ids []string) ([]auth.User, error)
	SetRecentActivity(ctx context.Context, userID string, t time.Time) error
	Sessions(ctx context.Context, p auth.Principal) ([]auth.SessionInfo, error)
	RevokeSession(ctx context.Context, p auth.Principal, id string) error
	LogoutEverywhere(ctx context.Context, p auth.Principal, keepCurrent bool) (int, error)
	// StillLive tells, after a bind, whether a session end raced it.
	StillLive(ctx context.Context, p *auth.Principal) (bool, error)
	// SessionEnded is told of a session end announced by another node
	// (its cached sessions of the user are dropped).
	SessionEnded(e auth.SessionEnd)
}

// Presence is what the gateway needs from presence: which users have a
// device online. Add reports whether the user just came online, Remove
// whether the user's last device just went.
type Presence interface {
	Add(ctx context.Context, orgID, userID, deviceID, connID string) (first bool, err error)
	Remove(ctx context.Context, userID, deviceID, connID string) (last bool, err error)
	Online(ctx context.Context, userID string) (bool, error)
	OnlineUsers(ctx context.Context, orgID string) ([]string, error)
}

// Gateway serves SAMA websockets. Create it with New, start it with Serve.
type Gateway struct {
	// immutable after New
	cfg      Config
	log      zerolog.Logger
	accounts Accounts
	presence Presence
	chat     Chat
	routes   map[string]route
	origins  map[string]bool // nil: any origin

	hub      *hub
	activity *activity
	epoch    time.Time   // zero of the rate limiters' monotonic clock
	perConn  gcra        // every socket's own request bucket (Socket.reqTAT)
	perUser  *userLimits // this node's per-user buckets
	cluster  Cluster     // nil on a single node; set by UseCluster before Start
	nextID   atomic.Uint64
	draining atomic.Bool
	seq      atomic.Pointer[sequencer] // set by Start
	pub      atomic.Pointer[publisher] // set by Start with a cluster
	replays  sync.WaitGroup            // replay goroutines (replay.go)
	repliers sync.WaitGroup            // sockets' repliers of pipelined messages (pipeline.go)

	outboxes   sync.Pool // *outbox, lent to sockets with frames queued or unsent (outbox.go)
	writeChunk int       // most bytes of one write to a connection (outbox.go)
	fan        fanout    // the release run in progress; guarded by the sequencer's lock
	flushers   int       // goroutines that write one run's sockets (outbox.go): GOMAXPROCS
	obs        Observer  // cfg.Observer, or a no-op
	counts     counts    // totals read by Stats

	// guarded by mu
	mu        sync.Mutex
	transport *transport
	stopPing  chan struct{}
	pingDone  chan struct{}
}

// New builds a gateway.
func New(cfg Config, accounts Accounts, presence Presence, chat Chat, log zerolog.Logger) *Gateway {
	cfg = cfg.withDefaults()
	g := &Gateway{
		cfg:      cfg,
		log:      log,
		accounts: accounts,
		presence: presence,
		chat:     chat,
		hub:      newHub(),
		activity: newActivity(),
		epoch:    time.Now(),
		outboxes: sync.Pool{New: newOutbox},
		flushers: runtime.GOMAXPROCS(0),
		// A quarter of the send queue (4 to 64 KiB): one write never
		// overflows the queue of a socket that keeps up.
		writeChunk: min(64<<10, max(4<<10, cfg.SendQueueBytes/4)),
		perConn:    newGCRA(cfg.SocketRequests),
		perUser: newUserLimits(cfg.UserRequests, [classCount]Rate{
			classMessage: cfg.UserMessages, classSystemMessage: cfg.UserSystemMessages, classTyping: cfg.UserTyping}),
	}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			g.origins = nil
			break
		}
		if g.origins == nil {
			g.origins = map[string]bool{}
		}
		g.origins[o] = true
	}
	g.routes = g.routeTable()
	g.obs = cfg.Observer
	if g.obs == nil {
		g.obs = noObserver{}
	}
	return g
}

// Start begins releasing logged events to sockets in commit order (and,
// with a cluster, publishing this node's commits to the others). Call it
// before the first commit and before the cluster delivers packets; Shutdown
// stops it.
func (g *Gateway) Start(ctx context.Context) error {
	q := newSequencer(g.chat, g.release, sequencerConfig{holdBack: g.cfg.OrderHoldBack,
		probeEvery: g.cfg.LogProbeInterval, flush: g.flushReleased}, g.log)
	window := int64(0)
	if g.cluster != nil {
		window = resolveWindow
	}
	if err := q.start(ctx, window); err != nil {
		return fmt.Errorf("start the ordered release: %w", err)
	}
	if !g.seq.CompareAndSwap(nil, q) {
		q.close()
		return errors.New("start: already started")
	}
	if g.cluster != nil {
		g.pub.Store(newPublisher(g))
	}
	return nil
}

// OrderHoldBack reports how long this node's released commits waited
// between arriving and being released (p50, p99, count): what restoring
// commit order costs.
func (g *Gateway) OrderHoldBack() (p50, p99 time.Duration, n int64) {
	if q := g.seq.Load(); q != nil {
		return q.holdStats()
	}
	return 0, 0, 0
}

// Serve starts serving websockets (and next for every other HTTP request) on
// ln and returns at once; Shutdown stops it.
func (g *Gateway) Serve(ln net.Listener, next http.Handler) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.transport != nil {
		return errors.New("serve: already serving")
	}
	t := newTransport(ln, g, next)
	if err := t.start(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	g.transport = t
	g.stopPing = make(chan struct{})
	g.pingDone = make(chan struct{})
	go g.pingLoop(g.stopPing, g.pingDone)
	return nil
}

// checkOrigin allows browsers from AllowedOrigins (any when unset) and
// clients that send no Origin.
func (g *Gateway) checkOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || g.origins == nil || g.origins[o]
}

// clientAddr is the address a socket's upgrade request came from: the last
// X-Forwarded-For entry (added by the trusted proxy; earlier ones are the
// client's word) with TrustProxyHeaders, else the TCP peer's host.
func (g *Gateway) clientAddr(r *http.Request) string {
	if g.cfg.TrustProxyHeaders {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if a := strings.TrimSpace(last); a != "" {
				return a
			}
		}
	}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// reserveAddr takes a socket slot of r's client address
// (MaxSocketsPerAddress); false: the address holds its cap.
func (g *Gateway) reserveAddr(r *http.Request) (*addrSlot, bool) {
	key := g.clientAddr(r)
	a, ok := g.hub.reserveAddr(key, g.cfg.MaxSocketsPerAddress)
	if !ok {
		g.log.Debug().Str("addr", key).Msg("websocket refused: too many sockets from the address")
	}
	return a, ok
}

// releaseAddr gives back a slot of reserveAddr.
func (g *Gateway) releaseAddr(a *addrSlot) { g.hub.releaseAddr(a) }

// Online is the number of open sockets on this node.
func (g *Gateway) Online() int { return g.hub.count() }

// clock is the rate limiters' time: ns since the gateway was built, on the
// monotonic clock.
func (g *Gateway) clock() int64 { return int64(time.Since(g.epoch)) }
