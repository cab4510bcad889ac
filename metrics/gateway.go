package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gateway holds the per-request and per-socket metrics the gateway reports
// as they happen (Request, SocketClosed, Replayed); its gauges are read at
// scrape time (sources.go).
type gateway struct {
	framesIn  *prometheus.CounterVec   // method
	framesOut *prometheus.CounterVec   // kind: reply, error (events: sources.go)
	duration  *prometheus.HistogramVec // method
	errs      *prometheus.CounterVec   // status
	closes    *prometheus.CounterVec   // code, reason
	replayN   prometheus.Histogram
	replayDur prometheus.Histogram

	replies, errReplies prometheus.Counter
	methods             sync.Map // method -> *methodMetrics
	statuses            sync.Map // status -> prometheus.Counter
	closeCodes          sync.Map // code -> prometheus.Counter
}

// methodMetrics are one method's children, resolved once: a request then
// costs two atomic adds and no label hashing.
type methodMetrics struct {
	in  prometheus.Counter
	dur prometheus.Observer
}

func (r *Registry) newGateway() {
	g := &r.gateway
	g.framesIn = r.counterVec("frames_received_total", "Frames read from sockets, by method "+
		"(\"invalid\": undecodable or too large; \"unknown\": no such method).", "method")
	g.framesOut = r.counterVec("frames_sent_total", "Frames written to sockets by kind: reply, error, event.", "kind")
	g.replies, g.errReplies = g.framesOut.WithLabelValues("reply"), g.framesOut.WithLabelValues("error")
	g.duration = r.histogramVec("request_duration_seconds", "Time from a frame's arrival until its reply "+
		"was queued (a message: until its durable commit), by method.", latencyBuckets, "method")
	g.errs = r.counterVec("request_errors_total", "Error replies by status (SAMA's: 400, 401, 403, 404, 413, "+
		"422, 429, 500, 503).", "status")
	g.closes = r.counterVec("socket_closes_total", "Sockets closed, by close code and its reason "+
		"(the code the server sent, else the peer's or the connection's).", "code", "reason")
	g.replayN = r.histogram("replay_events", "Events one catch-up replay sent a socket.",
		[]float64{0, 1, 10, 100, 1000, 10000, 100000})
	g.replayDur = r.histogram("replay_duration_seconds", "Time one catch-up replay took, until the socket went live.",
		latencyBuckets)
}

// Request is told of every frame a socket sent once it is answered: its
// method, the status of the reply (200; an error's status; 0 when the
// method has no reply, like typing) and the time until the reply was
// queued. The gateway names only methods of its route table, "unknown"
// and "invalid", so the label stays bounded.
func (r *Registry) Request(method string, status int, took time.Duration) {
	g := &r.gateway
	m, ok := g.methods.Load(method)
	if !ok {
		m, _ = g.methods.LoadOrStore(method, &methodMetrics{
			in:  g.framesIn.WithLabelValues(method),
			dur: g.duration.WithLabelValues(method),
		})
	}
	mm := m.(*methodMetrics)
	mm.in.Inc()
	mm.dur.Observe(took.Seconds())
	switch {
	case status >= 400:
		g.errReplies.Inc()
		child(&g.statuses, status, func() prometheus.Counter {
			return g.errs.WithLabelValues(strconv.Itoa(status))
		}).Inc()
	case status > 0:
		g.replies.Inc()
	}
}

// SocketClosed counts a closed socket by its close code; reason is the
// code's short name (a fixed string per code).
func (r *Registry) SocketClosed(code int, reason string) {
	g := &r.gateway
	child(&g.closeCodes, code, func() prometheus.Counter {
		return g.closes.WithLabelValues(strconv.Itoa(code), reason)
	}).Inc()
}

// Replayed is told of one catch-up replay: how many events it sent and
// how long it took.
func (r *Registry) Replayed(events int, took time.Duration) {
	r.gateway.replayN.Observe(float64(events))
	r.gateway.replayDur.Observe(took.Seconds())
}

// child returns the counter cached under key in m, made by mk the first
// time.
func child(m *sync.Map, key int, mk func() prometheus.Counter) prometheus.Counter {
	if c, ok := m.Load(key); ok {
		return c.(prometheus.Counter)
	}
	c, _ := m.LoadOrStore(key, mk())
	return c.(prometheus.Counter)
}
