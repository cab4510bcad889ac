package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestBucketsCoverEveryValue: buckets are contiguous and increasing, every
// value lands in the bucket whose bounds hold it, and a bucket is at most
// an eighth of its lower bound wide.
func TestBucketsCoverEveryValue(t *testing.T) {
	var next int64
	for i := range histBuckets {
		lo, hi := bucketBounds(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], want it to start at %d", i, lo, hi, next)
		}
		if lo >= 8 && hi-lo+1 > lo/8 {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/8 of its lower bound", i, lo, hi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucketOf(%d)=%d, bucketOf(%d)=%d, want %d", lo, bucketOf(lo), hi, bucketOf(hi), i)
		}
		if hi == math.MaxInt64 {
			if i != histBuckets-1 {
				t.Fatalf("bucket %d reaches MaxInt64 but there are %d", i, histBuckets)
			}
			return
		}
		next = hi + 1
	}
	t.Fatalf("buckets end at %d, before MaxInt64", next)
}

// TestQuantilesOfKnownDistributions: against the exact quantiles of the
// samples, every estimate is within the buckets' relative error.
func TestQuantilesOfKnownDistributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 1-100ms": func() time.Duration { return time.Millisecond + time.Duration(rng.Int64N(int64(99*time.Millisecond))) },
		"exponential mean 5ms": func() time.Duration {
			return time.Duration(rng.ExpFloat64() * float64(5*time.Millisecond))
		},
		"lognormal heavy tail": func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.5) * float64(time.Millisecond))
		},
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			var h hist
			samples := make([]time.Duration, 200_000)
			for i := range samples {
				samples[i] = draw()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			if h.Count() != uint64(len(samples)) || h.Max() != samples[len(samples)-1] {
				t.Fatalf("count %d max %v, want %d and %v", h.Count(), h.Max(), len(samples), samples[len(samples)-1])
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				exact := samples[int(math.Ceil(q*float64(len(samples))))-1]
				got := h.Quantile(q)
				if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.0625 {
					t.Errorf("q%.3f: got %v, exact %v (%.1f%% off, bound 6.25%%)", q, got, exact, rel*100)
				}
			}
		})
	}
}

func TestHistEdges(t *testing.T) {
	var h hist
	if h.Quantile(0.5) != 0 || h.Max() != 0 {
		t.Fatal("an empty histogram reports non-zero")
	}
	h.Record(-time.Second) // a clock step
	h.Record(3)
	if h.Quantile(0.5) != 0 || h.Quantile(1) != 3 {
		t.Fatalf("got p50 %v p100 %v, want 0 and 3ns", h.Quantile(0.5), h.Quantile(1))
	}
	// Concurrent recorders lose nothing (run under -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	if h.Count() != 8002 || h.Max() != 999*time.Microsecond {
		t.Fatalf("count %d max %v after concurrent records", h.Count(), h.Max())
	}
}
