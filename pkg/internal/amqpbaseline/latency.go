package amqpbaseline

import (
	"math"
	"slices"
	"time"
)

// Latencies is a set of measured durations, for example one per sequential
// call.
type Latencies []time.Duration

// Quantile returns the nearest-rank q-quantile (0 < q <= 1) of l, for example
// Quantile(0.99) for p99. It returns 0 for an empty set. l is not modified.
func (l Latencies) Quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	rank = max(0, min(len(s)-1, rank))
	return s[rank]
}

// Millis converts d to fractional milliseconds, the unit benchmarks report.
func Millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
