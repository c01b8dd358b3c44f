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
	st     *directorytest.CountingStore
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
	e.st = directorytest.NewCountingStore(b.Open(t, e.clock.Now))
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
	e.st.Reset()
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
