package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// runPlot draws delivery latency (p50 and p99, log scale) against achieved
// deliveries per second from fanout JSON lines, one line per label, as a
// self-contained SVG.
func runPlot(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "fanout JSON lines files, comma-separated")
	out := fs.String("out", "fanout.svg", "SVG file to write")
	title := fs.String("title", "samagate fanout: delivery latency against deliveries per second", "title of the plot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("plot: -in is required")
	}
	var rows []fanoutResult
	for _, path := range strings.Split(*in, ",") {
		r, err := readFanoutLines(strings.TrimSpace(path))
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	series := plotSeries(rows)
	if len(series) == 0 {
		return fmt.Errorf("plot: no fanout lines with deliveries in %s", *in)
	}
	if err := os.WriteFile(*out, []byte(renderSVG(*title, subtitle(rows), series)), 0o644); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	fmt.Fprintf(stderr, "plot: %d series written to %s\n", len(series), *out)
	return nil
}

// readFanoutLines reads the fanout lines of a JSON lines file; other
// scenarios' lines are skipped.
func readFanoutLines(path string) ([]fanoutResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	defer f.Close()
	var out []fanoutResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r fanoutResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("plot: %s:%d: %w", path, n, err)
		}
		if r.Scenario == "fanout" {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// point is one target rate of a series: the mean achieved rate and the
// geometric means of the latencies over the runs of that target (the
// interleaved repeats of a before/after comparison), plus every run.
type point struct {
	x, p50, p99 float64
	runs        [][3]float64 // x, p50, p99 of each run
}

// series is one label's points, sorted by x.
type series struct {
	label  string
	points []point
}

// plotSeries groups rows by label (in order of first appearance) and by
// target rate.
func plotSeries(rows []fanoutResult) []series {
	var out []series
	index := map[string]int{}
	byTarget := map[string]map[float64]*point{}
	for _, r := range rows {
		if r.AchievedDeliveriesPerS <= 0 || r.DeliveryP50Ms <= 0 || r.DeliveryP99Ms <= 0 {
			continue // nothing delivered: no place on a log scale
		}
		label := r.Label
		if label == "" {
			label = fmt.Sprintf("%d node(s)", r.Nodes)
		}
		if _, ok := index[label]; !ok {
			index[label] = len(out)
			out = append(out, series{label: label})
			byTarget[label] = map[float64]*point{}
		}
		p := byTarget[label][r.TargetDeliveriesPerS]
		if p == nil {
			p = &point{}
			byTarget[label][r.TargetDeliveriesPerS] = p
		}
		p.runs = append(p.runs, [3]float64{r.AchievedDeliveriesPerS, r.DeliveryP50Ms, r.DeliveryP99Ms})
	}
	for i := range out {
		for _, p := range byTarget[out[i].label] {
			var sx, l50, l99 float64
			for _, r := range p.runs {
				sx += r[0]
				l50 += math.Log(r[1])
				l99 += math.Log(r[2])
			}
			n := float64(len(p.runs))
			p.x, p.p50, p.p99 = sx/n, math.Exp(l50/n), math.Exp(l99/n)
			out[i].points = append(out[i].points, *p)
		}
		slices.SortFunc(out[i].points, func(a, b point) int { return compareFloat(a.x, b.x) })
	}
	return out
}

// compareFloat orders points by x.
func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Plot geometry, in SVG user units.
const (
	plotW, plotH                       = 860, 520
	marginL, marginR, marginT, marginB = 80, 200, 60, 60
)

// subtitle says what the runs were: their group shapes and how to read
// the lines.
func subtitle(rows []fanoutResult) string {
	var shapes []string
	for _, r := range rows {
		if r.AchievedDeliveriesPerS <= 0 {
			continue
		}
		s := fmt.Sprintf("%d groups × %d sockets, %d-byte bodies", r.Groups, r.Members, r.BodyBytes)
		if !slices.Contains(shapes, s) {
			shapes = append(shapes, s)
		}
	}
	return strings.Join(shapes, "; ") + ". Solid p50, dashed p99; dots are runs, lines their means per target."
}

// renderSVG draws the series: x linear from 0, y logarithmic in ms over
// whole decades, p50 solid and p99 dashed in the label's colour.
func renderSVG(title, sub string, ss []series) string {
	maxX, minY, maxY := 0.0, math.Inf(1), 0.0
	for _, s := range ss {
		for _, p := range s.points {
			for _, r := range append(p.runs, [3]float64{p.x, p.p50, p.p99}) {
				maxX = max(maxX, r[0])
				minY = min(minY, r[1], r[2])
				maxY = max(maxY, r[1], r[2])
			}
		}
	}
	xStep := niceStep(maxX / 5)
	xMax := math.Ceil(maxX/xStep) * xStep
	yLo, yHi := math.Floor(math.Log10(minY)), math.Ceil(math.Log10(maxY))
	if yHi <= yLo {
		yHi = yLo + 1
	}
	iw, ih := float64(plotW-marginL-marginR), float64(plotH-marginT-marginB)
	px := func(x float64) float64 { return float64(marginL) + x/xMax*iw }
	py := func(y float64) float64 { return float64(marginT) + (yHi-math.Log10(y))/(yHi-yLo)*ih }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", marginL, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="44" font-size="11" fill="#555">%s</text>`+"\n", marginL, html.EscapeString(sub))
	// Grid and ticks.
	for x := 0.0; x <= xMax+xStep/2; x += xStep {
		X := px(x)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", X, marginT, X, float64(marginT)+ih)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", X, float64(marginT)+ih+18, fmtRate(x))
	}
	for e := yLo; e <= yHi; e++ {
		for _, m := range []float64{1, 2, 5} {
			y := m * math.Pow(10, e)
			if e == yHi && m > 1 {
				break
			}
			Y := py(y)
			stroke := "#eee"
			if m == 1 {
				stroke = "#ccc"
				fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", marginL-8, Y, fmtMs(y))
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", marginL, Y, float64(marginL)+iw, Y, stroke)
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="black"/>`+"\n", marginL, marginT, iw, ih)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">achieved deliveries per second</text>`+"\n", float64(marginL)+iw/2, plotH-15)
	fmt.Fprintf(&b, `<text x="20" y="%.1f" text-anchor="middle" transform="rotate(-90 20 %.1f)">delivery latency, ms (log scale)</text>`+"\n", float64(marginT)+ih/2, float64(marginT)+ih/2)
	// Series and legend.
	palette := []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}
	ly := float64(marginT) + 10
	for i, s := range ss {
		color := palette[i%len(palette)]
		for _, pc := range []struct {
			name string
			dash string
			get  func(point) float64
			run  int
		}{
			{"p50", "", func(p point) float64 { return p.p50 }, 1},
			{"p99", ` stroke-dasharray="6 4"`, func(p point) float64 { return p.p99 }, 2},
		} {
			var pts []string
			for _, p := range s.points {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.x), py(pc.get(p))))
				for _, r := range p.runs {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s" fill-opacity="0.5"/>`+"\n", px(r[0]), py(r[pc.run]), color)
				}
			}
			name := html.EscapeString(s.label + " " + pc.name)
			fmt.Fprintf(&b, `<polyline data-series="%s" points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", name, strings.Join(pts, " "), color, pc.dash)
			lx := float64(plotW - marginR + 15)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+28, ly, color, pc.dash)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`+"\n", lx+34, ly, name)
			ly += 18
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// fmtRate prints a rate tick: 30k, 1.5k, 500.
func fmtRate(x float64) string {
	if x >= 1000 {
		return strconv.FormatFloat(x/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// fmtMs prints a latency tick: 0.1, 1, 10, 1000.
func fmtMs(y float64) string { return strconv.FormatFloat(y, 'f', -1, 64) }
