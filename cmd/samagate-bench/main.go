// Command samagate-bench is samagate's load tool. Scenarios:
//
//	idle     open N authenticated websockets (HTTP /login, then connect)
//	         from several loopback source addresses, hold them, and report
//	         the gateway's resident memory per connection.
//	connect  D dialers open websockets and send connect over and over:
//	         connects/s, latency, and the gateway's CPU per 1,000 connects.
//	fanout   G groups of M sockets, one publisher per group pacing itself to
//	         a target of deliveries/s (several targets in turn): delivery
//	         and ask latency, backlog, the gateway's CPU and memory.
//	plot     an SVG of fanout's delivery latency against deliveries/s.
//	channel  one channel of N connected subscribers, its owner posts: the
//	         time until the last subscriber's socket has the post, and the
//	         gateway's memory during the fan-out.
//
// connect and fanout append one JSON line per run or rate to -out and
// print a table; they spawn 1 or N gateways (-spawn, -nodes) or target
// running ones (-addrs, -pids).
//
// It talks only the public wire protocol, so it measures any SAMA server.
// Targets must be loopback addresses; every run is bounded in time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "samagate-bench:", err)
		os.Exit(1)
	}
}

// run dispatches to a scenario; main and the tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if _, ok := stderr.(*os.File); !ok {
		// Progress lines come from many goroutines, and a spawned gateway's
		// output from os/exec's copier: a writer other than a file (a test's
		// buffer) needs a lock.
		stderr = &lockedWriter{w: stderr}
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: samagate-bench idle|connect|fanout|plot|channel [flags]   (samagate-bench <scenario> -h for flags)")
		return flag.ErrHelp
	}
	switch args[0] {
	case "idle":
		return runIdle(ctx, args[1:], stdout, stderr)
	case "fanout":
		return runFanout(ctx, args[1:], stdout, stderr)
	case "connect":
		return runConnect(ctx, args[1:], stdout, stderr)
	case "plot":
		return runPlot(args[1:], stderr)
	case "channel":
		return runChannel(ctx, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("unknown scenario %q (want: idle, connect, fanout, plot, channel)", args[0])
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
