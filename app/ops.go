package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// opsServer serves an operator's endpoints (Prometheus metrics at
// /metrics, Go's profiles under /debug/pprof/) on a listener of their own
// (Config.MetricsAddr, Config.DebugAddr), never on the public port: they
// show the node's inner workings, and a CPU profile costs the node while
// it runs. When both addresses are the same, one server serves both.
type opsServer struct {
	name string // the configured address
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// debugRoutes adds the /debug/pprof/ tree to mux (importing net/http/pprof
// also registers it on http.DefaultServeMux, which samagate never serves).
func debugRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// startOps listens on addr and serves h until close.
func startOps(ctx context.Context, addr string, h http.Handler) (*opsServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	d := &opsServer{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		addr: ln.Addr(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(d.done)
		_ = d.srv.Serve(ln) // ErrServerClosed after close
	}()
	return d, nil
}

// close stops the server; a profile still being taken is cut off when ctx
// ends.
func (d *opsServer) close(ctx context.Context) error {
	err := d.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = d.srv.Close()
	}
	<-d.done
	if err != nil {
		return fmt.Errorf("close %s server: %w", d.addr, err)
	}
	return nil
}

// startOps starts the metrics and debug listeners that are configured: one
// server when both name the same address.
func (a *App) startOps(ctx context.Context) error {
	cfg := a.cfg
	mux := map[string]*http.ServeMux{}
	order := []string{}
	route := func(addr string, add func(*http.ServeMux)) {
		if addr == "" {
			return
		}
		if mux[addr] == nil {
			mux[addr] = http.NewServeMux()
			order = append(order, addr)
		}
		add(mux[addr])
	}
	route(cfg.MetricsAddr, func(m *http.ServeMux) { m.Handle("/metrics", a.metrics.Handler()) })
	route(cfg.DebugAddr, debugRoutes)
	for _, addr := range order {
		o, err := startOps(ctx, addr, mux[addr])
		if err != nil {
			return err
		}
		o.name = addr
		a.ops = append(a.ops, o)
	}
	if cfg.MetricsAddr != "" {
		a.log.Info().Str("metrics_addr", a.opsAddrLocked(cfg.MetricsAddr).String()).Msg("Prometheus metrics served at /metrics (--metrics-addr)")
	}
	if cfg.DebugAddr != "" {
		a.log.Warn().Str("debug_addr", a.opsAddrLocked(cfg.DebugAddr).String()).Msg("profiling endpoints served at /debug/pprof/ (--debug-addr): keep them private")
	}
	return nil
}

// opsAddr is the bound address of the ops listener configured as addr, or
// nil.
func (a *App) opsAddr(addr string) net.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opsAddrLocked(addr)
}

func (a *App) opsAddrLocked(addr string) net.Addr {
	if addr == "" {
		return nil
	}
	for _, o := range a.ops {
		if o.name == addr {
			return o.addr
		}
	}
	return nil
}
