package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// GatewayStats is what a scrape reads from the gateway: counts kept by
// their owners anyway, or cheap to total (one pass over the sockets).
type GatewayStats struct {
	Unauthenticated, Bound int   // open sockets
	Users, Devices         int   // bound on this node: users, (user, device) pairs
	QueuedBytes            int64 // bytes queued on sockets that the kernel has not taken
	Deliveries             int64 // logged events queued for local sockets (live and replayed)
	LiveEvents             int64 // live-only events (typing, activity) queued for local sockets
	Writes                 int64 // writes to sockets (each may carry several frames)
	Draining               bool
}

// RedisPoolStats is the Redis client's pool (go-redis PoolStats).
type RedisPoolStats struct {
	Total, Idle, Stale int64
	Timeouts           int64 // waits for a connection that timed out (cumulative)
}

// PostgresPoolStats is the PostgreSQL pool (pgxpool Stat).
type PostgresPoolStats struct {
	Total, Idle, Acquired int64
	AcquireWaitSeconds    float64 // total time spent waiting for a connection (cumulative)
}

// sources reads the gauges of parts built after the registry; each is
// set once its part exists (ReadGateway...) and read on every scrape.
type sources struct {
	gw       atomic.Pointer[func() GatewayStats]
	redis    atomic.Pointer[func() RedisPoolStats]
	postgres atomic.Pointer[func() PostgresPoolStats]

	sockets, users, devices, queued, deliveries, draining, writes *prometheus.Desc
	events                                                        *prometheus.Desc // frames_sent_total{kind="event"}
	redisConns, redisTimeouts                                     *prometheus.Desc
	pgConns, pgWait                                               *prometheus.Desc
}

func (r *Registry) newSources() {
	s := &r.sources
	s.sockets = r.desc("sockets", "Open sockets by state: unauthenticated, bound.", "state")
	s.users = r.desc("users_online", "Users with a bound socket on this node.")
	s.devices = r.desc("devices_online", "Devices (user, device id) with a bound socket on this node.")
	s.queued = r.desc("send_queue_bytes", "Bytes queued on this node's sockets that the kernel has not taken yet.")
	s.deliveries = r.desc("deliveries_total", "Logged events queued for this node's sockets, live or replayed.")
	s.writes = r.desc("socket_writes_total", "Writes to sockets; each may carry several frames.")
	s.draining = r.desc("draining", "1 while the node drains (it refuses new sockets and closes its own).")
	s.events = prometheus.NewDesc(namespace+"_frames_sent_total", "Frames written to sockets by kind: reply, error, event.",
		nil, prometheus.Labels{"kind": "event"})
	s.redisConns = r.desc("redis_pool_connections", "Connections of the Redis client's pool by state: total, idle, stale.", "state")
	s.redisTimeouts = r.desc("redis_pool_timeouts_total", "Waits for a Redis connection that timed out.")
	s.pgConns = r.desc("postgres_pool_connections", "Connections of the PostgreSQL pool by state: total, idle, acquired.", "state")
	s.pgWait = r.desc("postgres_pool_acquire_wait_seconds_total", "Time spent waiting for a PostgreSQL connection.")
	r.reg.MustRegister(sourceCollector{s})
}

// ReadGateway sets where scrapes read the gateway's gauges.
func (r *Registry) ReadGateway(f func() GatewayStats) { r.sources.gw.Store(&f) }

// ReadRedisPool sets where scrapes read the Redis pool (cluster nodes).
func (r *Registry) ReadRedisPool(f func() RedisPoolStats) { r.sources.redis.Store(&f) }

// ReadPostgresPool sets where scrapes read the PostgreSQL pool.
func (r *Registry) ReadPostgresPool(f func() PostgresPoolStats) { r.sources.postgres.Store(&f) }

// sourceCollector is the scrape-time collector of sources. Its metrics are
// "unchecked" (Describe sends nothing): frames_sent_total{kind="event"}
// completes a family whose other children a CounterVec holds.
type sourceCollector struct{ s *sources }

func (sourceCollector) Describe(chan<- *prometheus.Desc) {}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	count := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	if f := s.gw.Load(); f != nil {
		st := (*f)()
		gauge(s.sockets, float64(st.Unauthenticated), "unauthenticated")
		gauge(s.sockets, float64(st.Bound), "bound")
		gauge(s.users, float64(st.Users))
		gauge(s.devices, float64(st.Devices))
		gauge(s.queued, float64(st.QueuedBytes))
		count(s.deliveries, float64(st.Deliveries))
		count(s.events, float64(st.Deliveries+st.LiveEvents))
		count(s.writes, float64(st.Writes))
		draining := 0.0
		if st.Draining {
			draining = 1
		}
		gauge(s.draining, draining)
	}
	if f := s.redis.Load(); f != nil {
		st := (*f)()
		gauge(s.redisConns, float64(st.Total), "total")
		gauge(s.redisConns, float64(st.Idle), "idle")
		gauge(s.redisConns, float64(st.Stale), "stale")
		count(s.redisTimeouts, float64(st.Timeouts))
	}
	if f := s.postgres.Load(); f != nil {
		st := (*f)()
		gauge(s.pgConns, float64(st.Total), "total")
		gauge(s.pgConns, float64(st.Idle), "idle")
		gauge(s.pgConns, float64(st.Acquired), "acquired")
		count(s.pgWait, st.AcquireWaitSeconds)
	}
}
