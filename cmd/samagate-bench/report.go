package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// runInfo is what every JSON line carries about its run.
type runInfo struct {
	Time     string `json:"time"` // RFC 3339, when the line was written
	Label    string `json:"label"`
	Scenario string `json:"scenario"`
	Rev      string `json:"rev,omitempty"`
	Nodes    int    `json:"nodes"`
}

// fanoutResult is one JSON line of the fanout scenario: one target rate.
type fanoutResult struct {
	runInfo
	Groups    int     `json:"groups"`
	Members   int     `json:"members"`
	BodyBytes int     `json:"body_bytes"`
	WarmupS   float64 `json:"warmup_s"`
	WindowS   float64 `json:"window_s"` // measured, from the CPU readings

	TargetDeliveriesPerS   float64 `json:"target_deliveries_per_s"`
	AchievedDeliveriesPerS float64 `json:"achieved_deliveries_per_s"` // deliveries that arrived in the window, per second
	MessagesSent           int64   `json:"messages_sent"`             // in the window
	MessagesPerS           float64 `json:"messages_per_s"`
	AckedPerS              float64 `json:"acked_per_s"`
	AckErrors              int64   `json:"ack_errors"`
	Unacked                int64   `json:"unacked"` // after the drain
	AskP50Ms               float64 `json:"ask_p50_ms"`
	AskP99Ms               float64 `json:"ask_p99_ms"`
	SendLagP99Ms           float64 `json:"send_lag_p99_ms"` // how late the pacers wrote, the client's own delay

	DeliveryP50Ms  float64 `json:"delivery_p50_ms"`
	DeliveryP90Ms  float64 `json:"delivery_p90_ms"`
	DeliveryP99Ms  float64 `json:"delivery_p99_ms"`
	DeliveryP999Ms float64 `json:"delivery_p999_ms"`
	DeliveryMaxMs  float64 `json:"delivery_max_ms"`

	DeliveriesExpected int64 `json:"deliveries_expected"` // (messages sent in the window - refused) × (members-1)
	DeliveriesInWindow int64 `json:"deliveries_in_window"`
	DeliveriesLate     int64 `json:"deliveries_late"`    // arrived in the drain after the window
	DeliveriesMissing  int64 `json:"deliveries_missing"` // not arrived by the drain's end
	InflightStart      int64 `json:"inflight_start"`     // deliveries owed when the window opened
	InflightEnd        int64 `json:"inflight_end"`       // and when it closed
	BacklogGrew        bool  `json:"backlog_grew"`       // end - start > 200 ms of the target (and > 10 messages)

	ServerCPUPct           *float64 `json:"server_cpu_pct"` // % of one core, summed over the gateway pids; null if unknown
	ServerRSSKiB           int64    `json:"server_rss_kib"` // summed, at the window's end; 0 if unknown
	AuxCPUPct              *float64 `json:"aux_cpu_pct"`    // -aux-pids (PostgreSQL, Redis) and their children; null without
	ClientCPUPct           float64  `json:"client_cpu_pct"`
	ClientCPUUsPerDelivery float64  `json:"client_cpu_us_per_delivery"`
	SocketsClosed          int64    `json:"sockets_closed"` // by the gateway, since the sockets opened
	OtherErrors            int64    `json:"other_errors"`
}

// connectResult is one JSON line of the connect scenario.
type connectResult struct {
	runInfo
	Dialers int     `json:"dialers"`
	Users   int     `json:"users"`
	Keep    bool    `json:"keep"`
	WarmupS float64 `json:"warmup_s"`
	WindowS float64 `json:"window_s"`

	Connects          int64    `json:"connects"` // connect responses with success in the window
	ConnectsPerS      float64  `json:"connects_per_s"`
	Errors            int64    `json:"errors"`
	ConnectP50Ms      float64  `json:"connect_p50_ms"` // TCP connect + upgrade + connect request, as a client sees it
	ConnectP99Ms      float64  `json:"connect_p99_ms"`
	RequestP50Ms      float64  `json:"request_p50_ms"` // the connect request alone
	RequestP99Ms      float64  `json:"request_p99_ms"`
	OpenAtEnd         int64    `json:"open_at_end"` // sockets held at the window's end (-keep)
	Capped            bool     `json:"capped"`      // -keep reached -max-open: the window ended early
	ServerCPUS        *float64 `json:"server_cpu_s"`
	ServerCPUPer1000S *float64 `json:"server_cpu_s_per_1000_connects"`
	ServerCPUPct      *float64 `json:"server_cpu_pct"`
	ServerRSSKiB      int64    `json:"server_rss_kib"`
	AuxCPUPer1000S    *float64 `json:"aux_cpu_s_per_1000_connects"` // -aux-pids and their children; null without
	ClientCPUS        float64  `json:"client_cpu_s"`
	ClientCPUPer1000S float64  `json:"client_cpu_s_per_1000_connects"`
	ClientCPUPct      float64  `json:"client_cpu_pct"`
}

// newRunInfo stamps a line.
func newRunInfo(scenario, label, rev string, nodes int) runInfo {
	return runInfo{Time: time.Now().UTC().Format(time.RFC3339), Label: label, Scenario: scenario, Rev: rev, Nodes: nodes}
}

// appendJSONLine appends v as one line to path (created with its directory
// if missing); nothing when path is empty.
func appendJSONLine(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// round keeps 3 decimals, so the lines stay short.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// optional is v, or nil (null in JSON) when unknown.
func optional(v float64, known bool) *float64 {
	if !known {
		return nil
	}
	r := round(v)
	return &r
}

// fmtOpt prints an optional figure.
func fmtOpt(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// printFanoutHeader prints the head of fanout's human table.
func printFanoutHeader(w io.Writer) {
	fmt.Fprintf(w, "%-16s %9s %9s %7s %7s %7s | %7s %7s %7s %8s %8s | %9s %9s %7s %7s %5s | %7s %7s %6s %7s %8s\n",
		"label", "target/s", "got/s", "msgs/s", "ack/s", "askp99",
		"p50ms", "p90ms", "p99ms", "p99.9ms", "maxms",
		"expected", "inwindow", "late", "missing", "grew",
		"srvcpu%", "rssMiB", "aux%", "clicpu%", "µs/deliv")
}

// printFanoutRow prints one rate of fanout under printFanoutHeader.
func printFanoutRow(w io.Writer, r fanoutResult) {
	fmt.Fprintf(w, "%-16.16s %9.0f %9.0f %7.0f %7.0f %7.1f | %7.2f %7.2f %7.2f %8.2f %8.1f | %9d %9d %7d %7d %5v | %7s %7.0f %6s %7.0f %8.2f\n",
		r.Label, r.TargetDeliveriesPerS, r.AchievedDeliveriesPerS, r.MessagesPerS, r.AckedPerS, r.AskP99Ms,
		r.DeliveryP50Ms, r.DeliveryP90Ms, r.DeliveryP99Ms, r.DeliveryP999Ms, r.DeliveryMaxMs,
		r.DeliveriesExpected, r.DeliveriesInWindow, r.DeliveriesLate, r.DeliveriesMissing, r.BacklogGrew,
		fmtOpt(r.ServerCPUPct, "%.0f"), float64(r.ServerRSSKiB)/1024, fmtOpt(r.AuxCPUPct, "%.0f"), r.ClientCPUPct, r.ClientCPUUsPerDelivery)
}

// printConnect is the human table of connect (one run).
func printConnect(w io.Writer, r connectResult) {
	fmt.Fprintf(w, "%-16s %8s %9s %7s %8s %8s %8s %8s | %10s %9s %8s %9s | %10s %8s\n",
		"label", "connects", "conn/s", "errors", "p50ms", "p99ms", "reqp50", "reqp99",
		"srvcpu-s", "s/1000", "srvcpu%", "aux/1000", "clicpu-s", "s/1000")
	fmt.Fprintf(w, "%-16.16s %8d %9.0f %7d %8.2f %8.2f %8.2f %8.2f | %10s %9s %8s %9s | %10.2f %8.3f\n",
		r.Label, r.Connects, r.ConnectsPerS, r.Errors, r.ConnectP50Ms, r.ConnectP99Ms, r.RequestP50Ms, r.RequestP99Ms,
		fmtOpt(r.ServerCPUS, "%.2f"), fmtOpt(r.ServerCPUPer1000S, "%.3f"), fmtOpt(r.ServerCPUPct, "%.0f"),
		fmtOpt(r.AuxCPUPer1000S, "%.3f"), r.ClientCPUS, r.ClientCPUPer1000S)
}
