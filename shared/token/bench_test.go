package token

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store/storetest"
)

// BenchmarkGet measures the hot path of one invocation, which reads the
// access token and the jsapi ticket: both held in process, and both read
// from the store (in-process copies dropped before every op). Compare with
// BenchmarkNaiveFetch.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	both := func(b *testing.B, p *Provider) {
		if _, err := p.AccessToken(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := p.JSAPITicket(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for _, be := range storetest.Backends() {
		clk := newClock()
		st := be.Open(b, clk.Now)
		p := newTestProvider(b, st, newFakeUpstream(clk.Now), clk)
		both(b, p)
		if be.Name == "memory" {
			b.Run("in-process-hit", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					both(b, p)
				}
			})
		}
		b.Run("store-hit/"+be.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.local[kindIndex(AccessToken)].Store(nil)
				p.local[kindIndex(JSAPITicket)].Store(nil)
				both(b, p)
			}
		})
	}
}

// invocationPlan describes a stream of function invocations for counting
// upstream calls.
type invocationPlan struct {
	name string
	// coldStart builds a new provider (a new process) per invocation.
	coldStart bool
	// refresher runs the Refresher every 10 simulated minutes.
	refresher bool
	// naive fetches the token and the ticket on every invocation.
	naive bool
}

// countUpstream runs n invocations of three deployments, spread evenly over
// span of simulated time, each reading the token and the ticket, and
// returns DingTalk's token and ticket calls.
func countUpstream(tb testing.TB, plan invocationPlan, n int, span time.Duration) (int64, int64) {
	tb.Helper()
	ctx := context.Background()
	clk := newClock()
	st := newTestStore(clk.Now)
	up := newFakeUpstream(clk.Now)
	deps := make([]*Provider, 3)
	for i := range deps {
		deps[i] = newTestProvider(tb, st, up, clk)
	}
	ref, err := NewRefresher([]*Provider{newTestProvider(tb, st, up, clk)})
	if err != nil {
		tb.Fatal(err)
	}
	step := span / time.Duration(n)
	nextTick := clk.Now()
	for i := range n {
		if plan.refresher && !clk.Now().Before(nextTick) {
			if _, err := ref.Tick(ctx); err != nil {
				tb.Fatal(err)
			}
			nextTick = nextTick.Add(10 * time.Minute)
		}
		switch {
		case plan.naive:
			tok, err := up.FetchAccessToken(ctx)
			if err == nil {
				_, err = up.FetchJSAPITicket(ctx, tok.Value)
			}
			if err != nil {
				tb.Fatal(err)
			}
		default:
			p := deps[i%len(deps)]
			if plan.coldStart {
				p = newTestProvider(tb, st, up, clk)
			}
			if _, err := p.AccessToken(ctx); err != nil {
				tb.Fatal(err)
			}
			if _, err := p.JSAPITicket(ctx); err != nil {
				tb.Fatal(err)
			}
		}
		clk.Advance(step)
	}
	return up.tokenCalls.Load(), up.ticketCalls.Load()
}

var invocationPlans = []invocationPlan{
	{name: "naive fetch per invocation", naive: true},
	{name: "provider, warm instances", coldStart: false},
	{name: "provider, cold start every invocation", coldStart: true},
	{name: "provider + refresher every 10 min", refresher: true},
}

// TestUpstreamCallsPer10kInvocations prints DingTalk calls per 10 000
// invocations (three deployments, spread over one simulated day) for the
// naive per-invocation fetch and for the provider, and checks the ratio.
func TestUpstreamCallsPer10kInvocations(t *testing.T) {
	const n = 10_000
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-40s %12s %12s %14s\n", "10 000 invocations over 24 h", "token calls", "ticket calls", "vs naive")
	var naive int64
	for _, plan := range invocationPlans {
		tok, tk := countUpstream(t, plan, n, 24*time.Hour)
		if plan.naive {
			naive = tok + tk
		}
		fmt.Fprintf(&tbl, "%-40s %12d %12d %14s\n", plan.name, tok, tk, fmt.Sprintf("1/%.0f", float64(naive)/float64(tok+tk)))
		if !plan.naive && (tok > 20 || tk > 20) {
			t.Errorf("%s: %d token and %d ticket calls per day, want at most 20 each", plan.name, tok, tk)
		}
	}
	if naive != 2*n {
		t.Errorf("naive made %d calls, want %d", naive, 2*n)
	}
	t.Log(tbl.String())
}

// BenchmarkUpstreamPer10k reports, as a metric beside the timings, the
// DingTalk calls each strategy makes per 10 000 invocations (one op is a
// whole simulated day of 10 000 invocations).
func BenchmarkUpstreamPer10k(b *testing.B) {
	for _, plan := range invocationPlans {
		b.Run(strings.ReplaceAll(plan.name, " ", "_"), func(b *testing.B) {
			var calls int64
			for b.Loop() {
				tok, tk := countUpstream(b, plan, 10_000, 24*time.Hour)
				calls = tok + tk
			}
			b.ReportMetric(float64(calls), "upstream-calls/10k-inv")
		})
	}
}
