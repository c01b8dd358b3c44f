package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/record"
	"github.com/dingfn/dingfn/shared/wait"
)

// Defaults of the provider's timing; see the package documentation for how
// they relate.
const (
	// DefaultReadMargin is how close to expiry a reader refreshes a value
	// itself. It is small so that readers leave refreshing to the Refresher.
	DefaultReadMargin = 5 * time.Minute
	// DefaultLeaseTTL bounds how long a crashed refresher blocks others.
	// It exceeds two fetch timeouts (a ticket refresh may first fetch the
	// access token).
	DefaultLeaseTTL = 15 * time.Second
	// DefaultFetchTimeout bounds one upstream call.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultWaitMin and DefaultWaitMax bound the jittered, doubling wait
	// for another instance's refresh.
	DefaultWaitMin = 20 * time.Millisecond
	DefaultWaitMax = time.Second
	// DefaultFailureBackoff is how long a process keeps serving a still
	// valid value without retrying after DingTalk failed a refresh.
	DefaultFailureBackoff = 30 * time.Second
)

// Provider is the token cache of one app. It is safe for concurrent use and
// meant to live as long as the process. It satisfies dingtalk.TokenSource.
type Provider struct {
	appKey string
	st     store.Store
	up     Upstream

	table          string
	now            func() time.Time
	log            *slog.Logger
	readMargin     time.Duration
	leaseTTL       time.Duration
	fetchTimeout   time.Duration
	waitMin        time.Duration
	waitMax        time.Duration
	failureBackoff time.Duration
	flightTimeout  time.Duration
	leaseOpts      []lease.Option
	// sleep waits between lease checks; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	sf    singleflight.Group
	local [2]atomic.Pointer[localEntry]
	// rejected holds the access tokens DingTalk rejected lately, oldest
	// first; this process never serves them again, even from a flight that
	// read one just before its rejection, however many came after it.
	rejected atomic.Pointer[[]rejection]
	// upstreamCalls counts fetches, for Stats.
	upstreamCalls [2]atomic.Int64
}

// localEntry is the in-process copy of a value.
type localEntry struct {
	e Entry
	// retryAt, after a failed refresh, is when this process may try again;
	// until then the (still valid) value is served as it is.
	retryAt time.Time
}

// rejection records a token DingTalk rejected and when.
type rejection struct {
	value string
	at    time.Time
}

// maxRejected bounds the rejected tokens a provider remembers. A token is
// rejected once in its life, and a flight outlives a rejection by at most
// its timeout, so a few are enough; a bound keeps a flood of bogus reports
// from growing the list.
const maxRejected = 16

// reject remembers value as rejected at at.
func (p *Provider) reject(value string, at time.Time) {
	for {
		old := p.rejected.Load()
		var list []rejection
		if old != nil {
			list = slices.DeleteFunc(slices.Clone(*old), func(r rejection) bool { return r.value == value })
		}
		list = append(list, rejection{value: value, at: at})
		if len(list) > maxRejected {
			list = list[len(list)-maxRejected:]
		}
		if p.rejected.CompareAndSwap(old, &list) {
			return
		}
	}
}

// isRejected reports whether e is a token rejected after it was fetched.
func (p *Provider) isRejected(e Entry) bool {
	list := p.rejected.Load()
	if list == nil || e.Kind != AccessToken {
		return false
	}
	for _, r := range *list {
		if e.Value == r.value && !e.FetchedAt.After(r.at) {
			return true
		}
	}
	return false
}

// Option configures a Provider.
type Option func(*Provider) error

// WithClock sets the clock; pass the same clock to the store in tests.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) error {
		if now == nil {
			return errors.New("token: WithClock: nil clock")
		}
		p.now = now
		return nil
	}
}

// WithLogger sets the logger; the default discards, and the composition
// root passes its own.
func WithLogger(l *slog.Logger) Option {
	return func(p *Provider) error {
		if l == nil {
			return errors.New("token: WithLogger: nil logger")
		}
		p.log = l
		return nil
	}
}

// WithReadMargin sets how close to expiry readers refresh a value
// themselves (default 5 minutes).
func WithReadMargin(d time.Duration) Option {
	return func(p *Provider) error {
		if d < 0 || d >= time.Hour {
			return fmt.Errorf("token: WithReadMargin: %v is outside [0, 1h)", d)
		}
		p.readMargin = d
		return nil
	}
}

// WithLease sets the refresh lease's lifetime (default 15 s) and the timeout
// of one upstream call (default 5 s), which must be at most a third of it.
func WithLease(ttl, fetchTimeout time.Duration) Option {
	return func(p *Provider) error {
		if fetchTimeout <= 0 || ttl < 3*fetchTimeout {
			return fmt.Errorf("token: WithLease: lease %v must be at least 3 × fetch timeout %v > 0", ttl, fetchTimeout)
		}
		p.leaseTTL, p.fetchTimeout = ttl, fetchTimeout
		return nil
	}
}

// WithWaitBackoff bounds the wait between checks for another instance's
// refresh (default 20 ms doubling to 1 s, jittered).
func WithWaitBackoff(min, max time.Duration) Option {
	return func(p *Provider) error {
		if min <= 0 || max < min {
			return fmt.Errorf("token: WithWaitBackoff: need 0 < min %v <= max %v", min, max)
		}
		p.waitMin, p.waitMax = min, max
		return nil
	}
}

// WithFailureBackoff sets how long a process serves a still-valid value
// without retrying after a failed refresh (default 30 s).
func WithFailureBackoff(d time.Duration) Option {
	return func(p *Provider) error {
		if d < 0 {
			return fmt.Errorf("token: WithFailureBackoff: negative %v", d)
		}
		p.failureBackoff = d
		return nil
	}
}

// WithTable sets the store table (default "tokens").
func WithTable(name string) Option {
	return func(p *Provider) error {
		if name == "" {
			return errors.New("token: WithTable: empty name")
		}
		p.table = name
		return nil
	}
}

// New returns the provider of appKey's token and ticket, cached in st and
// fetched from up.
func New(appKey string, st store.Store, up Upstream, opts ...Option) (*Provider, error) {
	if appKey == "" {
		return nil, errors.New("token: empty app key")
	}
	if st == nil || up == nil {
		return nil, errors.New("token: nil store or upstream")
	}
	p := &Provider{
		appKey:         appKey,
		st:             st,
		up:             up,
		table:          DefaultTable,
		now:            time.Now,
		log:            slog.New(slog.DiscardHandler),
		readMargin:     DefaultReadMargin,
		leaseTTL:       DefaultLeaseTTL,
		fetchTimeout:   DefaultFetchTimeout,
		waitMin:        DefaultWaitMin,
		waitMax:        DefaultWaitMax,
		failureBackoff: DefaultFailureBackoff,
		sleep:          wait.Sleep,
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	// A lease outlives a crashed holder by at most its lifetime; its
	// release after a cancelled refresh is bounded like one upstream call.
	// The holder id is the lease package's default, made at the first
	// lease rather than here: it costs a random read at every cold start
	// that never refreshes anything.
	p.leaseOpts = []lease.Option{lease.WithClock(p.now), lease.WithReleaseTimeout(p.fetchTimeout)}
	// A flight outlives the caller that started it (the others share it),
	// but not a lease holder that died plus one more full refresh.
	p.flightTimeout = 2*p.leaseTTL + p.waitMax
	return p, nil
}

// AppKey returns the app the provider serves.
func (p *Provider) AppKey() string { return p.appKey }

// AccessToken returns a valid access token.
func (p *Provider) AccessToken(ctx context.Context) (string, error) {
	e, err := p.Get(ctx, AccessToken)
	return e.Value, err
}

// JSAPITicket returns a valid jsapi ticket.
func (p *Provider) JSAPITicket(ctx context.Context) (string, error) {
	e, err := p.Get(ctx, JSAPITicket)
	return e.Value, err
}

// Get returns a valid value of kind k with its lifetime. It refreshes the
// value first when less than the read margin remains, unless another
// instance is already doing so or DingTalk failed recently, in which case
// the current value is served until it actually expires.
func (p *Provider) Get(ctx context.Context, k Kind) (Entry, error) {
	if !k.valid() {
		return Entry{}, fmt.Errorf("token: unknown kind %q", k)
	}
	return p.get(ctx, k, false)
}

// get is Get; bound makes its flights end with ctx (see mode).
func (p *Provider) get(ctx context.Context, k Kind, bound bool) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if e, ok := p.localUsable(k, p.now()); ok {
		return e, nil
	}
	m := mode{margin: p.readMargin, bound: bound}
	r, err := p.fly(ctx, k, m)
	if err == nil && p.isRejected(r.entry) {
		// The shared flight read the store just before this caller's
		// Invalidate; one more flight sees the store without it.
		r, err = p.fly(ctx, k, m)
	}
	return r.entry, err
}

// Invalidate drops token, which DingTalk rejected, from the process and the
// store, but only if it is still the current value: the first of a burst of
// failures causes one refresh, the rest find a newer token and change
// nothing.
func (p *Provider) Invalidate(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	p.reject(token, p.now())
	lp := &p.local[kindIndex(AccessToken)]
	if l := lp.Load(); l != nil && l.e.Value == token {
		lp.CompareAndSwap(l, nil)
	}
	_, err, _ := p.sf.Do("invalidate\x00"+token, func() (any, error) {
		// Shared by every caller reporting the same token: detached from
		// the first one's cancellation, bounded on its own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.fetchTimeout)
		defer cancel()
		return nil, p.invalidateStored(ctx, token)
	})
	return err
}

func (p *Provider) invalidateStored(ctx context.Context, token string) error {
	deleted := false
	_, err := record.Update(ctx, p.st, p.table, Key(AccessToken, p.appKey), func(e Entry, found bool) (Entry, error) {
		deleted = false
		if !found || (p.wellFormed(e, AccessToken) && e.Value != token) {
			return e, record.ErrNoChange
		}
		deleted = true
		return e, record.ErrDelete
	})
	if errors.Is(err, record.ErrMalformed) {
		return nil // not the rejected token; the next refresh replaces it
	}
	if err != nil {
		return fmt.Errorf("token: invalidate access token for %s: %w", p.appKey, err)
	}
	if deleted {
		p.log.InfoContext(ctx, "token: DingTalk rejected the access token; dropped it from the store", "app_key", p.appKey)
	}
	return nil
}

// Stats reports the number of upstream fetches this provider made.
type Stats struct {
	AccessTokenFetches int64
	JSAPITicketFetches int64
}

// Stats returns the provider's upstream call counts.
func (p *Provider) Stats() Stats {
	return Stats{
		AccessTokenFetches: p.upstreamCalls[kindIndex(AccessToken)].Load(),
		JSAPITicketFetches: p.upstreamCalls[kindIndex(JSAPITicket)].Load(),
	}
}

func kindIndex(k Kind) int {
	if k == JSAPITicket {
		return 1
	}
	return 0
}

func (p *Provider) localUsable(k Kind, now time.Time) (Entry, bool) {
	l := p.local[kindIndex(k)].Load()
	if l == nil || p.isRejected(l.e) {
		return Entry{}, false
	}
	if !l.e.needsRefresh(now, p.readMargin) {
		return l.e, true
	}
	if now.Before(l.retryAt) && now.Before(l.e.ExpiresAt) {
		return l.e, true
	}
	return Entry{}, false
}

// setLocal makes e the in-process copy, unless DingTalk rejected it while
// it was being obtained.
func (p *Provider) setLocal(e Entry, retryAt time.Time) {
	if p.isRejected(e) {
		return
	}
	p.local[kindIndex(e.Kind)].Store(&localEntry{e: e, retryAt: retryAt})
}

// result is the outcome of one flight.
type result struct {
	entry Entry
	// refreshed reports that the stored expiry moved during the flight.
	refreshed bool
	// refreshErr is a failed refresh that left a still-valid value to serve.
	refreshErr error
}

// mode says how a flight obtains a value.
type mode struct {
	// margin is how close to expiry a value is refreshed.
	margin time.Duration
	// wait makes the flight wait for another instance's refresh instead of
	// serving the current value (the Refresher, whose report is about the
	// new value).
	wait bool
	// bound ends the flight with its caller's context, and the caller
	// waits for it, so that a cancelled Refresher tick (SIGTERM) stops
	// fetching and releases its lease before it returns. Readers' flights
	// are shared by other callers and outlive one that gives up.
	bound bool
	// token, for a ticket, supplies the access token to fetch it with
	// first (the Refresher passes the outcome of the same tick's token
	// refresh, so a failed one is not fetched twice); nil gets one.
	token func(ctx context.Context) (Entry, error)
}

// flight is fly for a refresher (wait and bound) or a reader.
func (p *Provider) flight(ctx context.Context, k Kind, margin time.Duration, refresher bool) (result, error) {
	return p.fly(ctx, k, mode{margin: margin, wait: refresher, bound: refresher})
}

// fly runs obtain once per process for concurrent callers with the same
// kind and mode. Unless bound, the shared work is detached from the first
// caller's cancellation, and each caller still returns when its own
// context ends.
func (p *Provider) fly(ctx context.Context, k Kind, m mode) (result, error) {
	key := string(k) + "/" + strconv.FormatInt(int64(m.margin), 10) + "/" + strconv.FormatBool(m.wait) + "/" + strconv.FormatBool(m.bound)
	ch := p.sf.DoChan(key, func() (any, error) {
		base := ctx
		if !m.bound {
			base = context.WithoutCancel(ctx)
		}
		fctx, cancel := context.WithTimeout(base, p.flightTimeout)
		defer cancel()
		return p.obtain(fctx, k, m)
	})
	var r singleflight.Result
	if m.bound {
		r = <-ch // ends with ctx; its lease is released by then
	} else {
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case r = <-ch:
		}
	}
	res, _ := r.Val.(result)
	return res, r.Err
}

// obtain returns a value of kind k that is not within the margin,
// refreshing it under the store lease if needed. Without m.wait it returns
// a still-valid value at once when another instance holds the lease.
func (p *Provider) obtain(ctx context.Context, k Kind, m mode) (result, error) {
	backoff := p.waitMin
	var firstExpiry time.Time
	first := true
	for {
		now := p.now()
		cur, found, err := p.load(ctx, k)
		if err != nil {
			if ctx.Err() != nil {
				return p.interrupted(k, now, ctx.Err())
			}
			return p.storeDown(ctx, k, now, err, m)
		}
		if first {
			firstExpiry, first = cur.ExpiresAt, false
		}
		if found && !cur.needsRefresh(now, m.margin) {
			p.setLocal(cur, time.Time{})
			return result{entry: cur, refreshed: !cur.ExpiresAt.Equal(firstExpiry)}, nil
		}
		l, err := lease.Acquire(ctx, p.st, p.table, LeaseKey(k, p.appKey), p.leaseTTL, p.leaseOpts...)
		switch {
		case err == nil:
			return p.refreshHeld(ctx, k, m, l, firstExpiry)
		case errors.Is(err, lease.ErrHeld):
			// Another instance is refreshing.
		case found:
			p.log.WarnContext(ctx, "token: store lease failed; serving the cached value", "token", cur, "err", err)
			return result{entry: cur, refreshErr: err}, nil
		default:
			return result{}, fmt.Errorf("%w: %s for %s: %w", ErrUnavailable, k, p.appKey, err)
		}
		if found && !m.wait {
			return result{entry: cur}, nil
		}
		d := backoff/2 + mrand.N(backoff/2+1)
		if err := p.sleep(ctx, d); err != nil {
			if found {
				return result{entry: cur, refreshErr: err}, nil
			}
			return result{}, fmt.Errorf("%w: %s for %s: waiting for another instance's refresh: %w", ErrUnavailable, k, p.appKey, err)
		}
		backoff = min(2*backoff, p.waitMax)
	}
}

// interrupted ends a flight whose context ended: the in-process copy if
// it is still valid, else the context's error.
func (p *Provider) interrupted(k Kind, now time.Time, err error) (result, error) {
	if l := p.local[kindIndex(k)].Load(); l != nil && now.Before(l.e.ExpiresAt) && !p.isRejected(l.e) {
		return result{entry: l.e, refreshErr: err}, nil
	}
	return result{}, fmt.Errorf("%w: %s for %s: %w", ErrUnavailable, k, p.appKey, err)
}

// errNotStored marks a fetched value the store write refused on purpose.
var errNotStored = errors.New("token: fetched value not stored")

// refreshHeld runs under the lease l, which it releases: one read-modify-
// write of the stored value that reads again (a previous holder may have
// just finished), fetches from DingTalk only if the value still needs it,
// and writes.
func (p *Provider) refreshHeld(ctx context.Context, k Kind, m mode, l *lease.Lease, firstExpiry time.Time) (result, error) {
	defer func() {
		// Release is detached from ctx and bounded, so a cancelled
		// Refresher still frees the lease for the next run.
		if err := l.Release(ctx); err != nil && !errors.Is(err, lease.ErrLost) {
			p.log.WarnContext(ctx, "token: could not release the refresh lease; it will expire", "kind", string(k), "app_key", p.appKey, "err", err)
		}
	}()
	now := p.now()
	var (
		read     bool // the store answered the read under the lease
		cur      Entry
		found    bool
		fetched  *Entry // what DingTalk returned; fetched at most once
		fetchErr error
	)
	saved, err := p.save(ctx, k, func(c Entry, f bool) (Entry, error) {
		read, cur, found = true, c, f
		if found && !cur.needsRefresh(p.now(), m.margin) {
			return cur, record.ErrNoChange
		}
		if fetched == nil && fetchErr == nil {
			e, err := p.fetch(ctx, k, m)
			if err != nil {
				fetchErr = err
			} else {
				fetched = &e
			}
		}
		if fetchErr != nil {
			return Entry{}, fetchErr
		}
		return *fetched, nil
	})
	if err == nil {
		p.setLocal(saved, time.Time{})
		return result{entry: saved, refreshed: !saved.ExpiresAt.Equal(firstExpiry)}, nil
	}
	if !read {
		if ctx.Err() != nil {
			return p.interrupted(k, now, ctx.Err())
		}
		return p.storeDown(ctx, k, now, err, m)
	}
	if fetched != nil && !errors.Is(err, errNotStored) {
		// DingTalk answered but the store did not take the value: use it
		// here rather than fail, and let the next refresh store it.
		if e := withHardLimit(*fetched, cur, found); p.now().Before(e.ExpiresAt) && !p.isRejected(e) {
			p.log.ErrorContext(ctx, "token: could not store the refreshed value; keeping it in this process only", "token", e, "err", err)
			p.setLocal(e, p.now().Add(p.failureBackoff))
			return result{entry: e, refreshed: true, refreshErr: err}, nil
		}
	}
	now = p.now()
	if found && now.Before(cur.ExpiresAt) {
		p.log.WarnContext(ctx, "token: refresh failed; serving the cached value until it expires",
			"token", cur, "expires_in", cur.Remaining(now).Round(time.Second).String(), "err", err)
		p.setLocal(cur, now.Add(p.failureBackoff))
		return result{entry: cur, refreshErr: err}, nil
	}
	p.log.ErrorContext(ctx, "token: refresh failed and no valid value is cached", "kind", string(k), "app_key", p.appKey, "err", err)
	return result{}, fmt.Errorf("%w: %s for %s: %w", ErrUnavailable, k, p.appKey, err)
}

// storeDown serves the in-process copy while it is valid, else fetches from
// DingTalk and keeps the value in this process only: DingTalk returns the
// same token during its validity, so this does not fight other processes.
func (p *Provider) storeDown(ctx context.Context, k Kind, now time.Time, storeErr error, m mode) (result, error) {
	if l := p.local[kindIndex(k)].Load(); l != nil && now.Before(l.e.ExpiresAt) && !p.isRejected(l.e) {
		p.log.WarnContext(ctx, "token: store unavailable; serving the in-process value", "token", l.e, "err", storeErr)
		return result{entry: l.e, refreshErr: storeErr}, nil
	}
	e, err := p.fetch(ctx, k, m)
	if err != nil {
		return result{}, fmt.Errorf("%w: %s for %s: %w", ErrUnavailable, k, p.appKey, errors.Join(storeErr, err))
	}
	if lim := k.hardLimit(); lim > 0 {
		e.IssuedAt, e.HardExpiresAt = e.FetchedAt, e.FetchedAt.Add(lim)
	}
	p.log.ErrorContext(ctx, "token: store unavailable; fetched from DingTalk and kept in this process only", "token", e, "err", storeErr)
	p.setLocal(e, now.Add(p.failureBackoff))
	return result{entry: e, refreshed: true, refreshErr: storeErr}, nil
}

// load reads the stored value; a malformed or (by our clock) expired one
// counts as absent.
func (p *Provider) load(ctx context.Context, k Kind) (Entry, bool, error) {
	rec, err := record.Get[Entry](ctx, p.st, p.table, Key(k, p.appKey))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Entry{}, false, nil
	case errors.Is(err, record.ErrMalformed):
		p.log.WarnContext(ctx, "token: ignoring a malformed stored value", "kind", string(k), "app_key", p.appKey, "err", err)
		return Entry{}, false, nil
	case err != nil:
		return Entry{}, false, fmt.Errorf("token: read %s for %s: %w", k, p.appKey, err)
	}
	if !p.wellFormed(rec.Value, k) {
		p.log.WarnContext(ctx, "token: ignoring a malformed stored value", "kind", string(k), "app_key", p.appKey)
		return Entry{}, false, nil
	}
	e, ok := p.usable(rec.Value, true, k)
	return e, ok, nil
}

// wellFormed reports whether e, as decoded from the store, is a value of
// kind k for this app.
func (p *Provider) wellFormed(e Entry, k Kind) bool {
	return checkEntry(e, k, p.appKey) == nil
}

// usable reports whether the stored e (found false: none) holds a value
// this process may serve: well-formed, unexpired by our clock and not
// rejected.
func (p *Provider) usable(e Entry, found bool, k Kind) (Entry, bool) {
	if !found || !p.wellFormed(e, k) || !p.now().Before(e.ExpiresAt) || p.isRejected(e) {
		return Entry{}, false
	}
	return e, true
}

// fetch calls DingTalk for a new value of kind k.
func (p *Provider) fetch(ctx context.Context, k Kind, m mode) (Entry, error) {
	var (
		f     Fetched
		start time.Time
		err   error
	)
	switch k {
	case AccessToken:
		f, start, err = p.callUpstream(ctx, k, func(ctx context.Context) (Fetched, error) {
			return p.up.FetchAccessToken(ctx)
		})
	case JSAPITicket:
		f, start, err = p.fetchTicket(ctx, m)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("token: fetch %s for %s: %w", k, p.appKey, err)
	}
	if f.Value == "" || f.ExpiresIn <= 0 {
		return Entry{}, fmt.Errorf("token: fetch %s for %s: DingTalk returned an empty value or a lifetime of %v", k, p.appKey, f.ExpiresIn)
	}
	return Entry{Kind: k, AppKey: p.appKey, Value: f.Value, FetchedAt: start, ExpiresAt: start.Add(f.ExpiresIn), FetchedBy: lease.HolderID()}, nil
}

// fetchTicket fetches the ticket with the access token m supplies, or the
// cached one; when DingTalk rejects that token it is invalidated and the
// fetch retried once with a fresh one.
func (p *Provider) fetchTicket(ctx context.Context, m mode) (Fetched, time.Time, error) {
	for attempt := 0; ; attempt++ {
		var (
			tok Entry
			err error
		)
		if attempt == 0 && m.token != nil {
			tok, err = m.token(ctx)
		} else {
			tok, err = p.get(ctx, AccessToken, m.bound)
		}
		if err != nil {
			return Fetched{}, time.Time{}, err
		}
		f, start, err := p.callUpstream(ctx, JSAPITicket, func(ctx context.Context) (Fetched, error) {
			return p.up.FetchJSAPITicket(ctx, tok.Value)
		})
		if attempt == 0 && errors.Is(err, ErrTokenRejected) {
			if ierr := p.Invalidate(ctx, tok.Value); ierr != nil {
				return Fetched{}, start, errors.Join(err, ierr)
			}
			continue
		}
		return f, start, err
	}
}

func (p *Provider) callUpstream(ctx context.Context, k Kind, call func(context.Context) (Fetched, error)) (Fetched, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, p.fetchTimeout)
	defer cancel()
	start := p.now()
	p.upstreamCalls[kindIndex(k)].Add(1)
	f, err := call(ctx)
	return f, start, err
}

// maxWriteAttempts bounds the compare-and-swap loop of save.
const maxWriteAttempts = 8

// save is one read-modify-write of the stored value of kind k: next gets
// the current usable value (found false when there is none) and returns the
// value to store, or record.ErrNoChange. Writes never move backwards: a
// stored value expiring no earlier than next's is kept and returned
// instead. A rejected token is no reason to keep the stored value.
func (p *Provider) save(ctx context.Context, k Kind, next func(cur Entry, found bool) (Entry, error)) (Entry, error) {
	var out Entry
	wrote := false
	_, err := record.Update(ctx, p.st, p.table, Key(k, p.appKey), func(stored Entry, ok bool) (Entry, error) {
		wrote = false
		prev, prevFound := p.usable(stored, ok, k)
		e, err := next(prev, prevFound)
		if errors.Is(err, record.ErrNoChange) {
			out = prev
			return stored, err
		}
		if err != nil {
			return Entry{}, err
		}
		cand := withHardLimit(e, prev, prevFound)
		switch {
		case !p.now().Before(cand.ExpiresAt):
			return Entry{}, fmt.Errorf("%w: the fetched %s is already past its 24 h limit", errNotStored, k)
		case p.isRejected(cand):
			return Entry{}, fmt.Errorf("%w: DingTalk rejected the fetched %s while it was being stored", errNotStored, k)
		case prevFound && !cand.ExpiresAt.After(prev.ExpiresAt):
			out = prev
			return stored, record.ErrNoChange
		}
		out, wrote = cand, true
		return cand.inUTC(), nil
	}, record.WithExpiry(func(e Entry) time.Time { return e.ExpiresAt }), record.WithReplaceMalformed(), record.WithMaxAttempts(maxWriteAttempts))
	if err != nil {
		return Entry{}, err
	}
	if wrote {
		p.log.InfoContext(ctx, "token: refreshed", "token", out, "lifetime", out.ExpiresAt.Sub(out.FetchedAt).Round(time.Second).String())
	}
	return out, nil
}

// withHardLimit caps a ticket's expiry at 24 h after the value was first
// seen: a renewal (same value as prev) keeps prev's issue time.
func withHardLimit(e, prev Entry, prevFound bool) Entry {
	lim := e.Kind.hardLimit()
	if lim == 0 {
		return e
	}
	e.IssuedAt = e.FetchedAt
	if prevFound && prev.Value == e.Value && !prev.IssuedAt.IsZero() {
		e.IssuedAt = prev.IssuedAt
	}
	e.HardExpiresAt = e.IssuedAt.Add(lim)
	if e.ExpiresAt.After(e.HardExpiresAt) {
		e.ExpiresAt = e.HardExpiresAt
	}
	return e
}
