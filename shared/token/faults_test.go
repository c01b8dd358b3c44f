package token

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// A tick whose access-token refresh failed, with no token left, must not
// fetch the access token again for the ticket: one failing tick makes one
// token call, not two, and no ticket call.
func TestTickDoesNotRefetchFailedToken(t *testing.T) {
	clk, st, up := newFakes()
	up.setErr(errors.New("dingtalk: errcode -1 system busy"))
	r, err := NewRefresher([]*Provider{newTestProvider(t, st, up, clk)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Tick(context.Background())
	if err == nil || rep.OK {
		t.Fatalf("Tick = %+v, %v; want a failure", rep, err)
	}
	if a, k := up.tokenCalls.Load(), up.ticketCalls.Load(); a != 1 || k != 0 {
		t.Fatalf("upstream calls token=%d ticket=%d, want 1 and 0", a, k)
	}
	for k, v := range map[Kind]ValueReport{AccessToken: rep.Apps[0].AccessToken, JSAPITicket: rep.Apps[0].JSAPITicket} {
		if v.Error == "" || v.ExpiresInSeconds != 0 {
			t.Errorf("%s report = %+v, want an error and nothing left", k, v)
		}
	}
	// The next tick, with DingTalk back, refreshes both.
	up.setErr(nil)
	if rep, err := r.Tick(context.Background()); err != nil || !rep.Apps[0].JSAPITicket.Refreshed {
		t.Fatalf("after recovery: %+v, %v", rep, err)
	}
}

// A provider remembers every recently rejected token, not only the last:
// a late refresh result carrying an older rejected token never becomes
// the local copy again.
func TestRejectedTokensAllRemembered(t *testing.T) {
	clk, _, up, p := setup(t)
	ctx := context.Background()
	fetchedAt := clk.Now()
	first, _ := p.AccessToken(ctx)
	up.invalidate()
	if err := p.Invalidate(ctx, first); err != nil {
		t.Fatal(err)
	}
	second, err := p.AccessToken(ctx)
	if err != nil || second == first {
		t.Fatalf("after the first rejection got %q, %v", second, err)
	}
	up.invalidate()
	if err := p.Invalidate(ctx, second); err != nil {
		t.Fatal(err)
	}
	// A flight that read the first token before its rejection lands now.
	p.setLocal(Entry{Kind: AccessToken, AppKey: "dingapp", Value: first, FetchedAt: fetchedAt, ExpiresAt: fetchedAt.Add(2 * time.Hour)}, time.Time{})
	got, err := p.AccessToken(ctx)
	if err != nil || got == first || got == second || !up.valid(got) {
		t.Fatalf("got %q, %v; want a new valid token, not a rejected one (%q, %q)", got, err, first, second)
	}
}

// Cancelling a tick (SIGTERM to a one-shot run) while it refreshes must
// end the refresh and release its lease before Tick returns, so the next
// run need not wait for the lease to expire.
func TestTickCancelledReleasesLease(t *testing.T) {
	clk, st, up := newFakes()
	up.gate, up.entered = make(chan struct{}), make(chan struct{}, 1)
	defer close(up.gate)
	r, err := NewRefresher([]*Provider{newTestProvider(t, st, up, clk)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.Tick(ctx); done <- err }()
	<-up.entered // the refresher holds the lease and waits for DingTalk
	if _, err := st.Get(context.Background(), DefaultTable, LeaseKey(AccessToken, "dingapp")); err != nil {
		t.Fatalf("lease while refreshing: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Tick = %v, want context.Canceled", err)
	}
	for _, k := range Kinds() {
		if _, err := st.Get(context.Background(), DefaultTable, LeaseKey(k, "dingapp")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s lease after the cancelled tick returned: %v, want released", k, err)
		}
	}
}
