package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/dingfn/dingfn/shared/store"
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
	holder         string
	// sleep waits between lease checks; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	sf    singleflight.Group
	local [2]atomic.Pointer[localEntry]
	// rejected is the last access token DingTalk rejected; this process
	// never serves it again, even from a flight that read it just before
	// the rejection.
	rejected atomic.Pointer[rejection]
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

// isRejected reports whether e is a token rejected after it was fetched.
func (p *Provider) isRejected(e Entry) bool {
	r := p.rejected.Load()
	return r != nil && e.Kind == AccessToken && e.Value == r.value && !e.FetchedAt.After(r.at)
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

// WithLogger sets the logger; the default is slog.Default().
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
		log:            slog.Default(),
		readMargin:     DefaultReadMargin,
		leaseTTL:       DefaultLeaseTTL,
		fetchTimeout:   DefaultFetchTimeout,
		waitMin:        DefaultWaitMin,
		waitMax:        DefaultWaitMax,
		failureBackoff: DefaultFailureBackoff,
		holder:         holderID(),
		sleep:          sleepCtx,
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
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
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if e, ok := p.localUsable(k, p.now()); ok {
		return e, nil
	}
	r, err := p.flight(ctx, k, p.readMargin, false)
	if err == nil && p.isRejected(r.entry) {
		// The shared flight read the store just before this caller's
		// Invalidate; one more flight sees the store without it.
		r, err = p.flight(ctx, k, p.readMargin, false)
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
	p.rejected.Store(&rejection{value: token, at: p.now()})
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
	key := Key(AccessToken, p.appKey)
	it, err := p.st.Get(ctx, p.table, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("token: invalidate access token for %s: %w", p.appKey, err)
	}
	if e, derr := unmarshalEntry(it.Value, AccessToken, p.appKey); derr == nil && e.Value != token {
		return nil
	}
	err = p.st.Delete(ctx, p.table, key, store.IfVersion(it.Version))
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("token: invalidate access token for %s: %w", p.appKey, err)
	}
	if err == nil {
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

func (p *Provider) setLocal(e Entry, retryAt time.Time) {
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

// flight runs obtain once per process for concurrent callers with the same
// kind and mode. The shared work is detached from the first caller's
// cancellation; each caller still returns when its own context ends.
func (p *Provider) flight(ctx context.Context, k Kind, margin time.Duration, refresher bool) (result, error) {
	key := string(k) + "/" + strconv.FormatInt(int64(margin), 10) + "/" + strconv.FormatBool(refresher)
	ch := p.sf.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.flightTimeout)
		defer cancel()
		return p.obtain(fctx, k, margin, refresher)
	})
	select {
	case <-ctx.Done():
		return result{}, ctx.Err()
	case r := <-ch:
		res, _ := r.Val.(result)
		return res, r.Err
	}
}

// obtain returns a value of kind k that is not within margin, refreshing it
// under the store lease if needed. Readers (refresher false) return a
// still-valid value at once when another instance holds the lease; the
// Refresher waits for that instance so its report is about the new value.
func (p *Provider) obtain(ctx context.Context, k Kind, margin time.Duration, refresher bool) (result, error) {
	backoff := p.waitMin
	var firstExpiry time.Time
	first := true
	for {
		now := p.now()
		cur, found, _, err := p.load(ctx, k)
		if err != nil {
			return p.storeDown(ctx, k, now, err)
		}
		if first {
			firstExpiry, first = cur.ExpiresAt, false
		}
		if found && !cur.needsRefresh(now, margin) {
			p.setLocal(cur, time.Time{})
			return result{entry: cur, refreshed: !cur.ExpiresAt.Equal(firstExpiry)}, nil
		}
		held, leaseVersion, err := p.acquire(ctx, k, now)
		if err != nil {
			if found {
				p.log.WarnContext(ctx, "token: store lease failed; serving the cached value", "token", cur, "err", err)
				return result{entry: cur, refreshErr: err}, nil
			}
			return result{}, fmt.Errorf("%w: %s for %s: %w", ErrUnavailable, k, p.appKey, err)
		}
		if held {
			return p.refreshHeld(ctx, k, margin, leaseVersion, firstExpiry)
		}
		if found && !refresher {
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

// refreshHeld runs under the lease: read again (a previous holder may have
// just finished), fetch, write, release.
func (p *Provider) refreshHeld(ctx context.Context, k Kind, margin time.Duration, leaseVersion int64, firstExpiry time.Time) (result, error) {
	defer p.release(ctx, k, leaseVersion)
	now := p.now()
	cur, found, raw, err := p.load(ctx, k)
	if err != nil {
		return p.storeDown(ctx, k, now, err)
	}
	if found && !cur.needsRefresh(now, margin) {
		p.setLocal(cur, time.Time{})
		return result{entry: cur, refreshed: !cur.ExpiresAt.Equal(firstExpiry)}, nil
	}
	e, err := p.fetch(ctx, k)
	if err == nil {
		saved, serr := p.save(ctx, e, &raw)
		if serr == nil {
			p.setLocal(saved, time.Time{})
			return result{entry: saved, refreshed: !saved.ExpiresAt.Equal(firstExpiry)}, nil
		}
		err = serr
		// DingTalk answered but the store did not take the value: use it
		// here rather than fail, and let the next refresh store it.
		if e = withHardLimit(e, cur, found); p.now().Before(e.ExpiresAt) {
			p.log.ErrorContext(ctx, "token: could not store the refreshed value; keeping it in this process only", "token", e, "err", serr)
			p.setLocal(e, p.now().Add(p.failureBackoff))
			return result{entry: e, refreshed: true, refreshErr: serr}, nil
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
func (p *Provider) storeDown(ctx context.Context, k Kind, now time.Time, storeErr error) (result, error) {
	if l := p.local[kindIndex(k)].Load(); l != nil && now.Before(l.e.ExpiresAt) && !p.isRejected(l.e) {
		p.log.WarnContext(ctx, "token: store unavailable; serving the in-process value", "token", l.e, "err", storeErr)
		return result{entry: l.e, refreshErr: storeErr}, nil
	}
	e, err := p.fetch(ctx, k)
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

// stored is the item of one kind as the store returned it, so that a
// compare-and-swap write can follow a read without reading again.
type stored struct {
	item  store.Item
	found bool
}

// read returns the stored item of kind k, found false when absent.
func (p *Provider) read(ctx context.Context, k Kind) (stored, error) {
	it, err := p.st.Get(ctx, p.table, Key(k, p.appKey))
	if errors.Is(err, store.ErrNotFound) {
		return stored{}, nil
	}
	if err != nil {
		return stored{}, err
	}
	return stored{item: it, found: true}, nil
}

// load reads the stored value; a malformed or (by our clock) expired one
// counts as absent. It also returns the item as read, for save.
func (p *Provider) load(ctx context.Context, k Kind) (Entry, bool, stored, error) {
	raw, err := p.read(ctx, k)
	if err != nil {
		return Entry{}, false, stored{}, fmt.Errorf("token: read %s for %s: %w", k, p.appKey, err)
	}
	e, found, err := p.usable(raw, k)
	if err != nil {
		p.log.WarnContext(ctx, "token: ignoring a malformed stored value", "kind", string(k), "app_key", p.appKey, "err", err)
	}
	return e, found, raw, nil
}

// usable decodes raw and reports whether it holds a value this process may
// serve: well-formed, unexpired by our clock and not rejected.
func (p *Provider) usable(raw stored, k Kind) (Entry, bool, error) {
	if !raw.found {
		return Entry{}, false, nil
	}
	e, err := unmarshalEntry(raw.item.Value, k, p.appKey)
	if err != nil {
		return Entry{}, false, err
	}
	if !p.now().Before(e.ExpiresAt) || p.isRejected(e) {
		return Entry{}, false, nil
	}
	return e, true, nil
}

// fetch calls DingTalk for a new value of kind k.
func (p *Provider) fetch(ctx context.Context, k Kind) (Entry, error) {
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
		f, start, err = p.fetchTicket(ctx)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("token: fetch %s for %s: %w", k, p.appKey, err)
	}
	if f.Value == "" || f.ExpiresIn <= 0 {
		return Entry{}, fmt.Errorf("token: fetch %s for %s: DingTalk returned an empty value or a lifetime of %v", k, p.appKey, f.ExpiresIn)
	}
	return Entry{Kind: k, AppKey: p.appKey, Value: f.Value, FetchedAt: start, ExpiresAt: start.Add(f.ExpiresIn)}, nil
}

// fetchTicket fetches the ticket with the cached access token; when DingTalk
// rejects that token it is invalidated and the fetch retried once.
func (p *Provider) fetchTicket(ctx context.Context) (Fetched, time.Time, error) {
	for attempt := 0; ; attempt++ {
		tok, err := p.Get(ctx, AccessToken)
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

// save writes e unless the store already holds a value expiring no earlier,
// which it returns instead: writes never move backwards. last, when not
// nil, is the item as read under the lease: the first compare-and-swap
// starts from it, and only a conflict costs another read.
func (p *Provider) save(ctx context.Context, e Entry, last *stored) (Entry, error) {
	key := Key(e.Kind, p.appKey)
	for range maxWriteAttempts {
		var cur stored
		if last != nil {
			cur, last = *last, nil
		} else {
			var err error
			if cur, err = p.read(ctx, e.Kind); err != nil {
				return Entry{}, fmt.Errorf("token: write %s for %s: %w", e.Kind, p.appKey, err)
			}
		}
		cond := store.IfAbsent
		if cur.found {
			cond = store.IfVersion(cur.item.Version)
		}
		// A rejected token is no reason to keep the stored value: the
		// write goes ahead whatever its expiry.
		prev, prevFound, _ := p.usable(cur, e.Kind)
		cand := withHardLimit(e, prev, prevFound)
		if !p.now().Before(cand.ExpiresAt) {
			return Entry{}, fmt.Errorf("token: write %s for %s: the fetched value is already past its 24 h limit", e.Kind, p.appKey)
		}
		if prevFound && !cand.ExpiresAt.After(prev.ExpiresAt) {
			return prev, nil
		}
		b, err := cand.marshal()
		if err != nil {
			return Entry{}, fmt.Errorf("token: encode %s: %w", e.Kind, err)
		}
		_, err = p.st.Put(ctx, p.table, store.Item{Key: key, Value: b, ExpiresAt: cand.ExpiresAt}, cond)
		if err == nil {
			p.log.InfoContext(ctx, "token: refreshed", "token", cand, "lifetime", cand.ExpiresAt.Sub(cand.FetchedAt).Round(time.Second).String())
			return cand, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return Entry{}, fmt.Errorf("token: write %s for %s: %w", e.Kind, p.appKey, err)
		}
	}
	return Entry{}, fmt.Errorf("token: write %s for %s: %d conflicting writes in a row", e.Kind, p.appKey, maxWriteAttempts)
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

// acquire tries to take the refresh lease of kind k.
func (p *Provider) acquire(ctx context.Context, k Kind, now time.Time) (bool, int64, error) {
	exp := now.Add(p.leaseTTL)
	b, err := json.Marshal(lease{Holder: p.holder, AcquiredAt: now.UTC(), ExpiresAt: exp.UTC()})
	if err != nil {
		return false, 0, err
	}
	v, err := p.st.Put(ctx, p.table, store.Item{Key: LeaseKey(k, p.appKey), Value: b, ExpiresAt: exp}, store.IfAbsent)
	switch {
	case err == nil:
		return true, v, nil
	case errors.Is(err, store.ErrConflict):
		return false, 0, nil
	default:
		return false, 0, fmt.Errorf("token: take the %s lease for %s: %w", k, p.appKey, err)
	}
}

// release drops the lease if it is still ours; it runs even when the
// caller's context ended, and an undropped lease simply expires.
func (p *Provider) release(ctx context.Context, k Kind, version int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.fetchTimeout)
	defer cancel()
	err := p.st.Delete(ctx, p.table, LeaseKey(k, p.appKey), store.IfVersion(version))
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		p.log.WarnContext(ctx, "token: could not release the refresh lease; it will expire", "kind", string(k), "app_key", p.appKey, "err", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// holderID names this process in leases, for operators reading the table.
func holderID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
