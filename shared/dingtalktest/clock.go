package dingtalktest

import (
	"time"

	"github.com/dingfn/dingfn/shared/clocktest"
)

// ManualClock is a clock that moves only when told to. Pass its Now method
// to WithClock so tests control token expiry, QPS windows and per-minute
// limits without sleeping.
type ManualClock = clocktest.Manual

// NewManualClock returns a clock reading t.
func NewManualClock(t time.Time) *ManualClock { return clocktest.New(t) }

// chinaTime is DingTalk's day boundary for per-day limits (UTC+8, no DST).
var chinaTime = time.FixedZone("CST", 8*3600)

// dayKey names the natural day (in China time) containing t.
func dayKey(t time.Time) string {
	return t.In(chinaTime).Format("2006-01-02")
}
