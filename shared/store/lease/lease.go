package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dingfn/dingfn/shared/store"
)

// ErrHeld is matched (errors.Is) by the *HeldError of an Acquire that
// found the lease taken.
var ErrHeld = errors.New("lease: held by another holder")

// ErrLost is matched by errors of a Lease that is no longer held: it
// expired (and perhaps another holder took it), or was released.
var ErrLost = errors.New("lease: lost")

// HeldError is returned by Acquire when another holder has the lease; it
// says who and until when, for reports such as "skipped, holder X until T".
type HeldError struct {
	Key string
	// Holder is the current holder's id; "" when its row does not say.
	Holder    string
	ExpiresAt time.Time
}

// Error describes the holder.
func (e *HeldError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another holder"
	}
	return fmt.Sprintf("lease: %s is held by %s until %s", e.Key, holder, e.ExpiresAt.UTC().Format(time.RFC3339Nano))
}

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// DefaultReleaseTimeout bounds Release, which runs even after the
// caller's context ended.
const DefaultReleaseTimeout = 5 * time.Second

// maxHolderLen keeps a holder id printable in one log line.
const maxHolderLen = 256

// Option configures Acquire and Run.
type Option func(*config) error

type config struct {
	holder         string
	now            func() time.Time
	releaseTimeout time.Duration
	renewEvery     time.Duration
	ticker         func(time.Duration) (<-chan time.Time, func())
}

// WithHolder names the holder in the stored row (default HolderID()).
func WithHolder(id string) Option {
	return func(c *config) error {
		if id == "" || len(id) > maxHolderLen || !utf8.ValidString(id) {
			return fmt.Errorf("lease: WithHolder: %q is not a UTF-8 id of 1 to %d bytes", id, maxHolderLen)
		}
		c.holder = id
		return nil
	}
}

// WithClock sets the clock expiries are computed with; pass the store's
// clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("lease: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithReleaseTimeout bounds Release (default DefaultReleaseTimeout).
func WithReleaseTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("lease: WithReleaseTimeout: %v is not positive", d)
		}
		c.releaseTimeout = d
		return nil
	}
}

// WithRenewEvery sets how often Run renews the lease (default a third of
// its lifetime); it must be shorter than the lifetime.
func WithRenewEvery(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("lease: WithRenewEvery: %v is not positive", d)
		}
		c.renewEvery = d
		return nil
	}
}

// HolderID returns this process's default holder id, host/pid/random,
// so that an operator reading the table can tell which process holds a
// lease, and two processes never share an id.
func HolderID() string { return processHolder() }

var processHolder = sync.OnceValue(func() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
})

// row is the stored value of a lease; see the package documentation.
type row struct {
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Lease is a held lease. Its methods are safe for concurrent use and
// serialised.
type Lease struct {
	st             store.Store
	table, key     string
	holder         string
	ttl            time.Duration
	now            func() time.Time
	releaseTimeout time.Duration
	fence          int64
	acquiredAt     time.Time

	mu      sync.Mutex
	version int64
	expires time.Time
	state   state
}

type state uint8

const (
	held state = iota
	lost
	released
)

func newConfig(ttl time.Duration, opts []Option) (config, error) {
	c := config{now: time.Now, releaseTimeout: DefaultReleaseTimeout}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return config{}, err
		}
	}
	if ttl < time.Millisecond {
		return config{}, fmt.Errorf("lease: lifetime %v is below the store's 1 ms expiry precision", ttl)
	}
	if c.renewEvery >= ttl {
		return config{}, fmt.Errorf("lease: WithRenewEvery: %v is not shorter than the lifetime %v", c.renewEvery, ttl)
	}
	if c.holder == "" {
		c.holder = HolderID()
	}
	return c, nil
}

// acquireAttempts bounds Acquire when the lease keeps vanishing between
// its failed put and its read of the holder.
const acquireAttempts = 3

// Acquire takes the lease key of table for ttl, if nobody holds it (an
// expired lease is free). When another holder has it, the error is a
// *HeldError (errors.Is ErrHeld) naming the holder and its expiry.
func Acquire(ctx context.Context, st store.Store, table, key string, ttl time.Duration, opts ...Option) (*Lease, error) {
	c, err := newConfig(ttl, opts)
	if err != nil {
		return nil, err
	}
	return acquire(ctx, st, table, key, ttl, c)
}

func acquire(ctx context.Context, st store.Store, table, key string, ttl time.Duration, c config) (*Lease, error) {
	for range acquireAttempts {
		now := c.now()
		exp := now.Add(ttl)
		b, err := json.Marshal(row{Holder: c.holder, AcquiredAt: now.UTC(), ExpiresAt: exp.UTC()})
		if err != nil {
			return nil, err
		}
		v, err := st.Put(ctx, table, store.Item{Key: key, Value: b, ExpiresAt: exp}, store.IfAbsent)
		if err == nil {
			return &Lease{
				st: st, table: table, key: key, holder: c.holder, ttl: ttl, now: c.now,
				releaseTimeout: c.releaseTimeout, fence: v, acquiredAt: now,
				version: v, expires: exp,
			}, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("lease: acquire %s: %w", key, err)
		}
		it, err := st.Get(ctx, table, key)
		if errors.Is(err, store.ErrNotFound) {
			continue // released or expired since: try again
		}
		if err != nil {
			return nil, fmt.Errorf("lease: acquire %s: read the holder: %w", key, err)
		}
		var r row
		_ = json.Unmarshal(it.Value, &r) // a row another program wrote may say nothing
		return nil, &HeldError{Key: key, Holder: r.Holder, ExpiresAt: it.ExpiresAt}
	}
	return nil, &HeldError{Key: key}
}

// Key returns the lease's store key.
func (l *Lease) Key() string { return l.key }

// Holder returns the holder id the lease was taken with.
func (l *Lease) Holder() string { return l.holder }

// Fence returns the lease's fencing token: the store version of the write
// that took it. Every later taker of the same key gets a greater one (store
// versions only grow, across deletes too — after a Release, on Tablestore,
// as far as writers' clocks agree; see package otsstore), and renewals keep
// it. Records a holder writes carry it so that a holder that lost the lease
// cannot overwrite its successor's work; see CheckFence.
func (l *Lease) Fence() int64 { return l.fence }

// Expires returns when the lease ends unless renewed.
func (l *Lease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// CheckFence returns nil if a record carrying fence written may be
// overwritten by this holder: it was written under this lease or an
// earlier one. A greater fence means a later holder wrote it, so this
// lease was lost; the error matches ErrLost. Call it inside a
// record.Update function, so the comparison and the write are one
// conditional write:
//
//	func(cur Checkpoint, found bool) (Checkpoint, error) {
//		if err := l.CheckFence(cur.Fence); err != nil {
//			return cur, err
//		}
//		cur.Fence = l.Fence()
//		…
//	}
func (l *Lease) CheckFence(written int64) error {
	if written > l.fence {
		return fmt.Errorf("%w: %s: a later holder (fence %d) wrote after this one (fence %d)", ErrLost, l.key, written, l.fence)
	}
	return nil
}

func (l *Lease) lostError(why string) error {
	return fmt.Errorf("%w: %s: %s", ErrLost, l.key, why)
}

// Renew extends the lease to ttl from now, if it is still held: it fails
// with an error matching ErrLost once the lease expired, even if nobody
// took it since, and after Release. Any other error (the store failing)
// leaves the lease as it was, to be renewed again before it expires.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkState(); err != nil {
		return err
	}
	now := l.now()
	exp := now.Add(l.ttl)
	b, err := json.Marshal(row{Holder: l.holder, AcquiredAt: l.acquiredAt.UTC(), ExpiresAt: exp.UTC()})
	if err != nil {
		return err
	}
	v, err := l.st.Put(ctx, l.table, store.Item{Key: l.key, Value: b, ExpiresAt: exp}, store.IfVersion(l.version))
	switch {
	case err == nil:
		l.version, l.expires = v, exp
		return nil
	case errors.Is(err, store.ErrConflict):
		l.state = lost
		return l.lostError("expired or taken before renewal")
	default:
		return fmt.Errorf("lease: renew %s: %w", l.key, err)
	}
}

func (l *Lease) checkState() error {
	switch l.state {
	case lost:
		return l.lostError("lost earlier")
	case released:
		return l.lostError("released")
	}
	return nil
}

// Check reports whether the lease is still held, by reading it: nil, or an
// error matching ErrLost. A holder may lose the lease right after Check;
// fence the writes themselves (CheckFence) where that matters.
func (l *Lease) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkState(); err != nil {
		return err
	}
	it, err := l.st.Get(ctx, l.table, l.key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		l.state = lost
		return l.lostError("expired")
	case err != nil:
		return fmt.Errorf("lease: check %s: %w", l.key, err)
	case it.Version != l.version:
		l.state = lost
		return l.lostError("taken by another holder")
	}
	return nil
}

// Release gives the lease up if it is still held, so the next holder need
// not wait for it to expire. It runs even when ctx has ended — shutdown is
// when a lease most needs releasing — bounded by the release timeout. It
// returns an error matching ErrLost when the lease was no longer held;
// releasing twice is nil. A lease whose release fails simply expires.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.state {
	case released:
		return nil
	case lost:
		return l.lostError("lost before release")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.releaseTimeout)
	defer cancel()
	err := l.st.Delete(ctx, l.table, l.key, store.IfVersion(l.version))
	switch {
	case err == nil:
		l.state = released
		return nil
	case errors.Is(err, store.ErrConflict):
		l.state = lost
		return l.lostError("expired or taken before release")
	default:
		return fmt.Errorf("lease: release %s: %w", l.key, err)
	}
}

// Run takes the lease, runs fn while renewing it in the background, and
// releases it when fn returns. It is the whole life of a single runner:
//
//	err := lease.Run(ctx, st, "sync", "lease/directory", 2*time.Minute, func(ctx context.Context, l *lease.Lease) error {
//		return syncDirectory(ctx, l.Fence())
//	})
//	if held, ok := errors.AsType[*lease.HeldError](err); ok { … skipped: held.Holder until held.ExpiresAt }
//
// If another holder has the lease, Run returns its *HeldError without
// calling fn. If a renewal finds the lease lost, fn's context is cancelled
// with a cause matching ErrLost, and Run's error matches ErrLost too. A
// renewal that fails for another reason is retried at the next interval;
// the lease counts as lost once it has expired. Release failures are not
// reported: such a lease simply expires.
func Run(ctx context.Context, st store.Store, table, key string, ttl time.Duration, fn func(ctx context.Context, l *Lease) error, opts ...Option) error {
	c, err := newConfig(ttl, opts)
	if err != nil {
		return err
	}
	if c.renewEvery == 0 {
		c.renewEvery = max(ttl/3, time.Millisecond)
	}
	if c.ticker == nil {
		c.ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	l, err := acquire(ctx, st, table, key, ttl, c)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticks, stopTicks := c.ticker(c.renewEvery)
		defer stopTicks()
		for {
			select {
			case <-stop:
				return
			case <-runCtx.Done():
				return
			case <-ticks:
			}
			err := l.Renew(runCtx)
			if err == nil {
				continue
			}
			if errors.Is(err, ErrLost) {
				cancel(err)
				return
			}
			if !l.now().Before(l.Expires()) {
				cancel(l.lostError(fmt.Sprintf("expired: renewals failed: %v", err)))
				return
			}
		}
	})
	err = fn(runCtx, l)
	close(stop)
	wg.Wait()
	if cause := context.Cause(runCtx); errors.Is(cause, ErrLost) {
		_ = l.Release(ctx)
		return errors.Join(cause, err)
	}
	_ = l.Release(ctx)
	return err
}
