package redisthrottle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/presence"
	"github.com/samagate/samagate/protocol"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backends are the Redis deployments `make test` starts: a standalone
// server and a three-master cluster.
var backends = []struct{ name, env string }{
	{"Standalone", "SAMAGATE_TEST_REDIS_URL"},
	{"Cluster", "SAMAGATE_TEST_REDIS_CLUSTER_URL"},
}

// forEachBackend runs f as a subtest per backend, with a fresh client and a
// random key prefix, so runs never see each other's counts.
func forEachBackend(t *testing.T, f func(t *testing.T, rdb redis.UniversalClient, prefix string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url := os.Getenv(b.env)
			if url == "" {
				t.Skipf("%s is not set; `make test` starts Redis and sets it", b.env)
			}
			rdb, err := presence.NewRedisClient(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			var p [6]byte
			_, _ = rand.Read(p[:])
			f(t, rdb, "test:"+hex.EncodeToString(p[:])+":")
		})
	}
}

var ctx = context.Background()

// long never lifts within a test: the counting cases do not wait.
var long = auth.ThrottleConfig{PerAccount: 10, PerAddress: 50, Window: time.Minute, Block: 30 * time.Second}

// Accounts hold a NUL and braces, which must not break the hash tags.
func account(i int) string { return fmt.Sprintf("org\x00us}er{%d", i) }

func fail(t *testing.T, th *Throttle, account, addr string) {
	t.Helper()
	if err := th.Fail(ctx, account, addr); err != nil {
		t.Fatalf("fail: %v", err)
	}
}

func wantOpen(t *testing.T, what string, th *Throttle, account, addr string) {
	t.Helper()
	if err := th.Check(ctx, account, addr); err != nil {
		t.Fatalf("%s: got %v, want no block", what, err)
	}
}

func wantBlocked(t *testing.T, what string, th *Throttle, account, addr string, block time.Duration) {
	t.Helper()
	err := th.Check(ctx, account, addr)
	te, ok := errors.AsType[*auth.ThrottledError](err)
	if !ok || !errors.Is(err, protocol.ErrTooManyRequest) {
		t.Fatalf("%s: got %v, want a ThrottledError", what, err)
	}
	if te.RetryAfter <= block-2*time.Second || te.RetryAfter > block {
		t.Fatalf("%s: retry after %v, want close to %v", what, te.RetryAfter, block)
	}
}

func TestSharedAccountCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		n1, n2 := New(rdb, long, prefix), New(rdb, long, prefix) // two nodes
		acc := account(1)
		for i := range 9 {
			fail(t, []*Throttle{n1, n2}[i%2], acc, fmt.Sprintf("10.0.0.%d", i))
		}
		wantOpen(t, "9 failures", n1, acc, "10.0.1.1")
		wantOpen(t, "9 failures, other node", n2, acc, "10.0.1.1")
		fail(t, n2, acc, "10.0.0.9")
		wantBlocked(t, "10 failures, node 1", n1, acc, "10.0.1.1", long.Block)
		wantBlocked(t, "10 failures, node 2", n2, acc, "", long.Block)
		wantOpen(t, "other account", n1, account(2), "10.0.1.1")
		wantOpen(t, "similar account", n1, "org\x00us}er{", "")
	})
}

func TestAddressBlock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		n1, n2 := New(rdb, long, prefix), New(rdb, long, prefix)
		const addr = "192.0.2.7"
		for i := range 49 { // 25 accounts, two failures each: none reaches 10
			fail(t, []*Throttle{n1, n2}[i%2], account(i/2), addr)
		}
		wantOpen(t, "49 failures", n1, account(100), addr)
		fail(t, n1, account(99), addr)
		wantBlocked(t, "address, fresh account", n2, account(100), addr, long.Block)
		wantOpen(t, "fresh account, other address", n2, account(100), "192.0.2.8")
		wantOpen(t, "counted account, no address", n1, account(0), "")
		// Failures without an address count per account only.
		for i := range 60 {
			fail(t, n1, account(200+i), "")
		}
		wantOpen(t, "no address", n1, account(300), "")
	})
}

func TestBlockLifts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		cfg := auth.ThrottleConfig{PerAccount: 3, PerAddress: 5, Window: 2 * time.Second, Block: time.Second}
		n1, n2 := New(rdb, cfg, prefix), New(rdb, cfg, prefix)
		acc := account(1)
		for range 3 {
			fail(t, n1, acc, "")
		}
		wantBlocked(t, "blocked", n2, acc, "", cfg.Block)
		time.Sleep(cfg.Block + 100*time.Millisecond)
		wantOpen(t, "after Block", n2, acc, "")
		// Reaching the limit reset the counter: a new block takes 3 more.
		fail(t, n2, acc, "")
		fail(t, n1, acc, "")
		wantOpen(t, "two failures after the block", n1, acc, "")
	})
}

func TestWindowExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		cfg := auth.ThrottleConfig{PerAccount: 3, PerAddress: 5, Window: time.Second, Block: time.Minute}
		th := New(rdb, cfg, prefix)
		acc := account(1)
		fail(t, th, acc, "")
		fail(t, th, acc, "")
		time.Sleep(cfg.Window + 100*time.Millisecond)
		fail(t, th, acc, "")
		wantOpen(t, "failures in two windows", th, acc, "")
	})
}

func TestSucceed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		n1, n2 := New(rdb, long, prefix), New(rdb, long, prefix)
		acc := account(1)
		for range 9 {
			fail(t, n1, acc, "")
		}
		if err := n2.Succeed(ctx, acc); err != nil {
			t.Fatal(err)
		}
		fail(t, n1, acc, "")
		wantOpen(t, "success cleared the count", n2, acc, "")
		for range 9 {
			fail(t, n1, acc, "")
		}
		wantBlocked(t, "blocked", n1, acc, "", long.Block)
		if err := n2.Succeed(ctx, acc); err != nil {
			t.Fatal(err)
		}
		wantBlocked(t, "success keeps the block", n1, acc, "", long.Block)
	})
}

func TestKeysExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		cfg := auth.ThrottleConfig{PerAccount: 2, PerAddress: 3, Window: 20 * time.Second, Block: 10 * time.Second}
		th := New(rdb, cfg, prefix)
		acc := account(1)
		const addr = "198.51.100.1"
		fail(t, th, acc, addr)
		accCounter, accBlock := th.keys("a", acc)
		addrCounter, addrBlock := th.keys("i", addr)
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
		wantTTL(accCounter, cfg.Window)
		wantTTL(addrCounter, cfg.Window)
		fail(t, th, acc, addr)
		wantTTL(accBlock, cfg.Block)
		fail(t, th, account(2), addr)
		wantTTL(addrBlock, cfg.Block)
		if n, err := rdb.Exists(ctx, accCounter).Result(); err != nil || n != 0 {
			t.Fatalf("counter after the block: exists %d, %v; want it reset", n, err)
		}
		wantTTL(th.prefix+"th:{a:"+hashHex(account(2))+"}", cfg.Window)
	})
}

// TestKeySlots: a counter and its block share a slot, so fail.lua runs on
// a cluster; accounts and addresses spread over slots.
func TestKeySlots(t *testing.T) {
	th := New(nil, auth.ThrottleConfig{}, "")
	for _, id := range []string{"", "a}b", "{x}", "org\x00alice", "::1"} {
		for _, kind := range []string{"a", "i"} {
			c, b := th.keys(kind, id)
			if c[:3] != "sg:" || b != c+":b" {
				t.Fatalf("keys(%q, %q) = %q, %q", kind, id, c, b)
			}
			if tag(c) != tag(b) || tag(c) != kind+":"+hashHex(id) {
				t.Fatalf("keys(%q, %q): tags %q, %q", kind, id, tag(c), tag(b))
			}
		}
	}
	ca, _ := th.keys("a", "x")
	ci, _ := th.keys("i", "x")
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
