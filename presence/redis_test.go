package presence_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/samagate/samagate/presence"
	"github.com/samagate/samagate/presence/presencetest"
)

// backends are the Redis deployments make test starts: a standalone server
// and a three-master cluster.
var backends = []struct{ name, env string }{
	{"Standalone", "SAMAGATE_TEST_REDIS_URL"},
	{"Cluster", "SAMAGATE_TEST_REDIS_CLUSTER_URL"},
}

// redisURL returns the URL in env or skips: `make test` always sets both.
func redisURL(t *testing.T, env string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		t.Skipf("%s is not set; `make test` starts Redis and sets it", env)
	}
	return u
}

func randomPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "sgt" + hex.EncodeToString(b[:]) + ":"
}

func testLog() zerolog.Logger {
	if os.Getenv("SAMAGATE_TEST_LOG") != "" {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.DebugLevel)
	}
	return zerolog.New(io.Discard)
}

// newRedis opens a backend on url under prefix; tune may shorten timings.
func newRedis(t *testing.T, url, prefix, node string, tune func(*presence.RedisConfig)) *presence.Redis {
	t.Helper()
	rdb, err := presence.NewRedisClient(url, presence.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := presence.RedisConfig{Prefix: prefix, NodeID: node}
	if tune != nil {
		tune(&cfg)
	}
	r, err := presence.NewRedis(rdb, cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedisContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := redisURL(t, b.env)
			presencetest.Run(t, func(t *testing.T) presencetest.Backend {
				r := newRedis(t, url, randomPrefix(), "n1", nil)
				t.Cleanup(func() { _ = r.Close(context.Background()) })
				return r
			})
		})
	}
}

// recorder is a Receiver that records what the bus brought.
type recorder struct {
	mu        sync.Mutex
	delivered []string // "<eid> <frame> <users...>"
	activity  map[string]int64
	ended     []string
	offline   []string
	online    []string
	recovered []time.Time
	changed   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{activity: map[string]int64{}, changed: make(chan struct{}, 1000)}
}

func (r *recorder) note() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) CommitLocal(payload []byte) {
	r.mu.Lock()
	r.delivered = append(r.delivered, string(payload))
	r.mu.Unlock()
	r.note()
}

func (r *recorder) ActivityLocal(uid string, v int64) {
	r.mu.Lock()
	r.activity[uid] = v
	r.mu.Unlock()
	r.note()
}

func (r *recorder) EndSessionLocal(_ context.Context, uid, dev, sid, except, reason string) {
	r.mu.Lock()
	r.ended = append(r.ended, uid+"/"+dev+"/"+sid+"/"+except+"/"+reason)
	r.mu.Unlock()
	r.note()
}

func (r *recorder) PresenceChanged(_ context.Context, uids []string, online bool) {
	r.mu.Lock()
	if online {
		r.online = append(r.online, uids...)
	} else {
		r.offline = append(r.offline, uids...)
	}
	r.mu.Unlock()
	r.note()
}

func (r *recorder) Recover(_ context.Context, since time.Time) {
	r.mu.Lock()
	r.recovered = append(r.recovered, since)
	r.mu.Unlock()
	r.note()
}

// waitFor polls cond (under the recorder's lock) until it holds or fails
// after timeout.
func (r *recorder) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// startNode starts a backend as a cluster node with fast timings.
func startNode(t *testing.T, url, prefix, node string) (*presence.Redis, *recorder) {
	t.Helper()
	r := newRedis(t, url, prefix, node, func(c *presence.RedisConfig) {
		c.Heartbeat = 100 * time.Millisecond
		c.DeadAfter = 600 * time.Millisecond
	})
	rec := newRecorder()
	if err := r.Start(context.Background(), rec); err != nil {
		t.Fatalf("start %s: %v", node, err)
	}
	return r, rec
}

func closeNode(t *testing.T, r *presence.Redis) {
	t.Helper()
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("close %s: %v", r.NodeID(), err)
	}
}

func TestRedisBus(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testBus(t, redisURL(t, b.env)) })
	}
}

// testBus: commits broadcast to every other live node (whether or not it
// holds a recipient), activity to following nodes only, session ends to the
// user's nodes.
func testBus(t *testing.T, url string) {
	ctx := context.Background()
	prefix := randomPrefix()
	n1, r1 := startNode(t, url, prefix, "n1")
	defer closeNode(t, n1)
	n2, r2 := startNode(t, url, prefix, "n2")
	defer closeNode(t, n2)
	n3, r3 := startNode(t, url, prefix, "n3")
	defer closeNode(t, n3)

	must := func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(n1.Add(ctx, "o", "alice", "web", "c1"))
	must(n2.Add(ctx, "o", "bob", "phone", "c1"))
	must(n2.Add(ctx, "o", "carol", "web", "c2"))
	must(n3.Add(ctx, "o", "bob", "web", "c1"))

	// Every node knows the others after one heartbeat.
	for _, n := range []*presence.Redis{n1, n2, n3} {
		waitNodes(t, n, 2)
	}
	if err := n1.Broadcast(ctx, []byte("commit 1")); err != nil {
		t.Fatal(err)
	}
	r2.waitFor(t, "commit on n2", 3*time.Second, func() bool { return len(r2.delivered) == 1 })
	r3.waitFor(t, "commit on n3", 3*time.Second, func() bool { return len(r3.delivered) == 1 })
	for name, r := range map[string]*recorder{"n2": r2, "n3": r3} {
		r.mu.Lock()
		if got := r.delivered[0]; got != "commit 1" {
			t.Errorf("%s got %q, want the commit once", name, got)
		}
		r.mu.Unlock()
	}

	// Only n3 follows alice: only n3 hears her activity.
	if err := n3.Watch(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := n1.Activity(ctx, "alice", 1715000000); err != nil {
		t.Fatal(err)
	}
	r3.waitFor(t, "activity on n3", 3*time.Second, func() bool { return r3.activity["alice"] == 1715000000 })
	if err := n3.Unwatch(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := n1.Activity(ctx, "alice", 0); err != nil {
		t.Fatal(err)
	}
	// A later commit on n3 proves the unwatched activity was not sent first.
	if err := n1.Broadcast(ctx, []byte("commit 2")); err != nil {
		t.Fatal(err)
	}
	r3.waitFor(t, "second commit on n3", 3*time.Second, func() bool { return len(r3.delivered) == 2 })
	r3.mu.Lock()
	if v := r3.activity["alice"]; v != 1715000000 {
		t.Errorf("n3 heard activity %d after unwatching", v)
	}
	r3.mu.Unlock()

	if err := n1.EndSession(ctx, "bob", "phone", "", "", "logout"); err != nil {
		t.Fatal(err)
	}
	r2.waitFor(t, "session end on n2", 3*time.Second, func() bool { return len(r2.ended) == 1 })
	r3.waitFor(t, "session end on n3", 3*time.Second, func() bool { return len(r3.ended) == 1 })
	// A session end reaches every node, also one without the user's
	// sockets: each forgets the user's cached sessions (auth).
	if err := n2.EndSession(ctx, "carol", "", "s9", "", "revoked"); err != nil {
		t.Fatal(err)
	}
	r1.waitFor(t, "carol's session end on n1, which has no socket of hers", 3*time.Second, func() bool { return len(r1.ended) == 1 })
	r3.waitFor(t, "carol's session end on n3", 3*time.Second, func() bool { return len(r3.ended) == 2 })
	r2.mu.Lock()
	if len(r2.ended) != 1 {
		t.Errorf("sender node got its own session end: %v", r2.ended)
	}
	r2.mu.Unlock()
	r1.mu.Lock()
	if len(r1.delivered) != 0 {
		t.Errorf("sender node got its own packets: %v", r1.delivered)
	}
	r1.mu.Unlock()
}

func TestRedisDeadNodeReaped(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testReap(t, redisURL(t, b.env)) })
	}
}

// testReap: a node that stops beating (a crash) has its devices removed by
// a survivor, which reports the users that went offline; users with a
// device elsewhere stay online.
func testReap(t *testing.T, url string) {
	ctx := context.Background()
	prefix := randomPrefix()
	n1, r1 := startNode(t, url, prefix, "n1")
	defer closeNode(t, n1)
	n3, r3 := startNode(t, url, prefix, "n3")
	defer closeNode(t, n3)
	n2, _ := startNode(t, url, prefix, "n2")
	for _, c := range []struct{ user, conn string }{{"u1", "a"}, {"u1", "b"}, {"u2", "c"}} {
		if _, err := n2.Add(ctx, "o", c.user, "d", c.conn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n1.Add(ctx, "o", "u2", "d", "x"); err != nil {
		t.Fatal(err)
	}
	if got, _ := n1.OnlineUsers(ctx, "o"); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("online before crash: %v", got)
	}
	crashed := time.Now()
	n2.Crash()
	// One survivor reaps (whichever takes the lock) and reports.
	reported := func(uid string) bool {
		for _, r := range []*recorder{r1, r3} {
			r.mu.Lock()
			ok := slices.Contains(r.offline, uid)
			r.mu.Unlock()
			if ok {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !reported("u1") {
		if time.Now().After(deadline) {
			t.Fatal("timed out after 5s waiting for u1 reaped offline")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("dead node's user offline after %v", time.Since(crashed).Round(time.Millisecond))
	if reported("u2") {
		t.Error("u2 reported offline although its device on n1 lives")
	}
	if on, _ := n1.Online(ctx, "u1"); on {
		t.Error("u1 still online after reaping")
	}
	if got, _ := n1.OnlineUsers(ctx, "o"); !slices.Equal(got, []string{"u2"}) {
		t.Errorf("online after reaping: got %v, want [u2]", got)
	}
	// Every survivor, reaper or not, re-reads the log once for events the
	// dead node committed but may not have published.
	for _, r := range []*recorder{r1, r3} {
		r.waitFor(t, "recovery after the death", 5*time.Second, func() bool { return len(r.recovered) > 0 })
	}
	time.Sleep(500 * time.Millisecond)
	for i, r := range []*recorder{r1, r3} {
		r.mu.Lock()
		if n := len(r.recovered); n != 1 {
			t.Errorf("survivor %d recovered %d times, want once", i, n)
		} else if since := r.recovered[0]; !since.Before(crashed) {
			t.Errorf("survivor %d recovers from %v, after the crash", i, since)
		}
		r.mu.Unlock()
	}
}

func TestRedisRestoresLostState(t *testing.T) {
	url := redisURL(t, "SAMAGATE_TEST_REDIS_URL")
	ctx := context.Background()
	prefix := randomPrefix()
	n1, r1 := startNode(t, url, prefix, "n1")
	defer closeNode(t, n1)
	if _, err := n1.Add(ctx, "o", "u1", "web", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := n1.Watch(ctx, "u9"); err != nil {
		t.Fatal(err)
	}
	// Redis loses everything of ours (as after a restart without persistence).
	raw := redis.NewClient(mustParse(t, url))
	defer raw.Close()
	keys, err := raw.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := raw.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	if on, _ := n1.Online(ctx, "u1"); on {
		t.Fatal("u1 online right after the data loss")
	}
	r1.waitFor(t, "u1 restored", 3*time.Second, func() bool { return slices.Contains(r1.online, "u1") })
	// Other nodes sent nothing for u1 while its entry was missing: the node
	// re-reads the event log after restoring.
	r1.waitFor(t, "recovery after the restore", 3*time.Second, func() bool { return len(r1.recovered) > 0 })
	if on, _ := n1.Online(ctx, "u1"); !on {
		t.Error("u1 not online after restore")
	}
	if got, _ := n1.OnlineUsers(ctx, "o"); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("online users after restore: %v", got)
	}
	if n, _ := raw.HLen(ctx, prefix+"w:{u9}").Result(); n != 1 {
		t.Errorf("follow of u9 not restored: %d fields", n)
	}
}

func TestRedisBusGapRecovers(t *testing.T) {
	url := redisURL(t, "SAMAGATE_TEST_REDIS_URL")
	prefix := randomPrefix()
	n1, r1 := startNode(t, url, prefix, "n1")
	defer closeNode(t, n1)
	// Kill every pub/sub connection: go-redis re-subscribes, but pings sent
	// meanwhile are lost; the node must notice and recover.
	raw := redis.NewClient(mustParse(t, url))
	defer raw.Close()
	time.Sleep(300 * time.Millisecond)
	if err := raw.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	r1.waitFor(t, "recovery", 5*time.Second, func() bool { return len(r1.recovered) > 0 })
	r1.mu.Lock()
	defer r1.mu.Unlock()
	// Packets are lost from the last ping that came back before the kill.
	if since := r1.recovered[0]; !since.Before(killed) {
		t.Errorf("recovery from %v, after the subscriptions were killed (%v)", since, killed)
	}
}

func mustParse(t *testing.T, url string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// waitNodes waits until n's last heartbeat saw want other live nodes.
func waitNodes(t *testing.T, n *presence.Redis, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(n.Nodes()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("node %s sees %v, want %d other nodes", n.NodeID(), n.Nodes(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
