// Command samagate-bench is samagate's load tool. Scenarios:
//
//	idle  open N authenticated websockets (HTTP /login, then connect) from
//	      several loopback source addresses, hold them, and report the
//	      gateway's resident memory per connection.
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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: samagate-bench idle [flags]   (samagate-bench idle -h for flags)")
		return flag.ErrHelp
	}
	switch args[0] {
	case "idle":
		return runIdle(ctx, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("unknown scenario %q (want: idle)", args[0])
	}
}
