package metrics_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/samagate/samagate/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// value finds the sample of family name whose labels include want.
func value(t *testing.T, r *metrics.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			return sampleOf(m), true
		}
	}
	return 0, false
}

func sampleOf(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func must(t *testing.T, r *metrics.Registry, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := value(t, r, name, labels)
	if !ok {
		t.Fatalf("%s%v: no sample", name, labels)
	}
	if got != want {
		t.Fatalf("%s%v: got %v, want %v", name, labels, got, want)
	}
}

// TestNames: Names lists every family the registry can export, whether or
// not it has a sample yet (vectors without children, sources not set), and
// the runtime's.
func TestNames(t *testing.T) {
	r := metrics.New(metrics.BuildInfo{GoVersion: "go1.26"})
	names := r.Names()
	for _, want := range []string{
		"samagate_sockets", "samagate_users_online", "samagate_devices_online", "samagate_frames_received_total",
		"samagate_frames_sent_total", "samagate_request_duration_seconds", "samagate_request_errors_total",
		"samagate_socket_closes_total", "samagate_send_queue_bytes", "samagate_deliveries_total",
		"samagate_socket_writes_total", "samagate_replay_events", "samagate_replay_duration_seconds",
		"samagate_draining", "samagate_commit_batch_size", "samagate_commit_duration_seconds",
		"samagate_logins_total", "samagate_bus_publish_duration_seconds", "samagate_bus_publish_failures_total",
		"samagate_bus_recoveries_total", "samagate_node_heartbeats_total", "samagate_dead_nodes_reaped_total",
		"samagate_redis_pool_connections", "samagate_postgres_pool_connections", "samagate_build_info",
		"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("Names lacks %s", want)
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("Names is not sorted and unique: %v", names)
	}
	must(t, r, "samagate_build_info", map[string]string{"version": "devel", "goversion": "go1.26"}, 1)
}

// TestRequests: a request counts once under its method, errors by status,
// replies and errors by kind; the per-method children are reused.
func TestRequests(t *testing.T) {
	r := metrics.New(metrics.BuildInfo{})
	r.Request("message", 200, 3*time.Millisecond)
	r.Request("message", 200, 5*time.Millisecond)
	r.Request("message", 422, time.Millisecond)
	r.Request("typing", 0, time.Millisecond)
	r.Request("invalid", 400, time.Microsecond)
	must(t, r, "samagate_frames_received_total", map[string]string{"method": "message"}, 3)
	must(t, r, "samagate_frames_received_total", map[string]string{"method": "typing"}, 1)
	must(t, r, "samagate_request_duration_seconds", map[string]string{"method": "message"}, 3)
	must(t, r, "samagate_request_errors_total", map[string]string{"status": "422"}, 1)
	must(t, r, "samagate_request_errors_total", map[string]string{"status": "400"}, 1)
	must(t, r, "samagate_frames_sent_total", map[string]string{"kind": "reply"}, 2)
	must(t, r, "samagate_frames_sent_total", map[string]string{"kind": "error"}, 2)
}

// TestSources: gauges are read from their owners at scrape time, and the
// gateway's events complete frames_sent_total beside the replies.
func TestSources(t *testing.T) {
	r := metrics.New(metrics.BuildInfo{})
	if _, ok := value(t, r, "samagate_sockets", nil); ok {
		t.Fatal("sockets reported before the gateway is set")
	}
	st := metrics.GatewayStats{Unauthenticated: 2, Bound: 5, Users: 3, Devices: 4, QueuedBytes: 100,
		Deliveries: 7, LiveEvents: 3, Writes: 6, Draining: true}
	r.ReadGateway(func() metrics.GatewayStats { return st })
	r.ReadRedisPool(func() metrics.RedisPoolStats { return metrics.RedisPoolStats{Total: 10, Idle: 8, Timeouts: 1} })
	r.ReadPostgresPool(func() metrics.PostgresPoolStats {
		return metrics.PostgresPoolStats{Total: 4, Acquired: 1, Idle: 3, AcquireWaitSeconds: 0.5}
	})
	r.Request("ping", 200, time.Millisecond)
	must(t, r, "samagate_sockets", map[string]string{"state": "unauthenticated"}, 2)
	must(t, r, "samagate_sockets", map[string]string{"state": "bound"}, 5)
	must(t, r, "samagate_users_online", nil, 3)
	must(t, r, "samagate_devices_online", nil, 4)
	must(t, r, "samagate_send_queue_bytes", nil, 100)
	must(t, r, "samagate_deliveries_total", nil, 7)
	must(t, r, "samagate_frames_sent_total", map[string]string{"kind": "event"}, 10)
	must(t, r, "samagate_frames_sent_total", map[string]string{"kind": "reply"}, 1)
	must(t, r, "samagate_socket_writes_total", nil, 6)
	must(t, r, "samagate_draining", nil, 1)
	must(t, r, "samagate_redis_pool_connections", map[string]string{"state": "idle"}, 8)
	must(t, r, "samagate_redis_pool_timeouts_total", nil, 1)
	must(t, r, "samagate_postgres_pool_connections", map[string]string{"state": "acquired"}, 1)
	must(t, r, "samagate_postgres_pool_acquire_wait_seconds_total", nil, 0.5)
	st.Bound = 1
	must(t, r, "samagate_sockets", map[string]string{"state": "bound"}, 1)
}

// TestEvents: closes, replays, commits, logins and the cluster's events.
func TestEvents(t *testing.T) {
	r := metrics.New(metrics.BuildInfo{})
	r.SocketClosed(4000, "slow_consumer")
	r.SocketClosed(4000, "slow_consumer")
	r.SocketClosed(0, "other")
	r.Replayed(12, time.Second)
	r.Committed(8, 2*time.Millisecond, nil)
	r.Committed(3, time.Millisecond, errors.New("disk full"))
	r.Login("ok")
	r.Login("wrong_password")
	r.Login("no such result")
	r.BusPublished(time.Millisecond, nil)
	r.BusPublished(time.Millisecond, errors.New("down"))
	r.BusRecovered()
	r.Heartbeat(true)
	r.Heartbeat(false)
	r.NodeReaped()
	must(t, r, "samagate_socket_closes_total", map[string]string{"code": "4000", "reason": "slow_consumer"}, 2)
	must(t, r, "samagate_socket_closes_total", map[string]string{"code": "0", "reason": "other"}, 1)
	must(t, r, "samagate_replay_events", nil, 1)
	must(t, r, "samagate_commit_batch_size", nil, 1)
	must(t, r, "samagate_commit_failures_total", nil, 1)
	must(t, r, "samagate_logins_total", map[string]string{"result": "ok"}, 1)
	must(t, r, "samagate_logins_total", map[string]string{"result": "wrong_password"}, 1)
	must(t, r, "samagate_logins_total", map[string]string{"result": "error"}, 1)
	must(t, r, "samagate_logins_total", map[string]string{"result": "throttled"}, 0)
	must(t, r, "samagate_bus_publish_duration_seconds", nil, 1)
	must(t, r, "samagate_bus_publish_failures_total", nil, 1)
	must(t, r, "samagate_bus_recoveries_total", nil, 1)
	must(t, r, "samagate_node_heartbeats_total", nil, 1)
	must(t, r, "samagate_node_heartbeat_failures_total", nil, 1)
	must(t, r, "samagate_dead_nodes_reaped_total", nil, 1)
}

// TestHandler: the handler serves the text format Prometheus scrapes.
func TestHandler(t *testing.T) {
	r := metrics.New(metrics.BuildInfo{})
	r.ReadGateway(func() metrics.GatewayStats { return metrics.GatewayStats{Bound: 1} })
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`samagate_sockets{state="bound"} 1`, "# TYPE samagate_frames_sent_total counter", "go_goroutines "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
