package token

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
	"github.com/dingfn/dingfn/shared/store/storetest"
	"github.com/dingfn/dingfn/shared/wait"
)

// TestRealRedisConfigured skips, saying how to run the proofs on a real
// Redis too, unless DINGFN_TEST_REDIS_URL names one.
func TestRealRedisConfigured(t *testing.T) { redistest.RealURL(t) }

const (
	burstDeployments = 3
	burstCallers     = 50
)

// TestColdBurstOneUpstreamCall: three deployments (independent providers
// on one store) × 50 concurrent callers each, cold: DingTalk sees one token
// call and one ticket call. After DingTalk invalidates the token and every
// caller reports the rejection, it sees exactly one more token call.
func TestColdBurstOneUpstreamCall(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			clk := newClock()
			st := b.Open(t, clk.Now)
			up := newFakeUpstream(clk.Now)
			up.gate, up.entered = make(chan struct{}), make(chan struct{}, 1)

			waiting := make(chan struct{}, burstDeployments)
			providers := make([]*Provider, burstDeployments)
			for i := range providers {
				p := newTestProvider(t, st, up, clk)
				var once sync.Once
				p.sleep = func(ctx context.Context, d time.Duration) error {
					once.Do(func() { waiting <- struct{}{} })
					return wait.Sleep(ctx, d)
				}
				providers[i] = p
			}

			burst := func(check func(p *Provider, tok string) error) []error {
				var wg sync.WaitGroup
				errs := make(chan error, burstDeployments*burstCallers)
				for _, p := range providers {
					for range burstCallers {
						wg.Go(func() {
							ctx := context.Background()
							tok, err := p.AccessToken(ctx)
							if err == nil {
								err = check(p, tok)
							}
							if err == nil {
								var tk string
								if tk, err = p.JSAPITicket(ctx); err == nil && !up.validTicket(tk) {
									err = fmt.Errorf("ticket %q is not valid", tk)
								}
							}
							if err != nil {
								errs <- err
							}
						})
					}
				}
				if up.gate != nil {
					// One deployment is fetching; the other two wait on its
					// lease. Only then may DingTalk answer.
					<-up.entered
					for range burstDeployments - 1 {
						<-waiting
					}
					close(up.gate)
				}
				wg.Wait()
				close(errs)
				var out []error
				for err := range errs {
					out = append(out, err)
				}
				return out
			}

			errs := burst(func(_ *Provider, tok string) error {
				if !up.valid(tok) {
					return fmt.Errorf("token %q is not valid", tok)
				}
				return nil
			})
			if len(errs) > 0 {
				t.Fatalf("%d callers failed, first: %v", len(errs), errs[0])
			}
			if a, k := up.tokenCalls.Load(), up.ticketCalls.Load(); a != 1 || k != 1 {
				t.Fatalf("cold burst: upstream token calls = %d, ticket calls = %d; want 1 and 1", a, k)
			}

			up.mu.Lock()
			up.gate = nil
			up.mu.Unlock()
			up.invalidate()
			errs = burst(func(p *Provider, tok string) error {
				if up.valid(tok) {
					return nil
				}
				// What the dingtalk client does on 40014: invalidate, retry once.
				if err := p.Invalidate(context.Background(), tok); err != nil {
					return err
				}
				again, err := p.AccessToken(context.Background())
				if err != nil {
					return err
				}
				if !up.valid(again) {
					return fmt.Errorf("retry got %q, still invalid", again)
				}
				return nil
			})
			if len(errs) > 0 {
				t.Fatalf("%d callers failed after invalidation, first: %v", len(errs), errs[0])
			}
			if a, k := up.tokenCalls.Load(), up.ticketCalls.Load(); a != 2 || k != 1 {
				t.Fatalf("after invalidation: upstream token calls = %d, ticket calls = %d; want 2 and 1", a, k)
			}
		})
	}
}

// TestRefresherAndReadersRace runs the scheduled refresher and readers of
// two other deployments over three simulated days on an injected clock:
// no reader ever gets an expired or rejected value, the stored expiry never
// decreases, and DingTalk is called about lifetime/(lifetime-margin) times
// per lifetime, not per invocation.
func TestRefresherAndReadersRace(t *testing.T) {
	const (
		step     = time.Minute
		tick     = 10 * time.Minute
		lifetime = 2 * time.Hour
		readers  = 4
	)
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			// Three days in memory and bolt; on the emulator (loopback
			// HTTP, slower) just past one ticket's 24 h limit.
			simulated := 72 * time.Hour
			if b.Name == "tablestore" {
				simulated = 26 * time.Hour
			}
			clk := newClock()
			st := b.Open(t, clk.Now)
			up := newFakeUpstream(clk.Now)
			ref, err := NewRefresher([]*Provider{newTestProvider(t, st, up, clk)})
			if err != nil {
				t.Fatal(err)
			}
			deployments := []*Provider{newTestProvider(t, st, up, clk), newTestProvider(t, st, up, clk)}
			ctx := context.Background()
			var lastExpiry [2]time.Time
			invocations := 0
			start := clk.Now()
			for elapsed := time.Duration(0); elapsed < simulated; elapsed += step {
				var wg sync.WaitGroup
				errs := make(chan error, readers*2+1)
				if elapsed%tick == 0 {
					wg.Go(func() {
						if _, err := ref.Tick(ctx); err != nil {
							errs <- err
						}
					})
				}
				for i := range readers {
					p := deployments[i%len(deployments)]
					wg.Go(func() {
						now := clk.Now()
						for _, k := range Kinds() {
							e, err := p.Get(ctx, k)
							switch {
							case err != nil:
								errs <- err
							case !now.Before(e.ExpiresAt):
								errs <- fmt.Errorf("%s expired at %v served at %v", k, e.ExpiresAt, now)
							case k == AccessToken && !up.valid(e.Value), k == JSAPITicket && !up.validTicket(e.Value):
								errs <- fmt.Errorf("%s %q served at %v is not accepted by DingTalk", k, e.Value, now)
							}
						}
					})
				}
				invocations += readers
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatalf("at %v: %v", elapsed, err)
				}
				for i, k := range Kinds() {
					it, err := st.Get(ctx, DefaultTable, Key(k, "dingapp"))
					if err != nil {
						continue // expired between refreshes (the ticket at its 24 h limit)
					}
					e, err := unmarshalEntry(it.Value, k, "dingapp")
					if err != nil {
						t.Fatal(err)
					}
					if e.ExpiresAt.Before(lastExpiry[i]) {
						t.Fatalf("at %v stored %s expiry went back from %v to %v", elapsed, k, lastExpiry[i], e.ExpiresAt)
					}
					lastExpiry[i] = e.ExpiresAt
				}
				clk.Advance(step)
			}
			// A value lives 120 min and is renewed with 30 min left, at the
			// first 10-minute tick: every 90 to 100 minutes, plus the
			// ticket's reissue after its 24 h limit.
			lo := int64(simulated / (lifetime - DefaultRefreshMargin + tick))
			hi := int64(simulated/(lifetime-DefaultRefreshMargin)) + int64(simulated/TicketHardLimit) + 1
			for _, c := range []struct {
				kind Kind
				n    int64
			}{{AccessToken, up.tokenCalls.Load()}, {JSAPITicket, up.ticketCalls.Load()}} {
				if c.n < lo || c.n > hi {
					t.Errorf("%s: %d upstream calls in %v, want %d..%d", c.kind, c.n, clk.Now().Sub(start), lo, hi)
				}
			}
			var byReaders int64
			for _, p := range deployments {
				s := p.Stats()
				byReaders += s.AccessTokenFetches + s.JSAPITicketFetches
			}
			t.Logf("%d reader invocations × 2 values; upstream calls: token %d, ticket %d (%.4f per invocation), %d of them by readers",
				invocations, up.tokenCalls.Load(), up.ticketCalls.Load(), float64(up.tokenCalls.Load())/float64(invocations), byReaders)
		})
	}
}
