package bench

import (
	"slices"
	"time"
)

// perOp runs op in growing batches until about d has passed and returns
// the time per op: process CPU time where the system reports it, wall
// time otherwise.
func perOp(d time.Duration, op func()) time.Duration {
	op() // warm: first-use allocations are not the op's cost
	n, total := 0, time.Duration(0)
	for batch := 1; total < d; batch *= 2 {
		start := cpuClock()
		for range batch {
			op()
		}
		total += cpuClock() - start
		n += batch
	}
	return total / time.Duration(n)
}

// cpuClock is the clock of the timed rows: process CPU time where the
// system reports it (every thread's, so work a measured call hands to
// other goroutines counts), wall time otherwise.
func cpuClock() time.Duration {
	if t, ok := processCPU(); ok {
		return t
	}
	return time.Duration(time.Now().UnixNano())
}

// alternate measures a and b in turn, rounds times, each for about d,
// and returns the median of a's and b's times per op. Taking turns keeps
// a change of machine load from landing on one side of a ratio.
func alternate(rounds int, d time.Duration, a, b func()) (time.Duration, time.Duration) {
	var as, bs []time.Duration
	for range rounds {
		as = append(as, perOp(d, a))
		bs = append(bs, perOp(d, b))
	}
	return median(as), median(bs)
}

// median is the middle value of vs (the mean of the middle two for an
// even count); 0 for none.
func median[T time.Duration | float64](vs []T) T {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
