package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// commits are the group commits of the event log (chat's committer).
type commits struct {
	batch    prometheus.Histogram
	duration prometheus.Histogram
	failures prometheus.Counter
}

func (r *Registry) newCommits() {
	r.commits = commits{
		batch: r.histogram("commit_batch_size", "Requests (messages, edits, reads...) written by one group commit.",
			[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256}),
		duration: r.histogram("commit_duration_seconds", "Time one group commit took in the store, durable.",
			latencyBuckets),
		failures: r.counter("commit_failures_total", "Group commits the store refused or that timed out."),
	}
}

// Committed is told of one group commit of batches requests.
func (r *Registry) Committed(batches int, took time.Duration, err error) {
	if err != nil {
		r.commits.failures.Inc()
		return
	}
	r.commits.batch.Observe(float64(batches))
	r.commits.duration.Observe(took.Seconds())
}

// loginResults are the values of samagate_logins_total's result label.
var loginResults = []string{"ok", "wrong_password", "wrong_code", "2fa_required", "throttled", "invalid", "error"}

// Login counts one password login by its result (one of loginResults;
// anything else counts as "error").
func (r *Registry) Login(result string) {
	for _, v := range loginResults {
		if v == result {
			r.logins.WithLabelValues(v).Inc()
			return
		}
	}
	r.logins.WithLabelValues("error").Inc()
}

// clusterMetrics are the node bus's and the heartbeats' (Redis presence).
type clusterMetrics struct {
	publish     prometheus.Histogram
	pubFailures prometheus.Counter
	recoveries  prometheus.Counter
	beats       prometheus.Counter
	beatFails   prometheus.Counter
	reaped      prometheus.Counter
}

func (r *Registry) newCluster() {
	r.cluster = clusterMetrics{
		publish: r.histogram("bus_publish_duration_seconds", "Time one publish to the node bus took "+
			"(a pipelined broadcast of commits counts once).", latencyBuckets),
		pubFailures: r.counter("bus_publish_failures_total", "Publishes to the node bus that failed "+
			"(commits are then read from the log by the other nodes; other packets are queued and retried)."),
		recoveries: r.counter("bus_recoveries_total", "Times the node read back from the event log what the "+
			"bus may have lost (a gap in its pings, a dead node, Redis lost its state)."),
		beats:     r.counter("node_heartbeats_total", "Heartbeats of this node that reached Redis."),
		beatFails: r.counter("node_heartbeat_failures_total", "Heartbeats of this node that failed."),
		reaped:    r.counter("dead_nodes_reaped_total", "Dead nodes whose sockets this node removed from Redis."),
	}
}

// BusPublished is told of one publish to the bus.
func (r *Registry) BusPublished(took time.Duration, err error) {
	if err != nil {
		r.cluster.pubFailures.Inc()
		return
	}
	r.cluster.publish.Observe(took.Seconds())
}

// BusRecovered counts one recovery from the event log.
func (r *Registry) BusRecovered() { r.cluster.recoveries.Inc() }

// Heartbeat counts one heartbeat of this node.
func (r *Registry) Heartbeat(ok bool) {
	if ok {
		r.cluster.beats.Inc()
	} else {
		r.cluster.beatFails.Inc()
	}
}

// NodeReaped counts one dead node reaped by this node.
func (r *Registry) NodeReaped() { r.cluster.reaped.Inc() }
