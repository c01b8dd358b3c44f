package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a token-bucket limit: Limit requests per second on average,
// in bursts of at most Burst. rate.Inf disables limiting.
type RateLimit struct {
	Limit rate.Limit
	Burst int
}

// defaultRateLimit keeps each API at most at 18 calls in any second (15/s
// plus a burst of 3), below the standard edition's 20 QPS per app per API.
var defaultRateLimit = RateLimit{Limit: 15, Burst: 3}

// DefaultRateLimit returns the per-API limit a client uses unless told
// otherwise.
func DefaultRateLimit() RateLimit { return defaultRateLimit }

// defaultRobotRateLimit keeps one robot at most at 20 messages in any
// minute (a burst of 5 plus one every 4 s): DingTalk throttles a robot for
// 10 minutes when it sends more than 20 a minute.
var defaultRobotRateLimit = RateLimit{Limit: rate.Every(4 * time.Second), Burst: 5}

func (r RateLimit) validate() error {
	if r.Limit < 0 {
		return fmt.Errorf("rate limit %v must not be negative", r.Limit)
	}
	if r.Limit != rate.Inf && r.Burst < 1 {
		return fmt.Errorf("burst %d must be at least 1", r.Burst)
	}
	return nil
}

// How a bucket adapts to DingTalk's answers (AIMD, as TCP does): a
// rate-limit answer halves its rate, never below a sixteenth of the
// configured limit; each second without one gives back a twentieth of the
// configured limit, up to the limit itself. A client configured above an
// app's real quota thus settles just below it instead of failing calls.
const (
	slowDownFactor  = 0.5
	minRateFraction = 1.0 / 16
	recoverPerSec   = 1.0 / 20
)

// limiters holds one bucket per API (or per robot), created on first use.
type limiters struct {
	def      RateLimit
	robot    RateLimit
	override map[string]RateLimit

	mu sync.Mutex
	m  map[string]*bucket
}

func newLimiters() *limiters {
	return &limiters{
		def:      defaultRateLimit,
		robot:    defaultRobotRateLimit,
		override: map[string]RateLimit{},
		m:        map[string]*bucket{},
	}
}

// get returns the bucket named key (an API, or one robot); lim sets it up
// on first use.
func (l *limiters) get(key string, lim RateLimit) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[key]
	if !ok {
		b = newBucket(key, lim)
		l.m[key] = b
	}
	return b
}

// forAPI returns the limit of an API.
func (l *limiters) forAPI(api string) RateLimit {
	if lim, ok := l.override[api]; ok {
		return lim
	}
	return l.def
}

// bucket is one API's token bucket whose rate follows DingTalk's answers
// between a floor and the configured ceiling.
type bucket struct {
	key     string
	ceiling RateLimit

	mu  sync.Mutex
	lim *rate.Limiter
	cur rate.Limit // current rate, ≤ ceiling.Limit
	at  time.Time  // when cur was last brought up to date
	// epoch counts slow-downs. A call remembers the epoch it was let
	// through in, so that the answers to calls sent together slow the
	// bucket down once, not once each.
	epoch uint64
	// slowed is cancelled at each slow-down, so that the call holding a
	// place taken at the old rate takes one at the new rate.
	slowed context.Context
	wake   context.CancelFunc
	// turn is held by the one caller with a place in lim; the others
	// queue for it. queued counts them, for the deadline estimate (the
	// holder's place is already in lim's tokens).
	turn   chan struct{}
	queued int
}

func newBucket(key string, lim RateLimit) *bucket {
	b := &bucket{key: key, ceiling: lim, lim: rate.NewLimiter(lim.Limit, lim.Burst), cur: lim.Limit, turn: make(chan struct{}, 1)}
	b.slowed, b.wake = context.WithCancel(context.Background())
	return b
}

// adaptive reports whether the bucket has a finite rate to adapt.
func (b *bucket) adaptive() bool { return b.ceiling.Limit != rate.Inf && b.ceiling.Limit > 0 }

// regain gives back rate for the time since the last change. The caller
// holds b.mu.
func (b *bucket) regain(now time.Time) {
	if !b.adaptive() || b.cur >= b.ceiling.Limit {
		b.at = now
		return
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.cur = min(b.ceiling.Limit, b.cur+rate.Limit(elapsed.Seconds()*recoverPerSec)*b.ceiling.Limit)
		b.at = now
		b.apply(now)
	}
}

// apply sets the limiter to the current rate, with the burst scaled
// alike. The caller holds b.mu.
func (b *bucket) apply(now time.Time) {
	b.lim.SetLimitAt(now, b.cur)
	b.lim.SetBurstAt(now, b.burst())
}

// burst is the configured burst scaled to the current rate.
func (b *bucket) burst() int {
	return max(1, int(float64(b.ceiling.Burst)*float64(b.cur/b.ceiling.Limit)))
}

// wait blocks until the bucket lets a call through and returns the epoch
// it was let through in. It fails at once, without waiting, when the wait
// would outlast ctx's deadline. Time comes from now and waits go through
// sleep, the client's clock.
//
// Callers queue in arrival order and only the first holds a place in the
// token bucket, so a change of rate applies to the very next call rather
// than after every place already handed out at the old rate.
func (b *bucket) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) (uint64, error) {
	if err := b.fits(ctx, now()); err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.queued++
	b.mu.Unlock()
	var err error
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.mu.Lock()
	b.queued--
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	defer func() { <-b.turn }()
	for {
		b.mu.Lock()
		t := now()
		b.regain(t)
		lim := b.lim
		epoch, slowed := b.epoch, b.slowed
		b.mu.Unlock()
		r := lim.ReserveN(t, 1)
		if !r.OK() {
			return 0, fmt.Errorf("%w: %s: burst below 1", ErrClientRateLimit, b.key)
		}
		d := r.DelayFrom(t)
		if d <= 0 {
			return epoch, nil
		}
		if dl, ok := ctx.Deadline(); ok && t.Add(d).After(dl) {
			r.CancelAt(t)
			return 0, fmt.Errorf("%w: %s", ErrClientRateLimit, b.key)
		}
		sctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(slowed, cancel)
		err = sleep(sctx, d)
		stop()
		cancel()
		if err == nil {
			return epoch, nil
		}
		if ctx.Err() != nil {
			r.CancelAt(now())
			return 0, ctx.Err()
		}
		// Slowed down while this call waited: its place is void; take
		// one at the new rate.
	}
}

// fits fails fast when the callers already queued, at the current rate,
// would keep this one waiting past ctx's deadline.
func (b *bucket) fits(ctx context.Context, now time.Time) error {
	dl, ok := ctx.Deadline()
	if !ok || b.ceiling.Limit == rate.Inf {
		return nil
	}
	b.mu.Lock()
	ahead := float64(b.queued) + 1 - b.lim.TokensAt(now)
	cur := b.cur
	b.mu.Unlock()
	if ahead <= 0 || cur <= 0 {
		return nil
	}
	if d := time.Duration(ahead / float64(cur) * float64(time.Second)); now.Add(d).After(dl) {
		return fmt.Errorf("%w: %s", ErrClientRateLimit, b.key)
	}
	return nil
}

// slowDown lowers the rate after DingTalk answered a call let through in
// epoch that it came too fast. Answers to calls let through before the
// last slow-down are ignored: they were sent at a rate already corrected.
func (b *bucket) slowDown(now time.Time, epoch uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.adaptive() || epoch != b.epoch {
		return
	}
	b.regain(now)
	b.cur = max(b.cur*slowDownFactor, b.ceiling.Limit*minRateFraction)
	b.at = now
	// A fresh, empty bucket at the new rate: the place the first waiting
	// call holds is void, and it is woken to take one in this bucket.
	b.lim = rate.NewLimiter(b.cur, b.burst())
	b.lim.AllowN(now, b.burst())
	b.epoch++
	b.wake()
	b.slowed, b.wake = context.WithCancel(context.Background())
}

// rate returns the bucket's current rate, for tests and logs.
func (b *bucket) rate() rate.Limit {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// ErrClientRateLimit is returned (wrapped) when the client-side rate
// limiter cannot grant a call before the context deadline. DingTalk was
// not called.
var ErrClientRateLimit = errors.New("dingtalk: client rate limit would exceed the context deadline")
