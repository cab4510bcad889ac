package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeRows are interleaved before/after runs at three targets, plus a
// connect line and an empty fanout run the plot must skip.
func fakeRows() []any {
	var rows []any
	for rep := range 2 {
		for i, target := range []float64{30000, 60000, 90000} {
			for _, label := range []string{"before", "after <&>"} {
				slow := 1.0
				if label == "before" {
					slow = 2
				}
				r := fanoutResult{runInfo: runInfo{Label: label, Scenario: "fanout", Nodes: 1},
					TargetDeliveriesPerS:   target,
					AchievedDeliveriesPerS: target*0.98 - float64(rep*100),
					DeliveryP50Ms:          slow * float64(i+1) * (1 + float64(rep)/10),
					DeliveryP99Ms:          slow * 10 * float64(i+1),
				}
				rows = append(rows, r)
			}
		}
	}
	rows = append(rows, connectResult{runInfo: runInfo{Label: "c", Scenario: "connect"}, Connects: 5},
		fanoutResult{runInfo: runInfo{Label: "empty", Scenario: "fanout"}, TargetDeliveriesPerS: 1000})
	return rows
}

// TestPlotSVG: the SVG is well-formed XML, has one polyline per label and
// percentile, and each polyline's x coordinates increase.
func TestPlotSVG(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.jsonl")
	for _, r := range fakeRows() {
		if err := appendJSONLine(in, r); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "f.svg")
	if err := runPlot([]string{"-in", in, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	lines := map[string][]float64{}
	var texts []string
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if !sawRoot {
				if e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root element %v, want svg in the SVG namespace", e.Name)
				}
				sawRoot = true
			}
			if e.Name.Local != "polyline" {
				continue
			}
			var name, points string
			for _, a := range e.Attr {
				switch a.Name.Local {
				case "data-series":
					name = a.Value
				case "points":
					points = a.Value
				}
			}
			if _, dup := lines[name]; dup {
				t.Fatalf("two polylines for %q", name)
			}
			var xs []float64
			for _, pt := range strings.Fields(points) {
				x, _, _ := strings.Cut(pt, ",")
				v, err := strconv.ParseFloat(x, 64)
				if err != nil {
					t.Fatalf("%s: bad point %q", name, pt)
				}
				xs = append(xs, v)
			}
			lines[name] = xs
		case xml.CharData:
			texts = append(texts, string(e))
		}
	}
	var names []string
	for n := range lines {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"after <&> p50", "after <&> p99", "before p50", "before p99"}
	if !slices.Equal(names, want) {
		t.Fatalf("polylines %q, want %q", names, want)
	}
	for n, xs := range lines {
		if len(xs) != 3 {
			t.Errorf("%s: %d points, want 3 (one per target)", n, len(xs))
		}
		for i := 1; i < len(xs); i++ {
			if xs[i] <= xs[i-1] {
				t.Errorf("%s: x not increasing: %v", n, xs)
			}
		}
	}
	all := strings.Join(texts, "|")
	for _, w := range []string{"samagate fanout", "achieved deliveries per second", "log scale", "20k", "80k", "1|", "10|", "100|"} {
		if !strings.Contains(all, w) {
			t.Errorf("no text %q in the SVG (texts: %s)", w, all)
		}
	}
}

// TestPlotSeriesMeans: repeats of a target are averaged (x arithmetic,
// latencies geometric) and sorted by x.
func TestPlotSeriesMeans(t *testing.T) {
	var rows []fanoutResult
	for _, r := range fakeRows() {
		if f, ok := r.(fanoutResult); ok {
			rows = append(rows, f)
		}
	}
	ss := plotSeries(rows)
	if len(ss) != 2 || ss[0].label != "before" {
		t.Fatalf("series %+v", ss)
	}
	p := ss[0].points[0]
	if len(p.runs) != 2 || p.x != 30000*0.98-50 {
		t.Fatalf("first point %+v", p)
	}
	if want := 2 * 1.0 * 1.0488088481701516; p.p50 < want-1e-9 || p.p50 > want+1e-9 { // sqrt(1*1.1)
		t.Fatalf("p50 geometric mean %v, want %v", p.p50, want)
	}
}

// TestJSONLineShape: a fanout and a connect line carry the documented keys
// with the expected JSON types, one object per line.
func TestJSONLineShape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.jsonl")
	cpu := 57.5
	f := fanoutResult{runInfo: newRunInfo("fanout", "after", "abc123", 2), TargetDeliveriesPerS: 30000, ServerCPUPct: &cpu}
	c := connectResult{runInfo: newRunInfo("connect", "after", "", 1)}
	for _, r := range []any{f, c} {
		if err := appendJSONLine(path, r); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), data)
	}
	check := func(line string, want map[string]string) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for key, typ := range want {
			v, ok := m[key]
			if !ok {
				t.Errorf("no key %q in %s", key, line)
				continue
			}
			got := "null"
			switch v.(type) {
			case string:
				got = "string"
			case float64:
				got = "number"
			case bool:
				got = "bool"
			}
			if got != typ {
				t.Errorf("%s is %s, want %s", key, got, typ)
			}
		}
	}
	check(lines[0], map[string]string{
		"time": "string", "label": "string", "scenario": "string", "rev": "string", "nodes": "number",
		"groups": "number", "members": "number", "window_s": "number",
		"target_deliveries_per_s": "number", "achieved_deliveries_per_s": "number", "acked_per_s": "number",
		"ask_p50_ms": "number", "ask_p99_ms": "number",
		"delivery_p50_ms": "number", "delivery_p90_ms": "number", "delivery_p99_ms": "number",
		"delivery_p999_ms": "number", "delivery_max_ms": "number",
		"deliveries_expected": "number", "deliveries_in_window": "number", "deliveries_late": "number",
		"deliveries_missing": "number", "inflight_start": "number", "inflight_end": "number", "backlog_grew": "bool",
		"server_cpu_pct": "number", "server_rss_kib": "number", "client_cpu_pct": "number",
		"client_cpu_us_per_delivery": "number",
	})
	check(lines[1], map[string]string{
		"scenario": "string", "connects_per_s": "number", "errors": "number", "connect_p50_ms": "number",
		"connect_p99_ms": "number", "server_cpu_s_per_1000_connects": "null", "client_cpu_s": "number",
	})
	if strings.Contains(lines[1], `"rev"`) {
		t.Errorf("an empty rev is written: %s", lines[1])
	}
}
