// Package clocktest provides the manual clock every dingfn test suite uses
// (store expiry, token lifetimes, DingTalk's QPS windows), so tests control
// time instead of sleeping.
package clocktest

import (
	"sync"
	"time"
)

// Manual is a clock that moves only when told to. Pass its Now method
// wherever a component takes a clock function. Safe for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Manual clock reading t.
func New(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's current time.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Manual) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
