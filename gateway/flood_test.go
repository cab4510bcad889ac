package gateway_test

import (
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/protocol"
)

// floodResult is what one flood measured.
type floodResult struct {
	written, answered, code int
	growth                  int64 // peak RSS minus RSS before, bytes
}

// flood writes up to frames copies of frame on a raw socket to n as fast as
// TCP takes them, reading nothing meanwhile, and measures the process's
// peak RSS until the server closes the socket.
func flood(t *testing.T, n *node, frame []byte, frames int) floodResult {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	before := rssBytes(t)
	var peak atomic.Int64
	peak.Store(before)
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := rssBytes(t); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	rc, status := rawDial(t, n.app.Addr().String(), nil)
	if rc == nil {
		t.Fatalf("upgrade: got status %d, want 101", status)
	}
	done := make(chan floodResult, 1)
	go func() {
		a, c := rc.readUntilClose(30 * time.Second)
		done <- floodResult{answered: a, code: c}
	}()
	_ = rc.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	written := 0
	for ; written < frames; written++ {
		if _, err := rc.c.Write(frame); err != nil {
			break
		}
	}
	r := <-done
	close(stop)
	<-sampled
	r.written, r.growth = written, peak.Load()-before
	return r
}

// TestFrameFlood is the review's attack (3,000 frames of 60 KB from one
// socket took a node from 80 to 389 MB in 0.4 s): one socket writes them as
// fast as TCP takes them and reads nothing meanwhile. Its queue of frames
// not handled yet is bounded (Config.MaxInflightBytes/Frames): it is closed
// with 4002 (CloseFlood) and the process's memory stays near where it was.
// The node goes on serving others.
func TestFrameFlood(t *testing.T) {
	n := startNode(t, nil)
	r := flood(t, n, rawFrame([]byte(`{"request":{"ping":{"pad":"`+strings.Repeat("x", 60_000)+`"},"id":"p"}}`)), 3000)
	t.Logf("3,000 × 60 KB frames offered from one socket: %d written before the close, %d answered, closed with %d; RSS peak +%.1f MB",
		r.written, r.answered, r.code, float64(r.growth)/(1<<20))
	if r.code != protocol.CloseFlood {
		t.Fatalf("close code: got %d, want %d (CloseFlood)", r.code, protocol.CloseFlood)
	}
	if r.written == 3000 {
		t.Fatal("every frame was taken: the socket was not closed while flooding")
	}
	if r.growth > 48<<20 {
		t.Fatalf("RSS grew by %.1f MB during the flood, want under 48 MB", float64(r.growth)/(1<<20))
	}
	c := n.dial(t)
	c.roundTrip(`{"request":{"ping":{},"id":"after"}}`, `{"response":{"id":"after","pong":{}}}`)

	// A socket within its bound is not closed: 8 frames of 60 KB written at
	// once (under 2 MiB) are all answered.
	ok := n.dial(t)
	frame := `{"request":{"ping":{"pad":"` + strings.Repeat("y", 60_000) + `"},"id":"ok"}}`
	for range 8 {
		ok.send(frame)
	}
	for range 8 {
		ok.expect(`{"response":{"id":"ok","pong":{}}}`)
	}

	// The frame bound: 1,000 small frames at once against a bound of 64.
	n2 := startNode(t, func(c *app.Config) { c.Gateway.MaxInflightFrames = 64 })
	rc, _ := rawDial(t, n2.app.Addr().String(), nil)
	small := rawFrame([]byte(`{"request":{"ping":{},"id":"s"}}`))
	var burst []byte
	for range 1000 {
		burst = append(burst, small...)
	}
	_ = rc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = rc.c.Write(burst)
	answered, code := rc.readUntilClose(10 * time.Second)
	t.Logf("1,000 small frames in one write against a bound of 64 frames: %d answered, closed with %d", answered, code)
	if code != protocol.CloseFlood || answered >= 1000 {
		t.Fatalf("got %d answered and close code %d, want fewer than 1000 and %d", answered, code, protocol.CloseFlood)
	}
}
