package redisthrottle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/auth/throttletest"
	"github.com/samagate/samagate/presence"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backends are the Redis deployments `make test` starts: a standalone
// server and a three-master cluster.
var backends = []struct{ name, env string }{
	{"Standalone", "SAMAGATE_TEST_REDIS_URL"},
	{"Cluster", "SAMAGATE_TEST_REDIS_CLUSTER_URL"},
}

// forEachBackend runs f as a subtest per backend with a fresh client.
func forEachBackend(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := os.Getenv(b.env)
			if url == "" {
				t.Skipf("%s is not set; `make test` starts Redis and sets it", b.env)
			}
			rdb, err := presence.NewRedisClient(url, presence.Pool{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			f(t, rdb)
		})
	}
}

// prefix is a random key prefix, so runs never see each other's counts.
func prefix() string {
	var p [6]byte
	_, _ = rand.Read(p[:])
	return "test:" + hex.EncodeToString(p[:]) + ":"
}

// TestContract runs the shared throttle contract (auth/throttletest) on
// Redis, standalone and cluster: the same body the memory throttle passes.
func TestContract(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		throttletest.Run(t, func(t *testing.T, cfg auth.ThrottleConfig) auth.Throttle {
			return New(rdb, cfg, prefix())
		})
	})
}

// TestTwoNodes: two nodes' throttles on one Redis share every count.
func TestTwoNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := auth.ThrottleConfig{PerAccount: 4, Window: time.Minute, Block: 30 * time.Second}
		p := prefix()
		n1, n2 := New(rdb, cfg, p), New(rdb, cfg, p)
		acc := auth.Key{Kind: auth.KindAccount, ID: "u1"}
		for i := range 4 {
			node := []*Throttle{n1, n2}[i%2]
			if err := node.Reserve(ctx, acc); err != nil {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
			if err := node.Fail(ctx, acc); err != nil {
				t.Fatal(err)
			}
		}
		for _, node := range []*Throttle{n1, n2} {
			if _, ok := node.Reserve(ctx, acc).(*auth.ThrottledError); !ok {
				t.Fatal("a node let an attempt through after 4 failures spread over two nodes")
			}
		}
	})
}

var ctx = context.Background()

// TestKeysExpire: every key the throttle writes has an expiry: the counter
// within the window, the block within the block time.
func TestKeysExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		cfg := auth.ThrottleConfig{PerAccount: 2, PerAddress: 3, Window: 20 * time.Second, Block: 10 * time.Second}
		th := New(rdb, cfg, prefix())
		acc, addr := auth.Key{Kind: auth.KindAccount, ID: "org\x00alice"}, auth.Key{Kind: auth.KindAddress, ID: "198.51.100.1"}
		wantTTL := func(key string, limit time.Duration) {
			t.Helper()
			d, err := rdb.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if d <= 0 || d > limit {
				t.Fatalf("%q: ttl %v, want in (0, %v]", key, d, limit)
			}
		}
		for range 2 {
			if err := th.Reserve(ctx, acc, addr); err != nil {
				t.Fatal(err)
			}
		}
		accCounter, accBlock := th.keys(acc)
		addrCounter, _ := th.keys(addr)
		wantTTL(accCounter, cfg.Window)
		wantTTL(addrCounter, cfg.Window)
		if err := th.Fail(ctx, acc, addr); err != nil {
			t.Fatal(err)
		}
		wantTTL(accBlock, cfg.Block)
		if err := th.Refund(ctx, addr); err != nil {
			t.Fatal(err)
		}
		wantTTL(addrCounter, cfg.Window)
		if n, err := rdb.Exists(ctx, accCounter).Result(); err != nil || n != 0 {
			t.Fatalf("counter after the block: exists %d, %v; want it reset", n, err)
		}
	})
}

// TestKeySlots: a counter and its block share a slot, so the scripts run on
// a cluster; kinds and ids spread over slots.
func TestKeySlots(t *testing.T) {
	th := New(nil, auth.ThrottleConfig{}, "")
	for _, id := range []string{"", "a}b", "{x}", "org\x00alice", "::1"} {
		for _, kind := range []auth.KeyKind{auth.KindAccount, auth.KindAddress, auth.KindSecondFactor, auth.KindSignup} {
			k := auth.Key{Kind: kind, ID: id}
			c, b := th.keys(k)
			if c[:3] != "sg:" || b != c+":b" {
				t.Fatalf("keys(%q) = %q, %q", k, c, b)
			}
			if tag(c) != tag(b) || tag(c) != string(kind)+":"+hashHex(id) {
				t.Fatalf("keys(%q): tags %q, %q", k, tag(c), tag(b))
			}
		}
	}
	ca, _ := th.keys(auth.Key{Kind: auth.KindAccount, ID: "x"})
	ci, _ := th.keys(auth.Key{Kind: auth.KindAddress, ID: "x"})
	if tag(ca) == tag(ci) {
		t.Fatal("account and address of the same text share a key")
	}
}

// tag is the Redis Cluster hash tag of key: the text between the first '{'
// and the next '}', or the whole key.
func tag(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j == i+1 {
					return key
				}
				return key[i+1 : j]
			}
		}
		return key
	}
	return key
}

// hashHex is the hex SHA-256 of s, computed apart from the code under test.
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
