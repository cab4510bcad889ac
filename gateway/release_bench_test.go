package gateway

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/samagate/samagate/chat"
)

// nopConn takes every write at once and keeps nothing.
type nopConn struct{ written *atomic.Int64 }

func (c nopConn) writeTexts(frames [][]byte, _ int, sent *atomic.Int64) (int, error) {
	n := 0
	for _, f := range frames {
		n += wireSize(len(f))
	}
	sent.Add(int64(n))
	c.written.Add(int64(n))
	return 1, nil
}
func (nopConn) writePing() error      { return nil }
func (nopConn) closeWith(int, string) {}
func (nopConn) closeStalled()         {}
func (nopConn) remoteAddr() string    { return "127.0.0.1:1" }

// BenchmarkReleaseRun is the fan-out stage without the network: runs of 8
// commits, each one message to a group of 100 members with a socket each,
// released and flushed as the sequencer does. It reports the cost per
// delivery (one frame queued on one socket); the writes themselves cost
// nothing here.
//
//	go test -run '^$' -bench ReleaseRun -benchmem ./gateway/
func BenchmarkReleaseRun(b *testing.B) {
	g := testGateway(Config{})
	var users []string
	for i := range 100 {
		u := fmt.Sprint("u", i)
		users = append(users, u)
		c := nopConn{}
		s := g.newSocket(&c)
		c.written = &s.written
		g.hub.bind(s, u, 0)
	}
	d := chat.Delivery{Frame: []byte(`{"message":{"_id":"0123456789abcdef01234567","body":"benchmark"}}`), UserIDs: users}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for range 8 {
			g.release(&d)
		}
		g.flushReleased()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*8*len(users)), "ns/delivery")
}
