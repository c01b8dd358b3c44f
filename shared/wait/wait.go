// Package wait is the one context-aware pause of dingfn: retry loops,
// lease waits and backoffs call Sleep instead of each keeping its own
// timer-and-select helper. It imports only the standard library, so every
// package may use it.
package wait

import (
	"context"
	"time"
)

// Sleep pauses for d, or until ctx is done if that comes first, and then
// returns ctx.Err(): nil after a full pause, the context's error after an
// interrupted one. An interrupted pause never reports success, even when
// the timer fired at the same moment, so a caller may loop on Sleep's nil
// without checking ctx itself. A d <= 0 does not pause.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return ctx.Err()
}
