package reliability

import (
	"sync/atomic"
	"time"
)

// jumpClock is the suite's clock: the wall clock plus an offset that only
// grows. Within a round time passes as it does for a deployed function
// (a dead lease holder's lease runs out while the others wait); between
// rounds and in the catch-up the suite jumps it forward, so back-offs of
// minutes and the sync interval pass without waiting. A frozen manual
// clock would stall every waiter on a lease a killed process left.
type jumpClock struct{ offset atomic.Int64 }

// Now returns the wall clock plus the offset.
func (c *jumpClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock d forward.
func (c *jumpClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Offset returns how far ahead of the wall clock it is.
func (c *jumpClock) Offset() time.Duration { return time.Duration(c.offset.Load()) }
