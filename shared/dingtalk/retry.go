package dingtalk

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often and how long the client retries. Delays are
// always cut short by the caller's context: if the next wait would pass the
// context deadline, the client returns the error at once instead of
// sleeping for nothing.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts for "system busy" (-1)
	// and, for reads only, transport errors and 5xx replies. 1 disables
	// these retries. DingTalk advises at most 3.
	MaxAttempts int
	// MaxRateLimitRetries is how many times a rate-limited call is resent.
	MaxRateLimitRetries int
	// QPSDelay is the pause after a per-second app×API limit (90018,
	// Forbidden.AccessDenied.QpsLimitForAppkeyAndApi); DingTalk says 1 s.
	QPSDelay time.Duration
	// BaseDelay starts the exponential back-off used for other rate limits
	// (90002: 1 s, 2 s, 4 s) and for busy/transient retries.
	BaseDelay time.Duration
	// MaxDelay caps any single wait. A server's Retry-After beyond it ends
	// the retries instead. Zero means retries happen without pause.
	MaxDelay time.Duration
	// Jitter adds a random 0..Jitter fraction to each wait, so that many
	// instances throttled together do not retry together.
	Jitter float64
}

// DefaultRetryPolicy returns the policy DingTalk's throttling guide advises.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:         3,
		MaxRateLimitRetries: 3,
		QPSDelay:            time.Second,
		BaseDelay:           time.Second,
		MaxDelay:            30 * time.Second,
		Jitter:              0.2,
	}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 1:
		return errors.New("MaxAttempts must be at least 1")
	case p.MaxRateLimitRetries < 0:
		return errors.New("MaxRateLimitRetries must not be negative")
	case p.QPSDelay < 0 || p.BaseDelay < 0 || p.MaxDelay < 0:
		return errors.New("delays must not be negative")
	case p.Jitter < 0 || p.Jitter > 1:
		return errors.New("Jitter must be within [0, 1]")
	}
	return nil
}

// backoff returns BaseDelay·2ⁿ capped by MaxDelay.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for range n {
		d *= 2
		if d > p.MaxDelay {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

// rateLimitDelay is the wait DingTalk advises for a rate-limited reply;
// n counts earlier rate-limit retries of this call.
func (p RetryPolicy) rateLimitDelay(e *Error, n int) time.Duration {
	var d time.Duration
	switch {
	case e.ErrCode == 90018 || e.Code == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi":
		d = p.QPSDelay
	default:
		d = p.backoff(n)
	}
	if e.RetryAfter > d {
		d = e.RetryAfter
	}
	return d
}

// retryState tracks one logical call across its attempts.
type retryState struct {
	attempts      int // attempts made so far
	rateRetries   int
	tokenRetried  bool
	transientTrys int
	// bucket and epoch say where the last attempt was let through.
	bucket *bucket
	epoch  uint64
}

func randomJitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 || frac <= 0 {
		return d
	}
	return d + time.Duration(rand.Float64()*frac*float64(d))
}

// fitsDeadline reports whether waiting d leaves the context alive.
func fitsDeadline(ctx context.Context, d time.Duration, now time.Time) bool {
	dl, ok := ctx.Deadline()
	return !ok || now.Add(d).Before(dl)
}
