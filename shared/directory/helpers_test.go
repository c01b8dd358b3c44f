package directory_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/directory"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory/directorytest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// env is a fake DingTalk, a client of it and a mirror in a store.
type env struct {
	t      testing.TB
	ctx    context.Context
	fake   *dingtalktest.Server
	client *dingtalk.Client
	api    directory.API // the client, or a wrapper of it a test installs
	clock  *clocktest.Manual
	st     *countingStore
	w      *directory.Writer
	s      *directory.Syncer
}

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fastRetries keeps the client's behaviour (3 attempts, rate-limit
// retries) without its real-time pauses.
var fastRetries = dingtalk.RetryPolicy{MaxAttempts: 3, MaxRateLimitRetries: 3, QPSDelay: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func newEnv(t testing.TB, b storetest.Backend, fakeOpts ...dingtalktest.Option) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: clocktest.New(epoch)}
	e.fake = dingtalktest.NewServer(fakeOpts...)
	t.Cleanup(e.fake.Close)
	c, err := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(),
		dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL),
		dingtalk.WithRetryPolicy(fastRetries),
		dingtalk.WithRateLimit(rate.Inf, 0))
	if err != nil {
		t.Fatal(err)
	}
	e.client, e.api = c, c
	e.st = &countingStore{Store: b.Open(t, e.clock.Now)}
	e.rebuild()
	return e
}

// rebuild makes a new directory.Writer and directory.Syncer over e.api (after a test wrapped
// it), with fast rate-limit back-off.
func (e *env) rebuild(opts ...directory.SyncOption) {
	e.t.Helper()
	var err error
	if e.w, err = directory.NewWriter(e.st, e.api, directory.WithClock(e.clock.Now)); err != nil {
		e.t.Fatal(err)
	}
	if e.s, err = directory.NewSyncer(e.w, opts...); err != nil {
		e.t.Fatal(err)
	}
	directory.SetBackoff(e.s, time.Millisecond, 4*time.Millisecond)
}

// sync runs one walk with no deadline, a minute of clock later than the
// last one, and returns its report.
func (e *env) sync(opts directory.RunOptions) (*directory.Report, error) {
	e.clock.Advance(time.Minute)
	e.st.reset()
	return e.s.Run(e.ctx, opts)
}

// mustSync runs one complete walk.
func (e *env) mustSync() *directory.Report {
	e.t.Helper()
	rep, err := e.sync(directory.RunOptions{})
	if err != nil {
		e.t.Fatalf("sync: %v (report %+v)", err, rep)
	}
	if !rep.Complete || !rep.OK {
		e.t.Fatalf("sync not complete: %+v", rep)
	}
	return rep
}

// wantMirrorsFake fails unless the mirror equals the fake's organisation.
func (e *env) wantMirrorsFake() {
	e.t.Helper()
	diffs, err := directorytest.Diff(e.ctx, e.st, e.fake.Org())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(diffs) > 0 {
		if len(diffs) > 20 {
			diffs = append(diffs[:20], "…")
		}
		e.t.Fatalf("mirror differs from the organisation:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// countingStore records the writes that reach the store, by table and
// key, and counts reads.
type countingStore struct {
	store.Store
	mu     sync.Mutex
	writes map[string][]string // table → keys, in order
	reads  int
	// tables are every table any call named, so a test can scan them all.
	tables map[string]bool
}

// touch records a table a call named.
func (c *countingStore) touch(table string) {
	c.mu.Lock()
	if c.tables == nil {
		c.tables = map[string]bool{}
	}
	c.tables[table] = true
	c.mu.Unlock()
}

func (c *countingStore) reset() {
	c.mu.Lock()
	c.writes, c.reads = map[string][]string{}, 0
	c.mu.Unlock()
}

func (c *countingStore) wrote(table, key string) {
	c.mu.Lock()
	if c.writes == nil {
		c.writes = map[string][]string{}
	}
	c.writes[table] = append(c.writes[table], key)
	c.mu.Unlock()
}

func (c *countingStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	c.touch(table)
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Store.Get(ctx, table, key)
}

func (c *countingStore) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	c.touch(table)
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Store.Scan(ctx, table, r)
}

func (c *countingStore) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	c.touch(table)
	v, err := c.Store.Put(ctx, table, it, cond)
	if err == nil {
		c.wrote(table, it.Key)
	}
	return v, err
}

func (c *countingStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	c.touch(table)
	err := c.Store.Delete(ctx, table, key, cond)
	if err == nil {
		c.wrote(table, key)
	}
	return err
}

func (c *countingStore) Batch(ctx context.Context, table string, ws []store.Write) error {
	c.touch(table)
	err := c.Store.Batch(ctx, table, ws)
	failed := map[int]bool{}
	if be, ok := err.(*store.BatchError); ok {
		for _, f := range be.Failed {
			failed[f.Index] = true
		}
	}
	if err == nil || len(failed) > 0 {
		for i, w := range ws {
			if !failed[i] {
				c.wrote(table, w.Item.Key)
			}
		}
	}
	return err
}

// recordWrites returns the writes to the mirror's record tables (all but
// the sync's own state), by table.
func (c *countingStore) recordWrites() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]string{}
	for table, keys := range c.writes {
		if table != directory.StateTable {
			out[table] = append([]string(nil), keys...)
		}
	}
	return out
}

func (c *countingStore) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// hookAPI passes calls through to the real client and runs hook before
// each, with the call's name and its 1-based count for that name, so a
// test can change the world (the clock, the organisation, the faults) at
// an exact point of a walk.
type hookAPI struct {
	directory.API
	mu   sync.Mutex
	n    map[string]int
	hook func(api string, n int)
}

func (h *hookAPI) Call(ctx context.Context, name string, params, out any) error {
	h.mu.Lock()
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[name]++
	n := h.n[name]
	h.mu.Unlock()
	if h.hook != nil {
		h.hook(name, n)
	}
	return h.API.Call(ctx, name, params, out)
}

// hook installs a hook on the env's DingTalk calls.
func (e *env) hook(f func(api string, n int)) {
	e.api = &hookAPI{API: e.client, hook: f}
	e.rebuild()
}

// diffCount returns how many differences the mirror has from org.
func diffCount(t testing.TB, e *env, org *dingtalktest.Org) int {
	t.Helper()
	diffs, err := directorytest.Diff(e.ctx, e.st, org)
	if err != nil {
		t.Fatal(err)
	}
	return len(diffs)
}
