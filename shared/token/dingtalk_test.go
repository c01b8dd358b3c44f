package token

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
	"github.com/dingfn/dingfn/shared/wait"
)

// Endpoint names of the fake DingTalk's call counters.
const (
	apiAccessToken = "v1.0/oauth2/accessToken"
	apiJSAPITicket = "v1.0/oauth2/jsapiTickets"
)

func newDingTalk(t testing.TB, clk *clock) *dingtalktest.Server {
	t.Helper()
	srv := dingtalktest.NewServer(dingtalktest.WithClock(clk.Now))
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a dingtalk client for srv, with ts as token source when
// given. Retries of "busy" replies are off so fault tests see each failure.
func newClient(t testing.TB, srv *dingtalktest.Server, ts dingtalk.TokenSource) *dingtalk.Client {
	t.Helper()
	opts := []dingtalk.Option{
		dingtalk.WithBaseURLs(srv.URL, srv.URL),
		dingtalk.WithHTTPClient(srv.Client()),
		dingtalk.WithRateLimit(rate.Inf, 0),
		dingtalk.WithRetryPolicy(dingtalk.RetryPolicy{MaxAttempts: 1}),
	}
	if ts != nil {
		opts = append(opts, dingtalk.WithTokenSource(ts))
	}
	c, err := dingtalk.NewClient(srv.AppKey(), srv.AppSecret(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deployment is one environment of the app: its own provider (with its own
// upstream client) and the app client that uses the provider.
type deployment struct {
	p   *Provider
	app *dingtalk.Client
}

func newDeployment(t *testing.T, srv *dingtalktest.Server, st store.Store, clk *clock, opts ...Option) deployment {
	t.Helper()
	lg, _ := newLogger()
	p, err := New(srv.AppKey(), st, FromClient(newClient(t, srv, nil)), append([]Option{WithClock(clk.Now), WithLogger(lg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return deployment{p: p, app: newClient(t, srv, p)}
}

// TestDingTalkColdBurst is the cold-burst proof through the real client
// against the fake DingTalk: 3 deployments × 50 concurrent API calls and
// ticket reads make one token call and one ticket call; after DingTalk
// invalidates the token, the next burst (each call rejected once, then
// retried by the client after Invalidate) makes exactly one more.
func TestDingTalkColdBurst(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			srv := newDingTalk(t, clk)
			userID := srv.Org().Users[0].UserID
			release := make(chan struct{})
			srv.InjectFault(apiAccessToken, dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Times: 1, Release: release})

			waiting := make(chan struct{}, burstDeployments)
			deps := make([]deployment, burstDeployments)
			for i := range deps {
				deps[i] = newDeployment(t, srv, st, clk)
				var once sync.Once
				deps[i].p.sleep = func(ctx context.Context, d time.Duration) error {
					once.Do(func() { waiting <- struct{}{} })
					return wait.Sleep(ctx, d)
				}
			}
			burst := func(gate bool) {
				t.Helper()
				var wg sync.WaitGroup
				errs := make(chan error, burstDeployments*burstCallers)
				for _, d := range deps {
					for range burstCallers {
						wg.Go(func() {
							ctx := context.Background()
							if _, err := d.app.Contact.GetUser(ctx, userID, ""); err != nil {
								errs <- fmt.Errorf("GetUser: %w", err)
								return
							}
							tk, err := d.p.JSAPITicket(ctx)
							if err == nil && tk != srv.JSAPITicket() {
								err = fmt.Errorf("ticket is not DingTalk's current one")
							}
							if err != nil {
								errs <- err
							}
						})
					}
				}
				if gate {
					// The first token request is held; the two other
					// deployments must be waiting on its lease.
					for range burstDeployments - 1 {
						<-waiting
					}
					close(release)
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatalf("caller failed: %v", err)
				}
			}

			burst(true)
			if a, k := srv.CallCount(apiAccessToken), srv.CallCount(apiJSAPITicket); a != 1 || k != 1 {
				t.Fatalf("cold burst: DingTalk saw %d token and %d ticket calls, want 1 and 1", a, k)
			}
			srv.InvalidateTokens()
			burst(false)
			if a, k := srv.CallCount(apiAccessToken), srv.CallCount(apiJSAPITicket); a != 2 || k != 1 {
				t.Fatalf("after invalidation: DingTalk saw %d token and %d ticket calls, want 2 and 1", a, k)
			}
		})
	}
}

// TestDingTalkFailingDuringRefresh: DingTalk answering -1, 502 or not at
// all while the refresher runs; readers keep working on the old values
// while they are valid and the refresher's report carries the failure.
func TestDingTalkFailingDuringRefresh(t *testing.T) {
	faults := []dingtalktest.Fault{
		{Kind: dingtalktest.FaultBusy},
		{Kind: dingtalktest.FaultBadGateway},
		{Kind: dingtalktest.FaultSlow},
		{Kind: dingtalktest.FaultDrop},
	}
	for _, f := range faults {
		t.Run(f.Kind.String(), func(t *testing.T) {
			clk := newClock()
			st := newTestStore(clk.Now)
			srv := newDingTalk(t, clk)
			// A short fetch timeout turns the slow answer into a timeout.
			short := WithLease(300*time.Millisecond, 100*time.Millisecond)
			ref := newDeployment(t, srv, st, clk, short)
			reader := newDeployment(t, srv, st, clk, short)
			r, err := NewRefresher([]*Provider{ref.p})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := r.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			oldTicket, _ := reader.p.JSAPITicket(ctx)
			oldToken, _ := reader.p.AccessToken(ctx)

			clk.Advance(95 * time.Minute)
			srv.InjectFault(apiAccessToken, f)
			srv.InjectFault(apiJSAPITicket, f)
			rep, err := r.Tick(ctx)
			if err == nil || rep.OK {
				t.Fatalf("Tick during %v = ok, want a reported failure", f.Kind)
			}
			for k, v := range map[Kind]ValueReport{AccessToken: rep.Apps[0].AccessToken, JSAPITicket: rep.Apps[0].JSAPITicket} {
				if v.Error == "" || v.Refreshed || v.ExpiresInSeconds != 25*60 {
					t.Errorf("%s report = %+v, want the error and 1500 s left", k, v)
				}
			}
			b, _ := json.Marshal(rep)
			if strings.Contains(string(b), oldToken) || strings.Contains(string(b), oldTicket) || strings.Contains(string(b), srv.AppSecret()) {
				t.Fatalf("report leaks a secret: %s", b)
			}
			for range 20 {
				if _, err := reader.app.Contact.GetUser(ctx, srv.Org().Users[0].UserID, ""); err != nil {
					t.Fatalf("reader during outage: %v", err)
				}
				if tk, err := reader.p.JSAPITicket(ctx); err != nil || tk != oldTicket || tk != srv.JSAPITicket() {
					t.Fatalf("reader ticket during outage: %v", err)
				}
			}
			srv.ClearFaults()
			if rep, err := r.Tick(ctx); err != nil || !rep.Apps[0].AccessToken.Refreshed || !rep.Apps[0].JSAPITicket.Refreshed {
				t.Fatalf("after recovery: %+v, %v", rep, err)
			}
		})
	}
}

// TestDingTalkJSAPIConfig: the signed dd.config fields verify against the
// ticket DingTalk currently holds for the app.
func TestDingTalkJSAPIConfig(t *testing.T) {
	clk := newClock()
	srv := newDingTalk(t, clk)
	d := newDeployment(t, srv, newTestStore(clk.Now), clk)
	s, err := NewJSAPISigner(d.p, srv.CorpID(), strconv.FormatInt(srv.AgentID(), 10))
	if err != nil {
		t.Fatal(err)
	}
	const page = "https://h5.example.com/app/index.html?from=bench#/approve/1"
	cfg, err := s.Config(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	want := dingcrypto.JSAPISignature(srv.JSAPITicket(), cfg.NonceStr, cfg.TimeStamp, "https://h5.example.com/app/index.html?from=bench")
	if cfg.Signature != want || cfg.CorpID != srv.CorpID() {
		t.Fatalf("config %+v does not verify against DingTalk's ticket (want signature %s)", cfg, want)
	}
}

// BenchmarkNaiveFetch is the per-invocation alternative to the provider:
// a token call and a ticket call to DingTalk (the fake, over loopback HTTP)
// on every invocation. Compare with BenchmarkGet.
func BenchmarkNaiveFetch(b *testing.B) {
	clk := newClock()
	srv := dingtalktest.NewServer(dingtalktest.WithClock(clk.Now))
	b.Cleanup(srv.Close)
	up := FromClient(newClient(b, srv, nil))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tok, err := up.FetchAccessToken(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := up.FetchJSAPITicket(ctx, tok.Value); err != nil {
			b.Fatal(err)
		}
	}
}
