package dingtalktest

import (
	"sync"
	"time"
)

// ManualClock is a clock that moves only when told to. Pass its Now method
// to WithClock so tests control token expiry, QPS windows and per-minute
// limits without sleeping.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock reading t.
func NewManualClock(t time.Time) *ManualClock {
	return &ManualClock{now: t}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// chinaTime is DingTalk's day boundary for per-day limits (UTC+8, no DST).
var chinaTime = time.FixedZone("CST", 8*3600)

// dayKey names the natural day (in China time) containing t.
func dayKey(t time.Time) string {
	return t.In(chinaTime).Format("2006-01-02")
}
