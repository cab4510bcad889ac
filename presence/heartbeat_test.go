package presence_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samagate/samagate/presence"
)

// beats counts a node's heartbeats (presence.Observer).
type beats struct{ ok, failed atomic.Int32 }

func (b *beats) BusPublished(time.Duration, error) {}
func (b *beats) BusRecovered()                     {}
func (b *beats) NodeReaped()                       {}
func (b *beats) Heartbeat(ok bool) {
	if ok {
		b.ok.Add(1)
	} else {
		b.failed.Add(1)
	}
}

// TestHeartbeatsOwnClient: while the node's pool is all taken by calls
// that do not end (a blocking pop holds its only connection), its
// heartbeats still reach Redis on their own client; on the shared client
// they fail, and the other nodes would take it for dead.
func TestHeartbeatsOwnClient(t *testing.T) {
	url := redisURL(t, "SAMAGATE_TEST_REDIS_URL")
	for _, own := range []bool{true, false} {
		rdb, err := presence.NewRedisClient(url, presence.Pool{Size: 1, Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		b := &beats{}
		r, err := presence.NewRedis(rdb, presence.RedisConfig{Prefix: randomPrefix(), NodeID: "hb",
			Heartbeat: 100 * time.Millisecond, DeadAfter: 2 * time.Second, Observer: b}, testLog())
		if err != nil {
			t.Fatal(err)
		}
		if own {
			hb, err := presence.NewHeartbeatClient(url)
			if err != nil {
				t.Fatal(err)
			}
			r.UseHeartbeatClient(hb)
		}
		if err := r.Start(context.Background(), newRecorder()); err != nil {
			t.Fatal(err)
		}
		// The pool's one connection is held for 1.5 s.
		held := make(chan struct{})
		go func() {
			defer close(held)
			_ = rdb.BLPop(context.Background(), 1500*time.Millisecond, randomPrefix()+"nothing").Err()
		}()
		time.Sleep(100 * time.Millisecond)
		okBefore, failedBefore := b.ok.Load(), b.failed.Load()
		time.Sleep(time.Second)
		okDuring, failedDuring := b.ok.Load()-okBefore, b.failed.Load()-failedBefore
		<-held
		closeNode(t, r)
		t.Logf("own heartbeat client %v: %d beats reached Redis, %d failed while the pool was taken", own, okDuring, failedDuring)
		switch {
		case own && (okDuring < 5 || failedDuring > 0):
			t.Errorf("own client: %d beats ok, %d failed in 1 s; want about 10 ok, none failed", okDuring, failedDuring)
		case !own && failedDuring == 0:
			t.Errorf("shared client: no beat failed while its only connection was held (%d ok); the test no longer shows the queueing", okDuring)
		}
	}
}
