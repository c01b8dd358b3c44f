package token

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// logBuffer collects JSON log lines from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// newTestProvider returns a provider on st and up driven by clk.
func newTestProvider(t testing.TB, st store.Store, up Upstream, clk *clock, opts ...Option) *Provider {
	t.Helper()
	lg, _ := newLogger()
	base := []Option{WithClock(clk.Now), WithLogger(lg)}
	p, err := New("dingapp", st, up, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// setup returns newFakes with one provider (options opts) on them.
func setup(t testing.TB, opts ...Option) (*clock, *failStore, *fakeUpstream, *Provider) {
	t.Helper()
	clk, st, up := newFakes()
	return clk, st, up, newTestProvider(t, st, up, clk, opts...)
}

func TestNewValidates(t *testing.T) {
	_, st, up := newFakes()
	tests := []struct {
		name   string
		appKey string
		opts   []Option
	}{
		{"empty app key", "", nil},
		{"nil clock", "k", []Option{WithClock(nil)}},
		{"negative read margin", "k", []Option{WithReadMargin(-time.Second)}},
		{"lease shorter than 3 fetches", "k", []Option{WithLease(time.Second, time.Second)}},
		{"backoff max below min", "k", []Option{WithWaitBackoff(time.Second, time.Millisecond)}},
		{"empty table", "k", []Option{WithTable("")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.appKey, st, up, tt.opts...); err == nil {
				t.Fatal("got nil error, want one")
			}
		})
	}
}

func TestReadPathLocalThenStoreThenUpstream(t *testing.T) {
	clk, st, up := newFakes()
	p1 := newTestProvider(t, st, up, clk)
	ctx := context.Background()

	tok, err := p1.AccessToken(ctx)
	if err != nil || !up.valid(tok) {
		t.Fatalf("AccessToken = %q, %v; want a valid token", tok, err)
	}
	// A second instance (another deployment) finds it in the store.
	p2 := newTestProvider(t, st, up, clk)
	tok2, err := p2.AccessToken(ctx)
	if err != nil || tok2 != tok {
		t.Fatalf("second instance got %q, %v; want the stored %q", tok2, err, tok)
	}
	// With the store failing, both keep serving their in-process copies.
	st.setFail(errors.New("store down"))
	for _, p := range []*Provider{p1, p2} {
		if got, err := p.AccessToken(ctx); err != nil || got != tok {
			t.Fatalf("in-process hit = %q, %v; want %q", got, err, tok)
		}
	}
	st.setFail(nil)
	if got := up.tokenCalls.Load(); got != 1 {
		t.Fatalf("upstream token calls = %d, want 1", got)
	}

	// The stored value is JSON with the documented fields and its expiry.
	it, err := st.Get(ctx, DefaultTable, "access_token/dingapp")
	if err != nil {
		t.Fatalf("stored value: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(it.Value, &doc); err != nil {
		t.Fatalf("stored value is not JSON: %v", err)
	}
	for _, f := range []string{"kind", "app_key", "value", "fetched_at", "expires_at"} {
		if _, ok := doc[f]; !ok {
			t.Errorf("stored JSON lacks %q: %s", f, it.Value)
		}
	}
	if want := clk.Now().Add(2 * time.Hour); !it.ExpiresAt.Equal(want) {
		t.Errorf("item ExpiresAt = %v, want %v", it.ExpiresAt, want)
	}
}

func TestAppsDoNotCollide(t *testing.T) {
	clk := newClock()
	st := newTestStore(clk.Now)
	upA, upB := newFakeUpstream(clk.Now), newFakeUpstream(clk.Now)
	upB.serial = 1000
	lg, _ := newLogger()
	a, _ := New("appA", st, upA, WithClock(clk.Now), WithLogger(lg))
	b, _ := New("appB", st, upB, WithClock(clk.Now), WithLogger(lg))
	ctx := context.Background()
	ta, _ := a.AccessToken(ctx)
	tb, _ := b.AccessToken(ctx)
	if ta == tb || !upA.valid(ta) || !upB.valid(tb) {
		t.Fatalf("appA %q, appB %q: want each app's own token", ta, tb)
	}
}

// TestLocalCopyFollowsReadMargin: inside the read margin a reader goes to
// the store, and when the store holds a renewed value (written by the
// refresher elsewhere) it takes it without calling DingTalk.
func TestLocalCopyFollowsReadMargin(t *testing.T) {
	clk, st, up := newFakes()
	reader := newTestProvider(t, st, up, clk)
	other := newTestProvider(t, st, up, clk)
	ctx := context.Background()
	first, _ := reader.Get(ctx, AccessToken)

	clk.Advance(100 * time.Minute)
	r, err := other.flight(ctx, AccessToken, 30*time.Minute, true)
	if err != nil || !r.refreshed {
		t.Fatalf("refresh by another instance: %+v, %v", r, err)
	}
	clk.Advance(16 * time.Minute) // 4 min left on the reader's copy: inside its margin
	got, err := reader.Get(ctx, AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.After(first.ExpiresAt) {
		t.Fatalf("reader kept expiry %v, want the renewed %v", got.ExpiresAt, r.entry.ExpiresAt)
	}
	if n := up.tokenCalls.Load(); n != 2 {
		t.Fatalf("upstream calls = %d, want 2 (initial + one refresh)", n)
	}
}

func TestWritesNeverMoveBackwards(t *testing.T) {
	clk, st, _, p := setup(t)
	ctx := context.Background()
	save := func(e Entry) (Entry, error) {
		return p.save(ctx, e.Kind, func(Entry, bool) (Entry, error) { return e, nil })
	}
	now := clk.Now()
	newer := Entry{Kind: AccessToken, AppKey: "dingapp", Value: "newer", FetchedAt: now, ExpiresAt: now.Add(2 * time.Hour)}
	if _, err := save(newer); err != nil {
		t.Fatal(err)
	}
	// A slow refresher arrives with a value fetched a minute earlier.
	older := Entry{Kind: AccessToken, AppKey: "dingapp", Value: "older", FetchedAt: now.Add(-time.Minute), ExpiresAt: now.Add(119 * time.Minute)}
	got, err := save(older)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "newer" {
		t.Fatalf("save of an older value returned %q, want the stored newer one", got.Value)
	}
	stored, found, err := p.load(ctx, AccessToken)
	if err != nil || !found || stored.Value != "newer" {
		t.Fatalf("stored = %v %v %v, want newer", stored.Value, found, err)
	}
	// A later expiry does replace it.
	later := newer
	later.Value, later.ExpiresAt = "later", newer.ExpiresAt.Add(time.Second)
	if got, _ := save(later); got.Value != "later" {
		t.Fatalf("save of a later value returned %q", got.Value)
	}
	// A save whose read of "later" is overtaken by another writer's
	// "latest" loses its compare-and-swap, reads again and still does not
	// move back.
	latest, mid := later, later
	latest.Value, latest.ExpiresAt = "latest", later.ExpiresAt.Add(2*time.Second)
	mid.Value, mid.ExpiresAt = "mid", later.ExpiresAt.Add(time.Second)
	st.beforePut = func() {
		st.beforePut = nil
		if _, err := save(latest); err != nil {
			t.Error(err)
		}
	}
	if got, err := save(mid); err != nil || got.Value != "latest" {
		t.Fatalf("save from a stale read = %q, %v; want the stored latest", got.Value, err)
	}
	if st.beforePut != nil {
		t.Fatal("the competing write never ran")
	}
}

// TestRefreshReadsTheStoreTwice pins the store reads of one refresh: one
// before taking the lease and one under it, which the write then
// compare-and-swaps against without reading a third time.
func TestRefreshReadsTheStoreTwice(t *testing.T) {
	_, st, up, p := setup(t)
	if _, err := p.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := st.gets.Load(); n != 2 {
		t.Fatalf("store reads = %d, want 2", n)
	}
	if n := up.tokenCalls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d, want 1", n)
	}
}

func TestInvalidateOnlyCurrentToken(t *testing.T) {
	clk, st, up, p := setup(t)
	ctx := context.Background()
	old, _ := p.AccessToken(ctx)
	up.invalidate()
	if err := p.Invalidate(ctx, old); err != nil {
		t.Fatal(err)
	}
	fresh, err := p.AccessToken(ctx)
	if err != nil || fresh == old || !up.valid(fresh) {
		t.Fatalf("after Invalidate got %q, %v; want a new valid token", fresh, err)
	}
	// Late failures reporting the old token change nothing.
	for range 5 {
		if err := p.Invalidate(ctx, old); err != nil {
			t.Fatal(err)
		}
	}
	q := newTestProvider(t, st, up, clk)
	if got, _ := q.AccessToken(ctx); got != fresh {
		t.Fatalf("store holds %q after stale invalidations, want %q", got, fresh)
	}
	if n := up.tokenCalls.Load(); n != 2 {
		t.Fatalf("upstream token calls = %d, want 2", n)
	}
}

// TestInvalidateDuringFlight: a flight that read the token just before it
// was rejected must not hand it to the caller that rejected it.
func TestInvalidateDuringFlight(t *testing.T) {
	clk, _, up, p := setup(t)
	ctx := context.Background()
	old, _ := p.AccessToken(ctx)
	up.invalidate()
	// Simulate the flight's late write of the old token into the local copy.
	if err := p.Invalidate(ctx, old); err != nil {
		t.Fatal(err)
	}
	oldEntry := Entry{Kind: AccessToken, AppKey: "dingapp", Value: old, FetchedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)}
	p.setLocal(oldEntry, time.Time{})
	got, err := p.AccessToken(ctx)
	if err != nil || got == old {
		t.Fatalf("got %q, %v; want a token other than the rejected one", got, err)
	}
}

func TestTicketRetriesOnceWithFreshToken(t *testing.T) {
	_, _, up, p := setup(t)
	ctx := context.Background()
	if _, err := p.AccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	up.invalidate() // DingTalk no longer accepts the cached token
	tk, err := p.JSAPITicket(ctx)
	if err != nil || !up.validTicket(tk) {
		t.Fatalf("JSAPITicket = %q, %v; want a valid ticket", tk, err)
	}
	if a, b := up.tokenCalls.Load(), up.ticketCalls.Load(); a != 2 || b != 2 {
		t.Fatalf("upstream calls token=%d ticket=%d, want 2 and 2 (one rejected ticket call)", a, b)
	}
}

// TestLeaseHolderDies: a lease left by a crashed instance delays the others
// only until it expires; they wait with bounded backoff, then take over.
func TestLeaseHolderDies(t *testing.T) {
	clk, st, up, p := setup(t, WithWaitBackoff(10*time.Millisecond, 400*time.Millisecond))
	var waits []time.Duration
	p.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		clk.Advance(d) // simulated time: each wait lets the clock run
		return nil
	}
	ctx := context.Background()
	dead := store.Item{Key: LeaseKey(AccessToken, "dingapp"), Value: []byte(`{"holder":"crashed"}`), ExpiresAt: clk.Now().Add(DefaultLeaseTTL)}
	if _, err := st.Put(ctx, DefaultTable, dead, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	start := clk.Now()
	tok, err := p.AccessToken(ctx)
	if err != nil || !up.valid(tok) {
		t.Fatalf("AccessToken = %q, %v", tok, err)
	}
	if waited := clk.Now().Sub(start); waited < DefaultLeaseTTL || waited > DefaultLeaseTTL+400*time.Millisecond {
		t.Fatalf("took over after %v, want just past the %v lease", waited, DefaultLeaseTTL)
	}
	for i, d := range waits {
		if d <= 0 || d > 400*time.Millisecond {
			t.Fatalf("wait #%d = %v, want within (0, 400ms]", i, d)
		}
	}
	if n := len(waits); n > int(DefaultLeaseTTL/(200*time.Millisecond))+8 {
		t.Fatalf("%d waits for a %v lease: backoff is not growing", n, DefaultLeaseTTL)
	}
	if _, err := st.Get(ctx, DefaultTable, LeaseKey(AccessToken, "dingapp")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease after refresh: %v, want released", err)
	}
}

// TestWaiterHonoursContext: a caller waiting for a foreign lease returns
// when its context ends.
func TestWaiterHonoursContext(t *testing.T) {
	clk, st, _, p := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	sleeping := make(chan struct{}, 1)
	p.sleep = func(c context.Context, d time.Duration) error {
		select {
		case sleeping <- struct{}{}:
		default:
		}
		<-c.Done()
		return c.Err()
	}
	dead := store.Item{Key: LeaseKey(AccessToken, "dingapp"), Value: []byte(`{}`), ExpiresAt: clk.Now().Add(time.Minute)}
	if _, err := st.Put(ctx, DefaultTable, dead, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := p.AccessToken(ctx); errc <- err }()
	<-sleeping
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestUpstreamFailureServesValidValue: DingTalk failing during a refresh
// leaves readers on the old value until it expires, logs it, and backs
// off instead of retrying on every call.
func TestUpstreamFailureServesValidValue(t *testing.T) {
	clk, st, up := newFakes()
	lg, logs := newLogger()
	p, _ := New("dingapp", st, up, WithClock(clk.Now), WithLogger(lg))
	ctx := context.Background()
	tok, _ := p.AccessToken(ctx)

	clk.Advance(2*time.Hour - 3*time.Minute) // inside the 5-minute read margin
	up.setErr(errors.New("dingtalk: errcode -1 system busy"))
	for range 20 {
		got, err := p.AccessToken(ctx)
		if err != nil || got != tok {
			t.Fatalf("during outage got %q, %v; want the cached token", got, err)
		}
	}
	if n := up.tokenCalls.Load(); n != 2 {
		t.Fatalf("upstream calls during outage = %d, want 2 (one failed refresh, then backoff)", n)
	}
	if !strings.Contains(logs.String(), "serving the cached value until it expires") {
		t.Fatalf("logs do not say the cached value is served:\n%s", logs)
	}
	if strings.Contains(logs.String(), tok) {
		t.Fatalf("logs contain the token:\n%s", logs)
	}

	clk.Advance(3 * time.Minute) // now expired
	if _, err := p.AccessToken(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after expiry err = %v, want ErrUnavailable", err)
	}
	up.setErr(nil)
	if got, err := p.AccessToken(ctx); err != nil || !up.valid(got) {
		t.Fatalf("after recovery got %q, %v", got, err)
	}
}

// TestStoreDownFetchesDirectly: with the store unavailable and nothing in
// the process, a caller still gets a token (kept in process only).
func TestStoreDownFetchesDirectly(t *testing.T) {
	_, st, up, p := setup(t)
	st.setFail(errors.New("tablestore: 503"))
	tok, err := p.AccessToken(context.Background())
	if err != nil || !up.valid(tok) {
		t.Fatalf("got %q, %v; want a token fetched directly", tok, err)
	}
}

func TestTicketHardLimit(t *testing.T) {
	clk, _, up, p := setup(t)
	ctx := context.Background()
	first, err := p.Get(ctx, JSAPITicket)
	if err != nil {
		t.Fatal(err)
	}
	if want := first.FetchedAt.Add(TicketHardLimit); !first.HardExpiresAt.Equal(want) {
		t.Fatalf("HardExpiresAt = %v, want %v", first.HardExpiresAt, want)
	}
	// Renew every 90 minutes for a day: same ticket, expiry capped at 24 h.
	var last Entry
	for clk.Now().Add(90 * time.Minute).Before(first.IssuedAt.Add(TicketHardLimit)) {
		clk.Advance(90 * time.Minute)
		r, err := p.flight(ctx, JSAPITicket, 30*time.Minute, true)
		if err != nil {
			t.Fatal(err)
		}
		last = r.entry
		if last.Value != first.Value {
			t.Fatalf("ticket changed to %q before its 24 h limit (at %v, first %+v, calls %d/%d)", last.Value, clk.Now().Sub(first.IssuedAt), first, up.tokenCalls.Load(), up.ticketCalls.Load())
		}
	}
	if !last.Capped() || !last.ExpiresAt.Equal(first.HardExpiresAt) {
		t.Fatalf("last renewal expires %v (capped %v), want capped at %v", last.ExpiresAt, last.Capped(), first.HardExpiresAt)
	}
	calls := up.ticketCalls.Load()
	// A capped ticket is not renewed again: DingTalk would return it unchanged.
	if r, _ := p.flight(ctx, JSAPITicket, 30*time.Minute, true); r.refreshed || up.ticketCalls.Load() != calls {
		t.Fatalf("capped ticket was refetched")
	}
	clk.Advance(last.Remaining(clk.Now()))
	next, err := p.Get(ctx, JSAPITicket)
	if err != nil || next.Value == first.Value || !up.validTicket(next.Value) {
		t.Fatalf("after the hard limit got %q, %v; want a new valid ticket", next.Value, err)
	}
}

func TestEntryNeverPrinted(t *testing.T) {
	e := Entry{Kind: AccessToken, AppKey: "dingapp", Value: "s3cr3t", ExpiresAt: time.Unix(1e9, 0)}
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "token", e)
	for _, s := range []string{e.String(), b.String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("value printed: %s", s)
		}
	}
}

// TestMalformedStoredValueIsReplaced: a value another program wrote badly
// counts as absent and is overwritten by a version-checked write.
func TestMalformedStoredValueIsReplaced(t *testing.T) {
	clk, st, up := newFakes()
	ctx := context.Background()
	if _, err := st.Put(ctx, DefaultTable, store.Item{Key: Key(AccessToken, "dingapp"), Value: []byte(`{"value":`)}, store.Always); err != nil {
		t.Fatal(err)
	}
	p := newTestProvider(t, st, up, clk)
	tok, err := p.AccessToken(ctx)
	if err != nil || !up.valid(tok) {
		t.Fatalf("got %q, %v", tok, err)
	}
	if e, found, err := p.load(ctx, AccessToken); err != nil || !found || e.Value != tok {
		t.Fatalf("stored after repair: %v %v", found, err)
	}
}

// TestStoreDownServesInProcessValue: within the read margin, with the store
// failing, the in-process value is served until it expires.
func TestStoreDownServesInProcessValue(t *testing.T) {
	clk, st, up, p := setup(t)
	ctx := context.Background()
	tok, _ := p.AccessToken(ctx)
	clk.Advance(117 * time.Minute)
	st.setFail(errors.New("tablestore: 503"))
	if got, err := p.AccessToken(ctx); err != nil || got != tok {
		t.Fatalf("got %q, %v; want the in-process token", got, err)
	}
	if n := up.tokenCalls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d, want 1", n)
	}
}

// TestStoreWriteFailsKeepsFetchedValue: when DingTalk answers but the store
// refuses the write, the fetched value is used in process and the failure
// is reported to the refresher.
func TestStoreWriteFailsKeepsFetchedValue(t *testing.T) {
	_, st, up, p := setup(t)
	r, _ := NewRefresher([]*Provider{p})
	st.failPutKey = Key(AccessToken, "dingapp")
	rep, err := r.Tick(context.Background())
	if err == nil || rep.Apps[0].AccessToken.Error == "" || !rep.Apps[0].AccessToken.Refreshed || rep.Apps[0].AccessToken.ExpiresInSeconds != 7200 {
		t.Fatalf("report %+v, %v; want the store error with a fresh in-process token", rep.Apps[0].AccessToken, err)
	}
	// The ticket, fetched with that token, was stored normally.
	if rep.Apps[0].JSAPITicket.Error != "" {
		t.Fatalf("ticket report %+v", rep.Apps[0].JSAPITicket)
	}
	if tok, err := p.AccessToken(context.Background()); err != nil || !up.valid(tok) {
		t.Fatalf("AccessToken = %q, %v", tok, err)
	}
}
