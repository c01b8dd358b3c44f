package storetest

import (
	"time"

	"github.com/dingfn/dingfn/shared/clocktest"
)

// Clock is a manual clock for expiry tests: it only moves when Advance is
// called, so the suite never sleeps. Pass c.Now as a store.Clock.
type Clock = clocktest.Manual

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return clocktest.New(start) }
