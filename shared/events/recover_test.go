package events_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// TestRecoverFailedPushes: pushes DingTalk gave up on come back through
// get_call_back_failed_result into the same log, where an event that was
// also pushed successfully is a duplicate, and the drain processes the
// new ones once.
func TestRecoverFailedPushes(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		c := newCounter()
		e.mux.Handle("*", c)
		fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
		t.Cleanup(fake.Close)
		token, key := fake.EventSubscription()
		crypto, err := dingcrypto.New(token, key, fake.AppKey())
		if err != nil {
			t.Fatal(err)
		}
		up := true
		cb := newCallback(t, crypto, e.svc, callback.WithLogger(quietLogger()))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !up {
				http.Error(w, "down", http.StatusBadGateway)
				return
			}
			cb.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		org := fake.Org()
		at := e.clock.Now().UnixMilli()
		mk := func(typ string, i int) map[string]any {
			ev := fake.UserEvent(typ, org.Users[i].UserID)
			ev["TimeStamp"] = json.Number(jsonInt(at + int64(i)))
			return ev
		}
		delivered := mk("user_add_org", 0)
		if err := fake.DeliverEvent(e.ctx, srv.URL, delivered); err != nil {
			t.Fatal(err)
		}
		up = false
		lost := []map[string]any{mk("user_modify_org", 1), mk("user_leave_org", 2), fake.DeptEvent("org_dept_modify", 2)}
		for _, ev := range append(lost, delivered) { // the delivered one fails on a second delivery
			if err := fake.DeliverEvent(e.ctx, srv.URL, ev); err == nil {
				t.Fatal("delivery to a dead endpoint succeeded")
			}
		}
		if fake.FailedEventCount() != 4 {
			t.Fatalf("%d failed pushes, want 4", fake.FailedEventCount())
		}
		client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.Recover(e.ctx, client.Callback, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Fetched != 4 || rep.New != 3 || rep.Duplicates != 1 || fake.FailedEventCount() != 0 {
			t.Fatalf("recover = %+v", rep)
		}
		if rep, _ := e.svc.Recover(e.ctx, client.Callback, time.Time{}); rep.Fetched != 0 {
			t.Errorf("second recovery fetched %d", rep.Fetched)
		}
		e.clock.Advance(events.DefaultGrace)
		if dr := e.drain(); dr.Done != 3 {
			t.Fatalf("drain = %+v, want the 3 recovered events done", dr)
		}
		for _, ev := range append(lost, delivered) {
			id := idOf(t, string(mustJSON(t, ev)))
			if n := c.succeeded(id); n != 1 {
				t.Errorf("%s (%s) processed %d times", id, ev["EventType"], n)
			}
			if got := e.entry(id); got.Status != events.StatusDone {
				t.Errorf("%s: %s", id, got.Status)
			}
		}
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func quietLogger() *slogLogger { return slogDiscard() }

// TestRecoverStopsAtDeadline: a deadline in the past fetches nothing.
func TestRecoverStopsAtDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory())
	rep, err := e.svc.Recover(context.Background(), nil, e.clock.Now())
	if err != nil || !rep.Partial || rep.Fetched != 0 {
		t.Errorf("Recover past its deadline = %+v, %v", rep, err)
	}
}
