package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
)

// TestSlowConsumerIsolated: one client stops reading while making the server
// write to it; it is closed once its bounded queue overflows, and another
// client keeps exchanging frames with low latency the whole time.
func TestSlowConsumerIsolated(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		unlimited(c) // the slow client floods, the fast one pings in a loop: the slow consumer bound is under test
		c.Gateway.SendQueueBytes = 256 << 10
	})
	slow := n.dial(t)
	fast := n.dial(t)
	waitFor(t, "two sockets", func() bool { return n.app.Online() == 2 })

	// Each ping echoes a 60 KiB id; slow never reads its replies.
	frame := `{"request":{"ping":{},"id":"` + strings.Repeat("z", 60<<10) + `"}}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan int)
	go func() {
		sent := 0
		for ; sent < 2000; sent++ {
			if err := slow.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				break
			}
		}
		done <- sent
	}()

	var worst time.Duration
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; n.app.Online() == 2; i++ {
		if time.Now().After(deadline) {
			t.Fatal("slow consumer was never closed")
		}
		start := time.Now()
		fast.roundTrip(fmt.Sprintf(`{"request":{"ping":{},"id":"f%d"}}`, i), fmt.Sprintf(`{"response":{"id":"f%d","pong":{}}}`, i))
		if d := time.Since(start); d > worst {
			worst = d
		}
	}
	sent := <-done
	t.Logf("slow consumer closed after %d frames of 60 KiB; worst fast round trip %s", sent, worst)
	if worst > 2*time.Second {
		t.Fatalf("fast client round trip: got %s worst, want under 2s", worst)
	}
	fast.roundTrip(`{"request":{"ping":{},"id":"after"}}`, `{"response":{"id":"after","pong":{}}}`)
}

// TestKeepaliveClosesDeadPeer: a peer that never answers pings is closed
// after the keep-alive timeout; one that answers stays.
func TestKeepaliveClosesDeadPeer(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		c.Gateway.PingInterval = 100 * time.Millisecond
		c.Gateway.KeepaliveTimeout = 400 * time.Millisecond
	})
	alive := n.dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = alive.c.CloseRead(ctx) // reads in the background, answering pings
	dead := n.dial(t)          // never reads: pings go unanswered
	waitFor(t, "two sockets", func() bool { return n.app.Online() == 2 })
	waitFor(t, "the dead peer closed", func() bool { return n.app.Online() == 1 })
	time.Sleep(600 * time.Millisecond)
	if got := n.app.Online(); got != 1 {
		t.Fatalf("after 1s: got %d sockets, want 1 (the answering peer)", got)
	}
	_ = dead
}

// TestGracefulShutdown: Close tells every socket to reconnect (1012).
func TestGracefulShutdown(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	c1 := n.connected(t, a, "d1")
	c2 := n.dial(t)
	waitFor(t, "two sockets", func() bool { return n.app.Online() == 2 })
	if err := n.app.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	c1.expectClose(websocket.StatusServiceRestart)
	c2.expectClose(websocket.StatusServiceRestart)
}
