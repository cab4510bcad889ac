package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	sdkdashboard "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/samagate/samagate/metrics"
)

const dashboardPath = "grafana/samagate.json"

// exportedMetrics is every metric family name samagate exports, from the
// code: a node's registry lists its families (samagate_*, go_*, process_*).
func exportedMetrics() []string {
	return metrics.New(metrics.BuildInfo{}).Names()
}

// exportedHistograms are the histograms of exportedMetrics: Prometheus
// stores a histogram as its _bucket, _sum and _count series, never under the
// family's own name, and those suffixes mean nothing on other metrics.
// Names() does not give types, and a histogram with labels shows no type
// until it has a child, so the list is kept here and TestExportedHistograms
// checks it against the registry.
var exportedHistograms = []string{
	"samagate_request_duration_seconds", "samagate_replay_events", "samagate_replay_duration_seconds",
	"samagate_commit_batch_size", "samagate_commit_duration_seconds", "samagate_bus_publish_duration_seconds",
}

// dashboardSubjects are what the dashboard must show (issue 12): a metric
// each, and a piece of PromQL that shows it the intended way.
var dashboardSubjects = []struct{ subject, metric, expr string }{
	{"sockets", "samagate_sockets", "samagate_sockets"},
	{"online users", "samagate_users_online", "samagate_users_online"},
	{"message rate", "samagate_frames_received_total", `method="message"`},
	{"delivery rate", "samagate_deliveries_total", "rate(samagate_deliveries_total"},
	{"p99 request latency", "samagate_request_duration_seconds_bucket", "histogram_quantile(0.99, sum by (le, method) (rate(samagate_request_duration_seconds_bucket"},
	{"closes by code", "samagate_socket_closes_total", "sum by (code, reason) (rate(samagate_socket_closes_total"},
	{"commit latency", "samagate_commit_duration_seconds_bucket", "histogram_quantile(0.99, sum by (le) (rate(samagate_commit_duration_seconds_bucket"},
	{"bus publish latency", "samagate_bus_publish_duration_seconds_bucket", "samagate_bus_publish_duration_seconds_bucket"},
	{"bus failures", "samagate_bus_publish_failures_total", "samagate_bus_publish_failures_total"},
	{"node heartbeats", "samagate_node_heartbeats_total", "samagate_node_heartbeats_total"},
}

// The parts of Grafana's dashboard JSON the test reads.
type (
	dashboard struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []dashVariable `json:"list"`
		} `json:"templating"`
		Panels []dashPanel `json:"panels"`
	}
	dashVariable struct {
		Name       string       `json:"name"`
		Type       string       `json:"type"`
		Query      any          `json:"query"` // a string, or {"query": "..."}
		Datasource *dashDSource `json:"datasource"`
	}
	dashPanel struct {
		ID         int          `json:"id"`
		Type       string       `json:"type"`
		Title      string       `json:"title"`
		Datasource *dashDSource `json:"datasource"`
		Targets    []struct {
			Expr       string       `json:"expr"`
			RefID      string       `json:"refId"`
			Datasource *dashDSource `json:"datasource"`
		} `json:"targets"`
		Panels []dashPanel `json:"panels"` // a collapsed row's
	}
	dashDSource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
)

// dsVar is how every query names its data source: the dashboard variable,
// so an operator picks their Prometheus at import.
const dsVar = "${datasource}"

// grafanaVars are Grafana's interval variables, replaced by a duration so
// the PromQL parses; other variables stand inside label matcher strings.
var grafanaVars = regexp.MustCompile(`\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}`)

var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$`)

// decodeGrafana decodes the dashboard strictly with the Grafana Foundation
// SDK: Grafana's dashboard schema, generated from Grafana's own definitions,
// with the options of each panel type and the Prometheus query model. It
// rejects an unknown or misspelt field, a value of the wrong type and a
// missing required field, where Grafana itself would silently drop or
// default them at import.
func decodeGrafana(raw []byte) error {
	plugins.RegisterDefaultPlugins()
	// The SDK prefers its dashboardv2 (Grafana 12's new resource format);
	// the file is the classic dashboard JSON every Grafana imports, which is
	// this type.
	//lint:ignore SA1019 the classic dashboard JSON model is what the file is.
	var d sdkdashboard.Dashboard
	if err := d.UnmarshalJSONStrict(raw); !noBuildErrors(err) {
		return fmt.Errorf("%s: %w", dashboardPath, err)
	}
	if err := d.Validate(); !noBuildErrors(err) {
		return fmt.Errorf("%s: %w", dashboardPath, err)
	}
	return nil
}

// noBuildErrors reports whether err is nil, or an empty cog.BuildErrors
// (the SDK returns its error list as an error even when it is empty).
func noBuildErrors(err error) bool {
	var be cog.BuildErrors
	return err == nil || (errors.As(err, &be) && len(be) == 0)
}

// checkDashboard decodes the dashboard strictly (decodeGrafana), parses
// every query in it with Prometheus's own PromQL parser, and reports a
// query that does not parse, a metric that
// samagate does not export (histograms' _bucket, _sum and _count series
// count as their family), a query not on the datasource variable, and a
// subject of the issue the dashboard does not show. It returns the metrics
// queried.
func checkDashboard(raw []byte, exported, histograms []string) (queried []string, err error) {
	if err := decodeGrafana(raw); err != nil {
		return nil, err
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", dashboardPath, err)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d.Title == "" || d.UID == "" {
		bad("dashboard needs a title and a uid")
	}
	known := map[string]bool{}
	for _, n := range exported {
		known[n] = true
	}
	seen := map[string]bool{}
	var exprs []string
	metric := func(where, name string) {
		seen[name] = true
		if slices.Contains(histograms, name) {
			bad("%s: %s is a histogram: query its _bucket, _sum or _count series", where, name)
			return
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(histograms, b) {
				name = b
			}
		}
		if !known[name] {
			bad("%s: metric %s is not one samagate exports", where, name)
		}
	}
	query := func(where, expr string) {
		exprs = append(exprs, expr)
		e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.ReplaceAllString(expr, "5m"))
		if err != nil {
			bad("%s: %q: %v", where, expr, err)
			return
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				if vs.Name == "" {
					bad("%s: %q selects series without a metric name", where, expr)
				} else {
					metric(where, vs.Name)
				}
			}
			return nil
		})
	}

	hasDS := false
	for _, v := range d.Templating.List {
		where := "variable " + v.Name
		switch v.Type {
		case "datasource":
			hasDS = hasDS || (v.Name == "datasource" && v.Query == "prometheus")
		case "query":
			if v.Datasource == nil || v.Datasource.UID != dsVar {
				bad("%s: data source is not %s", where, dsVar)
			}
			q, _ := v.Query.(string)
			if m, ok := v.Query.(map[string]any); ok {
				q, _ = m["query"].(string)
			}
			if lv := labelValues.FindStringSubmatch(q); lv != nil {
				metric(where, lv[1])
			} else {
				query(where, q)
			}
		}
	}
	if !hasDS {
		bad("no Prometheus data source variable named datasource")
	}

	ids := map[int]bool{}
	var walk func([]dashPanel)
	walk = func(panels []dashPanel) {
		for _, p := range panels {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if ids[p.ID] {
				bad("%s: id used twice", where)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != dsVar || p.Datasource.Type != "prometheus" {
				bad("%s: data source is not the prometheus %s", where, dsVar)
			}
			if len(p.Targets) == 0 {
				bad("%s: no query", where)
			}
			for _, t := range p.Targets {
				if t.Datasource != nil && t.Datasource.UID != dsVar {
					bad("%s, query %s: data source is not %s", where, t.RefID, dsVar)
				}
				query(where+", query "+t.RefID, t.Expr)
			}
		}
	}
	walk(d.Panels)

	for _, s := range dashboardSubjects {
		if !seen[s.metric] || !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, s.expr) }) {
			bad("the dashboard does not show %s (%s, a query with %q)", s.subject, s.metric, s.expr)
		}
	}
	for n := range seen {
		queried = append(queried, n)
	}
	slices.Sort(queried)
	return queried, errors.Join(errs...)
}

// TestDashboardMetrics: every query of the Grafana dashboard parses and
// asks only for metrics samagate exports, and the dashboard shows what
// issue 12 names.
func TestDashboardMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	queried, err := checkDashboard(raw, exportedMetrics(), exportedHistograms)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d metrics queried: %v", len(queried), queried)
}

// TestDashboardCheckCatches breaks the dashboard one way at a time and
// wants the check above to say so.
func TestDashboardCheckCatches(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt metric", `sum by (state) (samagate_sockets{`, `sum by (state) (samagate_socket{`, "metric samagate_socket is not one samagate exports"},
		{"counter without _total", `increase(samagate_dead_nodes_reaped_total{`, `increase(samagate_dead_nodes_reaped{`, "metric samagate_dead_nodes_reaped is not one samagate exports"},
		{"suffix of no histogram", `sum(rate(samagate_socket_writes_total{`, `sum(rate(samagate_socket_writes_total_count{`, "metric samagate_socket_writes_total_count is not one"},
		{"histogram without suffix", `sum(rate(samagate_commit_batch_size_sum{`, `sum(rate(samagate_commit_batch_size{`, "samagate_commit_batch_size is a histogram: query its _bucket, _sum or _count"},
		{"PromQL that does not parse", `sum by (code, reason) (rate(samagate_socket_closes_total{`, `sum by (code, reason) (rate(samagate_socket_closes_total{{`, `parse error: unexpected left brace`},
		{"variable of an unknown metric", `"query": "label_values(samagate_build_info, instance)"`, `"query": "label_values(samagate_buildinfo, instance)"`, "variable instance: metric samagate_buildinfo is not one"},
		{"fixed data source", `"expr": "sum by (state) (samagate_sockets{instance=~\"$instance\"})",`, `"expr": "sum by (state) (samagate_sockets{instance=~\"$instance\"})", "datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"},`, `"Sockets by state", query A: data source is not ${datasource}`},
		{"misspelt field", `"graphTooltip": 1,`, `"graphTootip": 1,`, `Dashboard: unexpected field 'graphTootip'`},
		{"misspelt panel option", `"showPercentChange": false,
        "percentChangeColorMode": "standard"
      },
      "targets": [
        {
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count(`, `"showPercentChange": false,
        "percentChangeColorMode": "standard",
        "colourMode": "value"
      },
      "targets": [
        {
          "datasource": {
            "type": "prometheus",
            "uid": "${datasource}"
          },
          "expr": "count(`, `unexpected field 'colourMode'`},
		{"wrong type", `"schemaVersion": 39,`, `"schemaVersion": "39",`, `schemaVersion: json: cannot unmarshal string`},
		{"missing required field", `"w": 24,
        "x": 0,
        "y": 0`, `"x": 0,
        "y": 0`, `gridPos.w: required field is missing`},
		{"subject dropped", `histogram_quantile(0.99, sum by (le, method)`, `histogram_quantile(0.9, sum by (le, method)`, "does not show p99 request latency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := strings.Count(string(raw), tc.old); n != 1 {
				t.Fatalf("the dashboard holds %q %d times, want once: update the case", tc.old, n)
			}
			_, err := checkDashboard([]byte(strings.Replace(string(raw), tc.old, tc.new, 1)), exportedMetrics(), exportedHistograms)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			t.Logf("caught: %v", err)
		})
	}
}

// TestExportedHistograms: exportedHistograms are families of the registry,
// and every family the registry gathers as a histogram is listed.
func TestExportedHistograms(t *testing.T) {
	r := metrics.New(metrics.BuildInfo{})
	for _, h := range exportedHistograms {
		if !slices.Contains(r.Names(), h) {
			t.Errorf("%s is not a metric of the registry", h)
		}
	}
	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		isHist := f.GetType() == dto.MetricType_HISTOGRAM
		if isHist != slices.Contains(exportedHistograms, f.GetName()) {
			t.Errorf("%s is a %v: update exportedHistograms", f.GetName(), f.GetType())
		}
	}
}
