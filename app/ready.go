package app

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// pinger is a dependency that can say whether it answers: the store, Redis.
type pinger interface {
	Ping(ctx context.Context) error
}

// drainer says whether the node is draining (*gateway.Gateway).
type drainer interface {
	Draining() bool
}

// Readiness probing: a flood of GET /ready must not load the database, so
// the store and Redis are pinged at most once per readyEvery, each with
// readyTimeout; requests in between, and those that arrive while a probe
// runs, get the last result.
const (
	readyEvery   = time.Second
	readyTimeout = 2 * time.Second
)

// readiness answers GET /ready: 503 while the node is starting, draining,
// or cannot reach its store or Redis, with a JSON body that says which;
// 200 otherwise. A load balancer or Kubernetes readiness probe stops
// sending new sockets to a node that is not ready. It holds its own
// references, not the App's lock, so that it answers while Close drains.
type readiness struct {
	store   pinger
	redis   pinger // nil on a single node
	gw      drainer
	node    string // cluster node id, "" on a single node
	log     zerolog.Logger
	started atomic.Bool // Run has finished

	mu      sync.Mutex // guards the fields below
	probing bool
	probed  bool // a probe has finished
	at      time.Time
	last    probeResult
}

// probeResult is what one probe of the dependencies found.
type probeResult struct {
	storeErr, redisErr error
}

// readyReport is the JSON body of GET /ready.
type readyReport struct {
	// Status is "ready", "starting", "draining" or "unavailable" (a
	// dependency does not answer).
	Status string `json:"status"`
	Node   string `json:"node,omitempty"`
	// Store and Redis are "ok", "unreachable", or "unknown" before the
	// first probe; Redis is absent on a single node. Errors are logged, not
	// shown: they name internal addresses.
	Store string `json:"store"`
	Redis string `json:"redis,omitempty"`
}

func newReadiness(store, redis pinger, gw drainer, node string, log zerolog.Logger) *readiness {
	return &readiness{store: store, redis: redis, gw: gw, node: node, log: log}
}

// handler serves GET and HEAD /ready and passes every other request to next.
func (r *readiness) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/ready" || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
			next.ServeHTTP(w, req)
			return
		}
		rep := r.report(req.Context())
		status := http.StatusOK
		if rep.Status != "ready" {
			status = http.StatusServiceUnavailable
		}
		b, _ := json.Marshal(rep)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if req.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}

// report is the node's readiness now: draining and starting at once, the
// dependencies as last probed.
func (r *readiness) report(ctx context.Context) readyReport {
	res, probed := r.result(ctx)
	rep := readyReport{Node: r.node, Store: "unknown"}
	if r.redis != nil {
		rep.Redis = "unknown"
	}
	if probed {
		rep.Store = reachable(res.storeErr)
		if r.redis != nil {
			rep.Redis = reachable(res.redisErr)
		}
	}
	switch {
	case r.gw.Draining():
		rep.Status = "draining"
	case !r.started.Load() || !probed:
		rep.Status = "starting"
	case res.storeErr != nil || res.redisErr != nil:
		rep.Status = "unavailable"
	default:
		rep.Status = "ready"
	}
	return rep
}

func reachable(err error) string {
	if err != nil {
		return "unreachable"
	}
	return "ok"
}

// result returns the last probe's result, probing first when it is older
// than readyEvery and no other request is probing (that one request waits
// for it, at most readyTimeout). probed is false until a probe finished.
func (r *readiness) result(ctx context.Context) (res probeResult, probed bool) {
	r.mu.Lock()
	if r.probing || (r.probed && time.Since(r.at) < readyEvery) || r.gw.Draining() {
		res, probed = r.last, r.probed
		r.mu.Unlock()
		return res, probed
	}
	r.probing = true
	r.mu.Unlock()

	res = r.probe(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.logChange(res)
	r.probing, r.probed, r.at, r.last = false, true, time.Now(), res
	return res, true
}

// probe pings the store and Redis, in parallel, each within readyTimeout.
func (r *readiness) probe(ctx context.Context) probeResult {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	var res probeResult
	var wg sync.WaitGroup
	if r.redis != nil {
		wg.Go(func() { res.redisErr = r.redis.Ping(ctx) })
	}
	res.storeErr = r.store.Ping(ctx)
	wg.Wait()
	return res
}

// logChange logs a dependency that stopped or started answering. r.mu held.
func (r *readiness) logChange(res probeResult) {
	for _, d := range []struct {
		name      string
		was, now  error
		reachable bool
	}{{"store", r.last.storeErr, res.storeErr, true}, {"redis", r.last.redisErr, res.redisErr, r.redis != nil}} {
		switch {
		case !d.reachable:
		case d.now != nil && (d.was == nil || !r.probed):
			r.log.Warn().Err(d.now).Str("dependency", d.name).Msg("not ready: a dependency does not answer")
		case d.now == nil && d.was != nil && r.probed:
			r.log.Info().Str("dependency", d.name).Msg("ready again: the dependency answers")
		}
	}
}
