package events_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// countingStore counts the store calls that write (Put, Delete, Batch)
// and the rows they carry, and those that read.
type countingStore struct {
	store.Store
	writes, rows, reads atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	c.writes.Add(1)
	c.rows.Add(1)
	return c.Store.Put(ctx, table, it, cond)
}

func (c *countingStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	c.writes.Add(1)
	c.rows.Add(1)
	return c.Store.Delete(ctx, table, key, cond)
}

func (c *countingStore) Batch(ctx context.Context, table string, ws []store.Write) error {
	c.writes.Add(1)
	c.rows.Add(int64(len(ws)))
	return c.Store.Batch(ctx, table, ws)
}

func (c *countingStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	c.reads.Add(1)
	return c.Store.Get(ctx, table, key)
}

func (c *countingStore) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	c.reads.Add(1)
	return c.Store.Scan(ctx, table, r)
}

func (c *countingStore) Purge(ctx context.Context, table string) (int, error) {
	return c.Store.(store.Purger).Purge(ctx, table)
}

func (c *countingStore) reset() { c.writes.Store(0); c.rows.Store(0); c.reads.Store(0) }

// env is a Service on a store with a manual clock.
type env struct {
	t     testing.TB
	ctx   context.Context
	clock *clocktest.Manual
	st    *countingStore
	mux   *events.Mux
	svc   *events.Service
}

func newEnv(t testing.TB, b storetest.Backend, opts ...events.Option) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: clocktest.New(epoch), mux: events.NewMux()}
	e.st = &countingStore{Store: b.Open(t, func() time.Time { return e.clock.Now() })}
	e.build(opts...)
	return e
}

// build makes a new Service over the same store and mux: what a new
// process (after a crash, or the sync function's drain) sees.
func (e *env) build(opts ...events.Option) {
	e.t.Helper()
	// A generous budget: these tests are about what happens, not when, and
	// a loaded machine must not turn inline processing into a drain's
	// (the budget has tests of its own).
	base := []events.Option{events.WithClock(e.clock.Now), events.WithBudget(30*time.Second, time.Second)}
	svc, err := events.New(e.st, e.mux, append(base, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
}

// push dispatches a raw event as the callback would.
func (e *env) push(raw string) error {
	e.t.Helper()
	ev, err := callback.ParseEvent([]byte(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.Dispatch(e.ctx, ev)
}

// drain runs the drain at the clock's time.
func (e *env) drain() events.DrainReport {
	e.t.Helper()
	rep, err := e.svc.Drain(e.ctx, e.clock.Now(), time.Time{})
	if err != nil {
		e.t.Fatalf("drain: %v", err)
	}
	return rep
}

func (e *env) entry(id string) *events.Entry {
	e.t.Helper()
	got, err := e.svc.Get(e.ctx, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return got
}

// indexRows returns the drain's index rows.
func (e *env) indexRows() []string {
	e.t.Helper()
	var keys []string
	for it, err := range store.All(e.ctx, e.st.Store, events.DefaultTable, store.Range{Prefix: events.DuePrefix}) {
		if err != nil {
			e.t.Fatal(err)
		}
		keys = append(keys, it.Key)
	}
	return keys
}

// counter is a handler that counts its successful runs per event id and
// fails as told.
type counter struct {
	mu    sync.Mutex
	ok    map[string]int
	calls map[string]int
	fail  func(ev *events.Event) error
}

func newCounter() *counter { return &counter{ok: map[string]int{}, calls: map[string]int{}} }

func (c *counter) HandleEvent(ctx context.Context, ev *events.Event) error {
	c.mu.Lock()
	c.calls[ev.ID]++
	f := c.fail
	c.mu.Unlock()
	if f != nil {
		if err := f(ev); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.ok[ev.ID]++
	c.mu.Unlock()
	return nil
}

func (c *counter) succeeded(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok[id]
}

func (c *counter) called(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[id]
}

func (c *counter) setFail(f func(ev *events.Event) error) {
	c.mu.Lock()
	c.fail = f
	c.mu.Unlock()
}

// idOf is the log id of a raw event.
func idOf(t testing.TB, raw string) string {
	t.Helper()
	ev, err := events.NewEvent([]byte(raw), events.SourcePush, epoch)
	if err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// faultyStore delays every call (on the caller's clock: synctest's in a
// bubble) and, while share > 0, fails that share of the inserts (writes
// with an IfAbsent condition: the log's), spread evenly.
type faultyStore struct {
	store.Store
	delay time.Duration
	mu    sync.Mutex
	share float64
	seen  int
}

func (f *faultyStore) setShare(s float64) {
	f.mu.Lock()
	f.share, f.seen = s, 0
	f.mu.Unlock()
}

// wait delays a call, honouring ctx as every store does.
func (f *faultyStore) wait(ctx context.Context) error {
	if f.delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(f.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *faultyStore) fail(ctx context.Context, insert bool) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	if !insert {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.share <= 0 {
		return nil
	}
	f.seen++
	if math.Floor(float64(f.seen)*f.share) != math.Floor(float64(f.seen-1)*f.share) {
		return errStoreDown
	}
	return nil
}

func (f *faultyStore) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	if err := f.fail(ctx, cond.IsIfAbsent()); err != nil {
		return 0, err
	}
	return f.Store.Put(ctx, table, it, cond)
}

func (f *faultyStore) Batch(ctx context.Context, table string, ws []store.Write) error {
	if err := f.fail(ctx, slices.ContainsFunc(ws, func(w store.Write) bool { return w.Cond.IsIfAbsent() })); err != nil {
		return err
	}
	return f.Store.Batch(ctx, table, ws)
}

func (f *faultyStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	return f.Store.Delete(ctx, table, key, cond)
}

func (f *faultyStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	if err := f.wait(ctx); err != nil {
		return store.Item{}, err
	}
	return f.Store.Get(ctx, table, key)
}

func (f *faultyStore) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	if err := f.wait(ctx); err != nil {
		return store.Page{}, err
	}
	return f.Store.Scan(ctx, table, r)
}

func (f *faultyStore) Purge(ctx context.Context, table string) (int, error) {
	return f.Store.(store.Purger).Purge(ctx, table)
}

type slogLogger = slog.Logger

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newCallback is callback.NewHandler for tests: a wiring error fails t.
func newCallback(t testing.TB, c *dingcrypto.Crypto, d callback.Dispatcher, opts ...callback.Option) http.Handler {
	t.Helper()
	h, err := callback.NewHandler(c, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
