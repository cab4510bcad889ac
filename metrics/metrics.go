// Package metrics is samagate's Prometheus instrumentation: one Registry per
// node (no global registry, so tests run many nodes in one process) that the
// other packages report to through small interfaces they declare themselves
// (gateway.Observer, chat.Observer, auth.Observer, presence.Observer), and
// that reads gauges (sockets, users online, pools) from their owners only
// when scraped, so that nothing on the message path pays for a gauge.
//
// Label values are bounded: methods come from the gateway's route table
// (others are "unknown" or "invalid"), statuses and close codes are small
// numbers; no user, device or conversation id is ever a label.
package metrics

import (
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of samagate's own.
const namespace = "samagate"

// BuildInfo names the running binary (samagate_build_info).
type BuildInfo struct {
	Version   string // module version or VCS revision; "devel" when unknown
	GoVersion string
}

// Registry holds a node's metrics. Create it with New; every method is safe
// for concurrent use, and a nil *Registry is not valid (pass an interface
// value of nil instead to turn metrics off in a package).
type Registry struct {
	reg   *prometheus.Registry
	names []string // every family this registry defines, sorted

	gateway
	commits
	logins  *prometheus.CounterVec
	cluster clusterMetrics
	sources sources
}

// New builds a registry with samagate's metrics, the Go runtime's and the
// process's.
func New(b BuildInfo) *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	if b.Version == "" {
		b.Version = "devel"
	}
	r.gaugeVec("build_info", "The samagate build: always 1, its version and Go version as labels.",
		"version", "goversion").WithLabelValues(b.Version, b.GoVersion).Set(1)
	r.newGateway()
	r.newCommits()
	r.logins = r.counterVec("logins_total", "Password logins (HTTP and websocket) by result: ok, wrong_password, "+
		"wrong_code, 2fa_required, throttled, invalid, error.", "result")
	for _, res := range loginResults {
		r.logins.WithLabelValues(res) // every result is listed from the start, at 0
	}
	r.newCluster()
	r.newSources()
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if fams, err := r.reg.Gather(); err == nil {
		for _, f := range fams {
			if !strings.HasPrefix(f.GetName(), namespace+"_") {
				r.names = append(r.names, f.GetName())
			}
		}
	}
	slices.Sort(r.names)
	r.names = slices.Compact(r.names)
	return r
}

// Handler serves the registry in Prometheus' text format (or OpenMetrics
// when asked), for GET /metrics.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg, EnableOpenMetrics: true})
}

// Gatherer is the registry, for tests that read values.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Names lists every metric family the registry exports (samagate's own,
// go_* and process_*), sorted: what a dashboard may query.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// counterVec, gaugeVec, histogram... create a samagate_ metric, register it
// and record its name.
func (r *Registry) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	r.add(name, c)
	return c
}

func (r *Registry) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	r.add(name, c)
	return c
}

func (r *Registry) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	r.add(name, g)
	return g
}

func (r *Registry) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
	r.add(name, h)
	return h
}

func (r *Registry) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	r.add(name, h)
	return h
}

// desc is the descriptor of a metric a collector makes at scrape time.
func (r *Registry) desc(name, help string, labels ...string) *prometheus.Desc {
	r.names = append(r.names, namespace+"_"+name)
	return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
}

func (r *Registry) add(name string, c prometheus.Collector) {
	r.reg.MustRegister(c)
	r.names = append(r.names, namespace+"_"+name)
}

// Latency buckets: requests and commits from 0.5 ms to 10 s.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
