package lease

import "time"

// WithTicks makes Run renew on each value sent on ticks instead of on a
// timer, so tests decide when renewals happen.
func WithTicks(ticks <-chan time.Time) Option {
	return func(c *config) error {
		c.ticker = func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }
		return nil
	}
}
