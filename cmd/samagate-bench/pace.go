package main

import (
	"time"
)

// messageRate is the messages per second that make target deliveries per
// second when each message reaches members-1 sockets (all but the
// sender's).
func messageRate(target float64, members int) float64 {
	if members < 2 {
		return 0
	}
	return target / float64(members-1)
}

// splitRate divides perSec among pacers that own n[i] of the total
// publishers each, so that every publisher sends at the same rate and the
// rates add up to perSec.
func splitRate(perSec float64, n []int) []float64 {
	total := 0
	for _, k := range n {
		total += k
	}
	out := make([]float64, len(n))
	if total == 0 {
		return out
	}
	for i, k := range n {
		out[i] = perSec * float64(k) / float64(total)
	}
	return out
}

// pace is an open-loop schedule: message k (from 0) is due at
// start + k/perSec, whatever happened to the earlier ones, so a slow
// gateway shows as latency and backlog rather than as a slower sender
// (no coordinated omission).
type pace struct {
	start  time.Time
	perSec float64
}

// due is how many messages are due by now.
func (p pace) due(now time.Time) int64 {
	el := now.Sub(p.start)
	if el < 0 || p.perSec <= 0 {
		return 0
	}
	return int64(el.Seconds()*p.perSec) + 1
}

// at is when message k is due.
func (p pace) at(k int64) time.Time {
	if p.perSec <= 0 {
		return p.start.Add(time.Duration(1<<62 - 1))
	}
	return p.start.Add(time.Duration(float64(k) / p.perSec * float64(time.Second)))
}
