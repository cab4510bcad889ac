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

// debugServer serves Go's profiling endpoints (net/http/pprof) on a
// listener of their own (Config.DebugAddr), never on the public port:
// profiles show code paths, and a CPU profile costs the node while it runs.
type debugServer struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// debugMux is the /debug/pprof/ tree on a fresh mux (importing
// net/http/pprof also registers it on http.DefaultServeMux, which samagate
// never serves).
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startDebug listens on addr and serves the profiles until close.
func startDebug(ctx context.Context, addr string) (*debugServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen debug: %w", err)
	}
	d := &debugServer{
		srv:  &http.Server{Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second},
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
func (d *debugServer) close(ctx context.Context) error {
	err := d.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = d.srv.Close()
	}
	<-d.done
	if err != nil {
		return fmt.Errorf("close debug server: %w", err)
	}
	return nil
}
