package events_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dingfn/dingfn/shared/approvals"
	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// lateHandler serves with whatever handler is set, so a fake created
// outside a synctest bubble can push to a callback built inside it.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*l.h.Load()).ServeHTTP(w, r)
}

// timed measures every reply of the callback and keeps the requests, for
// exact replays.
type timed struct {
	h       http.Handler
	mu      sync.Mutex
	slowest time.Duration
	replies int
	status  map[int]int
	sent    []sentRequest
}

type sentRequest struct {
	url  string
	body []byte
}

func (tm *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	start := time.Now()
	tm.h.ServeHTTP(rec, r)
	d := time.Since(start)
	tm.mu.Lock()
	tm.slowest = max(tm.slowest, d)
	tm.replies++
	tm.status[rec.Code]++
	tm.sent = append(tm.sent, sentRequest{r.URL.String(), body})
	tm.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// apiDirectory stands in for the directory mirror's guarded write path:
// it re-fetches each record from DingTalk, as the real one does.
type apiDirectory struct{ c *dingtalk.Client }

func (d apiDirectory) SyncUser(ctx context.Context, userid string) (directory.Change, error) {
	_, err := d.c.Contact.GetUser(ctx, userid, "")
	return directory.Unchanged, err
}

func (d apiDirectory) SyncDepartment(ctx context.Context, id int64) (directory.Change, error) {
	_, err := d.c.Contact.GetDepartment(ctx, id, "")
	return directory.Unchanged, err
}

// probe is a handler of every event that calls DingTalk (so the faults
// reach it) and counts its successful runs per event.
type probe struct {
	c    *dingtalk.Client
	user string
	mu   sync.Mutex
	ok   map[string]int
}

func (p *probe) HandleEvent(ctx context.Context, ev *events.Event) error {
	if _, err := p.c.Contact.GetUser(ctx, p.user, ""); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	p.ok[ev.ID]++
	p.mu.Unlock()
	return nil
}

// TestStorm pushes 1 000 events through the real callback handler from
// the fake DingTalk — 700 distinct ones, 200 redeliveries and 100 exact
// replays of captured requests, 40 pushers at once — while DingTalk's API
// fails 30 % of calls and answers half of the rest after 2 s, and the
// store answers after 50 ms and refuses half the log writes during the
// pushes.
// Every reply stays under 1 500 ms; then the drain (and the recovery of failed
// pushes) runs minute by minute until every event is done: none is lost,
// none is processed twice, and the approvals table matches the fake's
// instances. It runs on synctest's clock: hours of retries take seconds.
func TestStorm(t *testing.T) {
	t.Parallel()
	const (
		distinct     = 700
		redeliveries = 200
		replays      = 100
		pushers      = 40
		instances    = 40
	)
	cb := &lateHandler{}
	fake := dingtalktest.NewServer(
		dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 300}),
		dingtalktest.WithPushClient(&http.Client{Transport: dingtalktest.HandlerTransport(cb)}),
	)
	t.Cleanup(fake.Close)
	org := fake.Org()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
			dingtalk.WithHTTPClient(&http.Client{Transport: fake.Transport()}))
		if err != nil {
			t.Fatal(err)
		}
		mem, _ := memstore.New()
		// The store answers every call after 50 ms, and while DingTalk
		// pushes it refuses half the log's writes: the callback answers
		// 5xx, DingTalk retries, and the pushes whose three attempts all
		// fail come back through get_call_back_failed_result. (A store
		// that fails after the handlers ran makes them run again:
		// TestOutcomeLostRunsAgain.)
		st := &faultyStore{Store: mem, delay: 50 * time.Millisecond}
		st.setShare(0.5)
		mux := events.NewMux()
		events.RegisterContacts(mux, apiDirectory{client})
		aw, _ := approvals.NewWriter(st, client.Process, nil)
		events.RegisterApprovals(mux, aw)
		pr := &probe{c: client, user: org.Users[0].UserID, ok: map[string]int{}}
		mux.Handle("*", pr)
		svc, err := events.New(st, mux)
		if err != nil {
			t.Fatal(err)
		}
		token, key := fake.EventSubscription()
		crypto, _ := dingcrypto.New(token, key, fake.AppKey())
		quiet := slog.New(slog.DiscardHandler)
		tm := &timed{h: newCallback(t, crypto, svc, callback.WithLogger(quiet)), status: map[int]int{}}
		cb.set(tm)
		const url = "https://callback.example/callback"

		// Approval instances, created before the faults start.
		var ids []string
		for i := range instances {
			id, err := client.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{
				OriginatorUserID: org.Users[i].UserID, ProcessCode: "PROC-LEAVE", DeptID: -1,
				FormComponentValues: []dingtalk.FormComponentValue{{Name: "days", Value: fmt.Sprint(i + 1)}},
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		var evs []map[string]any
		base := time.Now().UnixMilli()
		for i := range distinct {
			var ev map[string]any
			switch {
			case i < 2*instances:
				id := ids[i%instances]
				if i >= instances {
					result := []string{"agree", "refuse", ""}[i%3]
					if err := fake.FinishProcessInstance(id, result); err != nil {
						t.Fatal(err)
					}
					ev, _ = fake.ProcessEvent(id, map[bool]string{true: "terminate", false: "finish"}[result == ""])
				} else {
					ev, _ = fake.ProcessEvent(id, "start")
				}
			case i%3 == 0:
				ev = fake.DeptEvent("org_dept_modify", org.Departments[i%len(org.Departments)].ID)
			case i%7 == 0: // console shape, with DingTalk's eventId
				ev = map[string]any{"EventType": "user_modify_org", "eventId": fmt.Sprintf("e%030d", i), "CorpId": fake.CorpID(),
					"EventTime": base + int64(i), "userId": []string{org.Users[i%len(org.Users)].UserID}}
			default:
				ev = fake.UserEvent([]string{"user_modify_org", "user_active_org", "org_admin_add"}[i%3],
					org.Users[i%len(org.Users)].UserID, org.Users[(i+1)%len(org.Users)].UserID)
			}
			ev["TimeStamp"] = fmt.Sprint(base + int64(i)) // one event per millisecond: distinct identities
			evs = append(evs, ev)
		}
		// From here DingTalk's API fails 30 % of calls (-1, busy) and
		// answers half of the others after 2 s.
		fake.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Share: 0.3})
		fake.InjectFault("", dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Delay: 2 * time.Second, Share: 0.5})

		work := make(chan func(), distinct+redeliveries+replays)
		for _, ev := range evs {
			work <- func() { _ = fake.DeliverEvent(ctx, url, ev) }
		}
		for i := range redeliveries {
			ev := evs[(i*7)%distinct]
			work <- func() { _ = fake.DeliverEvent(ctx, url, ev) }
		}
		close(work)
		var wg sync.WaitGroup
		for range pushers {
			wg.Go(func() {
				for f := range work {
					f()
				}
			})
		}
		wg.Wait()
		st.setShare(0)
		failedPushes := fake.FailedEventCount()
		// Exact replays of captured pushes, byte for byte.
		tm.mu.Lock()
		captured := append([]sentRequest(nil), tm.sent[:replays]...)
		tm.mu.Unlock()
		replay := func(s sentRequest) int {
			w := httptest.NewRecorder()
			tm.ServeHTTP(w, httptest.NewRequest(http.MethodPost, s.url, bytes.NewReader(s.body)))
			return w.Code
		}
		for _, s := range captured {
			if code := replay(s); code != http.StatusOK {
				t.Fatalf("replay inside the window answered %d", code)
			}
		}
		if tm.slowest >= 1500*time.Millisecond {
			t.Errorf("slowest reply %v, want under 1500ms", tm.slowest)
		}
		t.Logf("%d replies (%v), slowest %v; %d pushes failed after DingTalk's retries", tm.replies, tm.status, tm.slowest, failedPushes)
		if failedPushes == 0 || tm.status[http.StatusInternalServerError] == 0 {
			t.Errorf("no push failed (%v): the recovery path was not exercised", tm.status)
		}
		recovered := 0

		// The drain (and recovery of the pushes DingTalk gave up on), a
		// minute apart, until nothing is left to do.
		for round := 0; ; round++ {
			time.Sleep(time.Minute)
			rep, _ := svc.Recover(ctx, client.Callback, time.Time{})
			recovered += rep.New
			if _, err := svc.Drain(ctx, time.Now(), time.Time{}); err != nil {
				t.Fatal(err)
			}
			open, logged := 0, 0
			for e, err := range svc.List(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				logged++
				if !e.Status.Final() {
					open++
				}
			}
			if open == 0 && logged == distinct && fake.FailedEventCount() == 0 {
				t.Logf("all done after %d drain rounds; %d failed pushes recovered", round+1, recovered)
				break
			}
			if round > 300 {
				t.Fatalf("after %d rounds: %d logged, %d unfinished", round, logged, open)
			}
		}
		// A replay outside the timestamp window is refused.
		time.Sleep(10 * time.Minute)
		if code := replay(captured[0]); code != http.StatusUnauthorized {
			t.Errorf("stale replay answered %d, want 401", code)
		}

		// 0 lost, 0 processed twice.
		pr.mu.Lock()
		defer pr.mu.Unlock()
		for _, ev := range evs {
			e, err := events.NewEvent(mustJSON(t, ev), events.SourcePush, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			got, err := svc.Get(ctx, e.ID)
			if err != nil {
				t.Errorf("event %s (%s) lost: %v", e.ID, e.Type, err)
				continue
			}
			if got.Status != events.StatusDone {
				t.Errorf("event %s: %s (%s)", e.ID, got.Status, got.LastError)
			}
			if n := pr.ok[e.ID]; n != 1 {
				t.Errorf("event %s processed %d times, want 1", e.ID, n)
			}
		}
		// The approvals table matches the fake's instances.
		for _, p := range fake.ProcessInstances() {
			a, err := approvals.Get(ctx, st, p.ID)
			if err != nil {
				t.Errorf("approval %s: %v", p.ID, err)
				continue
			}
			if a.Status != p.Status || a.Result != p.Result || a.OriginatorUserID != p.OriginatorUserID ||
				len(a.FormValues) != 1 || a.FormValues[0].Value != p.Form[0].Value || a.ProcessCode != p.ProcessCode {
				t.Errorf("approval %s = %+v, want status %s result %q", p.ID, a, p.Status, p.Result)
			}
		}
	})
}
