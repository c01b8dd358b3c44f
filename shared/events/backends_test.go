package events_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// TestSmallStormEveryBackend is TestStorm's shape on every store backend
// (Tablestore through its emulator), in real time over loopback HTTP: 120
// events pushed by the fake DingTalk, 30 redeliveries and 20 exact
// replays, 8 pushers at once, DingTalk's API failing 30 % of calls; then
// the drain until every event is done, none lost, none processed twice.
func TestSmallStormEveryBackend(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		const distinct, redeliveries, replays, pushers = 120, 30, 20, 8
		e := newEnv(t, b)
		fake := dingtalktest.NewServer(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 40}))
		t.Cleanup(fake.Close)
		client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
			dingtalk.WithRetryPolicy(dingtalk.RetryPolicy{MaxAttempts: 2, MaxRateLimitRetries: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}),
			dingtalk.WithRateLimit(rate.Inf, 0))
		if err != nil {
			t.Fatal(err)
		}
		org := fake.Org()
		pr := &probe{c: client, user: org.Users[0].UserID, ok: map[string]int{}}
		e.mux.Handle("*", pr)
		events.RegisterContacts(e.mux, apiDirectory{client})
		token, key := fake.EventSubscription()
		crypto, _ := dingcrypto.New(token, key, fake.AppKey())
		tm := &timed{h: newCallback(t, crypto, e.svc, callback.WithLogger(slogDiscard())), status: map[int]int{}}
		srv := httptest.NewServer(tm)
		t.Cleanup(srv.Close)
		fake.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Share: 0.3})

		var evs []map[string]any
		for i := range distinct {
			ev := fake.UserEvent("user_modify_org", org.Users[i%len(org.Users)].UserID)
			if i%4 == 0 {
				ev = fake.DeptEvent("org_dept_modify", org.Departments[i%len(org.Departments)].ID)
			}
			ev["TimeStamp"] = fmt.Sprint(1772442000000 + int64(i))
			evs = append(evs, ev)
		}
		work := make(chan map[string]any, distinct+redeliveries)
		for _, ev := range evs {
			work <- ev
		}
		for i := range redeliveries {
			work <- evs[(i*7)%distinct]
		}
		close(work)
		var wg sync.WaitGroup
		for range pushers {
			wg.Go(func() {
				for ev := range work {
					_ = fake.DeliverEvent(e.ctx, srv.URL+"/callback", ev)
				}
			})
		}
		wg.Wait()
		tm.mu.Lock()
		captured := append([]sentRequest(nil), tm.sent[:replays]...)
		tm.mu.Unlock()
		for _, s := range captured {
			resp, err := http.Post(srv.URL+s.url, "application/json", bytes.NewReader(s.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("replay answered %d", resp.StatusCode)
			}
		}
		if fake.FailedEventCount() != 0 || tm.status[http.StatusOK] != tm.replies {
			t.Fatalf("replies %v, %d failed pushes", tm.status, fake.FailedEventCount())
		}
		for round := 0; ; round++ {
			e.clock.Advance(10 * time.Minute)
			e.drain()
			open := 0
			for en, err := range e.svc.List(e.ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				if !en.Status.Final() {
					open++
				}
			}
			if open == 0 {
				break
			}
			if round > 30 {
				t.Fatalf("%d events still open", open)
			}
		}
		pr.mu.Lock()
		defer pr.mu.Unlock()
		for _, ev := range evs {
			id := idOf(t, string(mustJSON(t, ev)))
			if got := e.entry(id); got.Status != events.StatusDone {
				t.Errorf("%s: %s (%s)", id, got.Status, got.LastError)
			}
			if pr.ok[id] != 1 {
				t.Errorf("%s processed %d times", id, pr.ok[id])
			}
		}
		if len(e.indexRows()) != 0 {
			t.Errorf("index rows left: %d", len(e.indexRows()))
		}
	})
}
