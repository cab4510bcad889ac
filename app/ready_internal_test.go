package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/store/sqlite"
)

// countedPinger counts the pings that reach a real store.
type countedPinger struct {
	p pinger
	n atomic.Int32
}

func (c *countedPinger) Ping(ctx context.Context) error {
	c.n.Add(1)
	return c.p.Ping(ctx)
}

type drainFlag struct{ atomic.Bool }

func (d *drainFlag) Draining() bool { return d.Load() }

// TestReadiness: GET /ready is 503 "starting" until Run finished, 200
// while the store answers, 503 "unavailable" once it does not, 503
// "draining" at once; a flood of requests pings the store at most once a
// second; other requests pass through.
func TestReadiness(t *testing.T) {
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &countedPinger{p: db}
	var drain drainFlag
	r := newReadiness(store, nil, &drain, "", zerolog.Nop())
	h := r.handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	get := func(path string) (int, readyReport) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var rep readyReport
		if path == "/ready" {
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatalf("GET /ready body %q: %v", rec.Body.String(), err)
			}
		}
		return rec.Code, rep
	}
	want := func(what string, code int, status, storeState string) {
		t.Helper()
		got, rep := get("/ready")
		if got != code || rep.Status != status || rep.Store != storeState || rep.Redis != "" {
			t.Fatalf("%s: got %d %+v, want %d status %q store %q", what, got, rep, code, status, storeState)
		}
	}

	want("before Run finished", http.StatusServiceUnavailable, "starting", "ok")
	r.started.Store(true)
	want("running", http.StatusOK, "ready", "ok")

	start := time.Now()
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if code, _ := get("/ready"); code != http.StatusOK {
				t.Errorf("flood: got %d", code)
			}
		})
	}
	wg.Wait()
	if n, limit := store.n.Load(), int32(time.Since(start)/readyEvery)+2; n > limit {
		t.Errorf("202 requests in %v pinged the store %d times, want at most %d", time.Since(start), n, limit)
	}
	if code, _ := get("/health"); code != http.StatusTeapot {
		t.Errorf("GET /health: got %d, want the next handler's 418", code)
	}

	if err := db.Close(); err != nil { // pings fail from now on
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * readyEvery)
	for code, _ := get("/ready"); code == http.StatusOK; code, _ = get("/ready") {
		if time.Now().After(deadline) {
			t.Fatal("still ready 3 s after the store closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want("store closed", http.StatusServiceUnavailable, "unavailable", "unreachable")
	drain.Store(true)
	want("draining", http.StatusServiceUnavailable, "draining", "unreachable")
}
