package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits is the number of mantissa bits kept per power of two: 8 buckets
// an octave (eighth-octave), so a bucket's midpoint is within 6.25% of any
// value in it.
const subBits = 3

// histBuckets covers every non-negative int64 (nanoseconds: up to 292
// years) with eighth-octave buckets.
const histBuckets = (63 - subBits + 1) << subBits

// hist is an HDR-style histogram of durations: log-bucketed counts with a
// bounded relative error, safe for concurrent Record from thousands of
// receiver goroutines (one atomic add), mergeable, and small (4 KiB), so a
// load run keeps every sample without storing them.
type hist struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

// bucketOf is the bucket of v (v >= 0): values below 2^subBits have a
// bucket each; above, the bucket is the octave and the top subBits bits
// under the leading one.
func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1 // e >= subBits
	sub := int(v>>(e-subBits)) & (1<<subBits - 1)
	return (e-subBits+1)<<subBits + sub
}

// bucketBounds is the range [lo, hi] of the values bucket i holds.
func bucketBounds(i int) (lo, hi int64) {
	if i < 1<<subBits {
		return int64(i), int64(i)
	}
	e := i>>subBits + subBits - 1
	sub := int64(i & (1<<subBits - 1))
	lo = (1<<subBits + sub) << (e - subBits)
	return lo, lo + 1<<(e-subBits) - 1
}

// Record adds one duration; negative ones (clock steps) count as zero.
func (h *hist) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of recorded durations.
func (h *hist) Count() uint64 { return h.n.Load() }

// Max is the largest recorded duration, exact.
func (h *hist) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile is the q-quantile (0 < q <= 1): the midpoint of the bucket that
// holds the ceil(q*n)-th smallest value, capped by the exact maximum; 0
// when empty. Read it after the recorders have stopped for a consistent
// figure.
func (h *hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.9999999)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketBounds(i)
			return min(time.Duration(lo+(hi-lo)/2), h.Max())
		}
	}
	return h.Max()
}

// ms is d in milliseconds, for reports.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
