// Command samagate runs the samagate messaging gateway. With no flags it
// serves HTTP and websockets on :9001 with an SQLite database under ./data
// and no other service. Every flag has a SAMAGATE_* environment equivalent;
// flags win over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
	"github.com/samagate/samagate/metrics"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "samagate:", err)
		os.Exit(1)
	}
}

// run parses the configuration, starts the node and waits for SIGINT or
// SIGTERM, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, opts, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(opts, stderr)
	if err != nil {
		return err
	}
	gateway.RouteLibraryLogs(log.With().Str("component", "nbio").Logger())
	if h := cfg.Auth.Hash; weakHashing(h.MemoryKiB, h.Time) {
		log.Warn().Uint32("memory_kib", h.MemoryKiB).Uint32("passes", h.Time).
			Msg("password hashing is weaker than OWASP's argon2id minimum (--hash-memory-kib, --hash-time): for benchmarks only")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	go releaseMemoryOnSignal(ctx, log)

	cfg.Build = buildInfo()
	a := app.New(cfg, log)
	if err := a.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return a.Close()
}

// buildInfo names this binary for samagate_build_info: the module version,
// else the VCS revision the go command stamped, else "devel".
func buildInfo() metrics.BuildInfo {
	b := metrics.BuildInfo{Version: "devel", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
		return b
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			b.Version = s.Value[:12]
		}
	}
	return b
}

// newLogger builds the one logger passed down to every package.
func newLogger(o options, w io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log level %q: %w", o.logLevel, err)
	}
	if o.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	} else if o.logFormat != "json" {
		return zerolog.Logger{}, fmt.Errorf("log format %q: want json or console", o.logFormat)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// releaseMemoryOnSignal runs a garbage collection and returns freed memory
// to the OS on SIGUSR1, then logs the heap. Operators use it to see the
// live footprint; the load tool uses it so that its RSS readings are not
// skewed by garbage from earlier work (e.g. password hashing).
func releaseMemoryOnSignal(ctx context.Context, log zerolog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			debug.FreeOSMemory()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			log.Info().Uint64("heap_inuse_kib", m.HeapInuse>>10).Uint64("sys_kib", m.Sys>>10).
				Int("goroutines", runtime.NumGoroutine()).Msg("memory released on SIGUSR1")
		}
	}
}
