package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

const userAdd = `{"EventType":"user_add_org","TimeStamp":"1772442000000","UserId":["u1","u2"],"CorpId":"dingCorp"}`

func TestLoggedOnceProcessedOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		c := newCounter()
		e.mux.Handle("user_*", c)
		id := idOf(t, userAdd)
		for range 3 { // the push, DingTalk's redelivery, an exact replay
			if err := e.push(userAdd); err != nil {
				t.Fatalf("dispatch: %v", err)
			}
		}
		if n := c.called(id); n != 1 {
			t.Errorf("handler ran %d times, want 1", n)
		}
		got := e.entry(id)
		if got.Status != events.StatusDone || got.Attempts != 1 || got.Results["user_*"].Status != events.StatusDone {
			t.Errorf("entry = %+v, want done after one attempt", got)
		}
		if got.Type != "user_add_org" || got.CorpID != "dingCorp" || !got.ReceivedAt.Equal(epoch) || got.Source != events.SourcePush ||
			!got.EventTime.Equal(time.UnixMilli(1772442000000)) || string(got.Payload) != userAdd {
			t.Errorf("entry fields = %+v", got)
		}
		// The index row written with the event is left for the drain,
		// which drops it without running anything.
		e.clock.Advance(2 * time.Minute)
		rep := e.drain()
		if rep.Processed != 0 || rep.Cleaned != 1 || len(e.indexRows()) != 0 {
			t.Errorf("drain = %+v, index %v; want one stale row cleaned", rep, e.indexRows())
		}
	})
}

func TestNoHandlerIsOneConditionalWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory())
	e.st.reset()
	if err := e.push(`{"EventType":"chat_update_title","ChatId":"c1","TimeStamp":1772442000000,"CorpId":"dingCorp"}`); err != nil {
		t.Fatal(err)
	}
	if w, r := e.st.writes.Load(), e.st.rows.Load(); w != 1 || r != 1 {
		t.Errorf("store writes = %d (%d rows), want exactly 1", w, r)
	}
	if got := e.entry(idOf(t, `{"EventType":"chat_update_title","ChatId":"c1","TimeStamp":1772442000000,"CorpId":"dingCorp"}`)); got.Status != events.StatusDone {
		t.Errorf("status = %s, want done", got.Status)
	}
	if len(e.indexRows()) != 0 {
		t.Errorf("index rows %v for an event no handler wants", e.indexRows())
	}
}

func TestLogFailureIsAnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory())
	c := newCounter()
	e.mux.Handle("*", c)
	e.st.Store = failingStore{e.st.Store}
	err := e.push(userAdd)
	if err == nil {
		t.Fatal("dispatch succeeded although the log write failed")
	}
	if c.called(idOf(t, userAdd)) != 0 {
		t.Error("an event that was not logged was processed")
	}
}

// failingStore fails every write.
type failingStore struct{ store.Store }

var errStoreDown = errors.New("store down")

func (failingStore) Put(context.Context, string, store.Item, store.Cond) (int64, error) {
	return 0, errStoreDown
}
func (failingStore) Batch(context.Context, string, []store.Write) error { return errStoreDown }

func TestRetriesOnlyWhatFailed(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		good, flaky := newCounter(), newCounter()
		e.mux.Handle("user_add_org", good)
		e.mux.Handle("user_*", flaky)
		flaky.setFail(func(*events.Event) error { return errors.New("downstream busy") })
		id := idOf(t, userAdd)
		if err := e.push(userAdd); err != nil {
			t.Fatal(err)
		}
		got := e.entry(id)
		if got.Status != events.StatusFailed || got.Results["user_add_org"].Status != events.StatusDone ||
			got.Results["user_*"].Status != events.StatusFailed || got.Results["user_*"].Attempts != 1 {
			t.Fatalf("after inline = %+v", got)
		}
		if !contains(got.LastError, "downstream busy") {
			t.Errorf("last_error = %q", got.LastError)
		}
		// Not due before its back-off.
		e.clock.Advance(30 * time.Second)
		if rep := e.drain(); rep.Processed != 0 {
			t.Fatalf("drain before the back-off processed %+v", rep)
		}
		flaky.setFail(nil)
		e.clock.Advance(2 * time.Minute)
		rep := e.drain()
		if rep.Processed != 1 || rep.Done != 1 {
			t.Fatalf("drain = %+v, want one event done", rep)
		}
		if good.called(id) != 1 || flaky.called(id) != 2 || flaky.succeeded(id) != 1 {
			t.Errorf("calls: good %d, flaky %d (%d ok); want 1, 2 (1)", good.called(id), flaky.called(id), flaky.succeeded(id))
		}
		if got := e.entry(id); got.Status != events.StatusDone || got.LastError != "" || got.Attempts != 2 {
			t.Errorf("entry = %+v, want done after 2 attempts", got)
		}
		e.clock.Advance(time.Hour)
		e.drain()
		if keys := e.indexRows(); len(keys) != 0 {
			t.Errorf("index rows left: %v", keys)
		}
	})
}

func TestDeadAfterMaxAttemptsThenReplay(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, events.WithMaxAttempts(3))
		c := newCounter()
		e.mux.Handle("user_add_org", c)
		c.setFail(func(*events.Event) error { return errors.New("no") })
		id := idOf(t, userAdd)
		if err := e.push(userAdd); err != nil {
			t.Fatal(err)
		}
		var waits []time.Duration
		for e.entry(id).Status == events.StatusFailed {
			next := e.entry(id).NextAttemptAt
			waits = append(waits, next.Sub(e.clock.Now()))
			e.clock.Set(next)
			e.drain()
			if len(waits) > 5 {
				t.Fatal("never dead")
			}
		}
		got := e.entry(id)
		if got.Status != events.StatusDead || c.called(id) != 3 || got.NextAttemptAt != (time.Time{}) {
			t.Fatalf("entry = %+v after %d calls, want dead after 3", got, c.called(id))
		}
		// Back-off doubles from a minute, plus at most a fifth.
		for i, w := range waits {
			base := time.Minute << i
			if w < base || w > base+base/5 {
				t.Errorf("wait %d = %v, want %v..%v", i+1, w, base, base+base/5)
			}
		}
		e.clock.Advance(24 * time.Hour)
		if rep := e.drain(); rep.Processed != 0 {
			t.Errorf("a dead event was processed: %+v", rep)
		}
		dead := 0
		for en, err := range e.svc.List(e.ctx, events.StatusDead) {
			if err != nil {
				t.Fatal(err)
			}
			dead++
			if en.ID != id {
				t.Errorf("listed %s", en.ID)
			}
		}
		if dead != 1 {
			t.Errorf("List(dead) = %d events, want 1", dead)
		}
		c.setFail(nil)
		if _, err := e.svc.Replay(e.ctx, id, false); err != nil {
			t.Fatal(err)
		}
		if rep := e.drain(); rep.Done != 1 {
			t.Fatalf("drain after replay = %+v", rep)
		}
		if got := e.entry(id); got.Status != events.StatusDone || c.succeeded(id) != 1 {
			t.Errorf("after replay: %+v, %d successes", got, c.succeeded(id))
		}
	})
}

func TestPermanentErrorIsDeadAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory())
	e.mux.HandleFunc("user_add_org", func(ctx context.Context, ev *events.Event) error {
		_, err := ev.Department() // the wrong family: a *ParseError
		return err
	})
	id := idOf(t, userAdd)
	if err := e.push(userAdd); err != nil {
		t.Fatal(err)
	}
	got := e.entry(id)
	if got.Status != events.StatusDead || got.Results["user_add_org"].Attempts != 1 || !contains(got.LastError, "not of this family") {
		t.Errorf("entry = %+v, want dead after one attempt", got)
	}
}

func TestBudgetLeavesSlowHandlersPending(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, events.WithBudget(300*time.Millisecond, 100*time.Millisecond))
		release := make(chan struct{})
		slow := newCounter()
		slow.setFail(func(*events.Event) error {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			return nil
		})
		e.mux.Handle("user_add_org", slow)
		id := idOf(t, userAdd)
		start := time.Now()
		if err := e.push(userAdd); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("dispatch took %v with a 300 ms budget", d)
		}
		// Pending, and not counted as a failure. (On a store slower than
		// the budget allows, processing is skipped altogether and the
		// handler has no result yet; the drain takes the event either way.)
		got := e.entry(id)
		res, ran := got.Results["user_add_org"]
		if got.Status != events.StatusPending || (ran && (res.Status != events.StatusPending || res.Attempts != 0)) {
			t.Fatalf("entry = %+v, want pending, not counted as a failure", got)
		}
		close(release)
		e.clock.Advance(events.DefaultGrace)
		rep := e.drain()
		if rep.Done != 1 || e.entry(id).Status != events.StatusDone {
			t.Errorf("drain = %+v; status %s", rep, e.entry(id).Status)
		}
	})
}

// TestCrashBetweenLoggingAndProcessing logs an event the way the
// callback does before processing it, then "crashes" (the service is
// dropped, nothing is processed), and a new process's drain takes it.
func TestCrashBetweenLoggingAndProcessing(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		c := newCounter()
		e.mux.Handle("user_add_org", c)
		ev, err := events.NewEvent([]byte(userAdd), events.SourcePush, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if dup, err := e.svc.Accept(e.ctx, ev); err != nil || dup[0] {
			t.Fatalf("Accept = %v, %v", dup, err)
		}
		// DingTalk's retry of the unanswered push is a duplicate.
		if err := e.push(userAdd); err != nil {
			t.Fatal(err)
		}
		if c.called(ev.ID) != 0 {
			t.Fatal("the redelivery of a logged event was processed")
		}
		e.build() // a new process
		if rep := e.drain(); rep.Processed != 0 {
			t.Fatalf("drain inside the grace took the event: %+v", rep)
		}
		e.clock.Advance(events.DefaultGrace)
		if rep := e.drain(); rep.Done != 1 {
			t.Fatalf("drain = %+v, want the event done", rep)
		}
		if c.succeeded(ev.ID) != 1 || e.entry(ev.ID).Status != events.StatusDone {
			t.Errorf("processed %d times; status %s", c.succeeded(ev.ID), e.entry(ev.ID).Status)
		}
	})
}

func TestPurgeRemovesExpiredEvents(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, events.WithRetention(48*time.Hour))
		c := newCounter()
		e.mux.Handle("user_add_org", c)
		c.setFail(func(*events.Event) error { return errors.New("down") })
		for i := range 3 {
			if err := e.push(fmt.Sprintf(`{"EventType":"user_add_org","UserId":["u%d"],"TimeStamp":%d}`, i, 1772442000000+i)); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(47 * time.Hour)
		if err := e.push(`{"EventType":"org_change","TimeStamp":1772600000000}`); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Hour)
		n, err := e.svc.Purge(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Three events and the index rows written with them (the callback
		// writes no other: the drain finds a failed event through that one).
		if n != 6 {
			t.Errorf("purged %d rows, want 6", n)
		}
		var left []string
		for en, err := range e.svc.List(e.ctx, "") {
			if err != nil {
				t.Fatal(err)
			}
			left = append(left, en.Type)
		}
		if len(left) != 1 || left[0] != "org_change" || len(e.indexRows()) != 0 {
			t.Errorf("left %v, index %v", left, e.indexRows())
		}
	})
}

// failOutcome fails the conditional update that records an outcome.
type failOutcome struct {
	store.Store
	armed bool
}

func (f *failOutcome) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	if _, ok := cond.Version(); ok && f.armed {
		f.armed = false
		return 0, errStoreDown
	}
	return f.Store.Put(ctx, table, it, cond)
}

// TestOutcomeLostRunsAgain: when the store fails after the handlers ran,
// the push is still acknowledged (the event is logged), and the drain runs
// the handlers again — which is why handlers must be idempotent.
func TestOutcomeLostRunsAgain(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		c := newCounter()
		e.mux.Handle("user_add_org", c)
		fo := &failOutcome{Store: e.st.Store, armed: true}
		e.st.Store = fo
		id := idOf(t, userAdd)
		if err := e.push(userAdd); err != nil {
			t.Fatalf("dispatch: %v (the event was logged; it must be acknowledged)", err)
		}
		if got := e.entry(id); got.Status != events.StatusPending || c.succeeded(id) != 1 {
			t.Fatalf("after a lost outcome: %s, %d runs", got.Status, c.succeeded(id))
		}
		e.clock.Advance(events.DefaultGrace)
		if rep := e.drain(); rep.Done != 1 {
			t.Fatalf("drain = %+v", rep)
		}
		if c.succeeded(id) != 2 {
			t.Errorf("handler ran %d times, want 2 (once more after the lost outcome)", c.succeeded(id))
		}
	})
}

// TestProcessOtherSources: a feature of its own (robot messages, say)
// logs its events with its own ids and type through Process, with the
// same dedupe; events that cannot be logged are refused.
func TestProcessOtherSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory())
	c := newCounter()
	e.mux.Handle("robot_message", c)
	ev := &events.Event{ID: "robot-msg01", Type: "robot_message", Source: "robot", Payload: []byte(`{"msgId":"msg01","text":{"content":"hi"}}`)}
	p, err := e.svc.Process(e.ctx, ev)
	if err != nil || p.Duplicate || p.Status != events.StatusDone {
		t.Fatalf("Process = %+v, %v", p, err)
	}
	again := *ev
	if p, err := e.svc.Process(e.ctx, &again); err != nil || !p.Duplicate || c.called("robot-msg01") != 1 {
		t.Errorf("redelivery = %+v, %v; %d runs", p, err, c.called("robot-msg01"))
	}
	if got := e.entry("robot-msg01"); got.Source != "robot" || !got.ReceivedAt.Equal(epoch) {
		t.Errorf("entry %+v", got)
	}
	for _, bad := range []*events.Event{
		{ID: "", Type: "x", Payload: []byte(`{}`)},
		{ID: "~due/1/x", Type: "x", Payload: []byte(`{}`)},
		{ID: "ok", Type: "", Payload: []byte(`{}`)},
		{ID: "ok", Type: "x", Payload: []byte(`[1]`)},
	} {
		if _, err := e.svc.Process(e.ctx, bad); err == nil {
			t.Errorf("Process(%+v) accepted", bad)
		}
		if _, err := e.svc.Accept(e.ctx, bad); err == nil {
			t.Errorf("Accept(%+v) accepted", bad)
		}
	}
}

type ctxKey struct{}

// TestHandlerContext: WithHandlerContext's values reach handlers inline
// and in the drain, on top of the caller's context.
func TestHandlerContext(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	var fail bool
	e := newEnv(t, storetest.Memory(), events.WithHandlerContext(func(ctx context.Context) context.Context {
		return context.WithValue(ctx, ctxKey{}, "from the service")
	}))
	e.mux.HandleFunc("robot_message", func(ctx context.Context, ev *events.Event) error {
		v, _ := ctx.Value(ctxKey{}).(string)
		seen[fmt.Sprintf("attempt %d: %s", ev.Attempt, v)] = true
		if fail {
			return errors.New("not yet")
		}
		return nil
	})
	fail = true
	ev := &events.Event{ID: "robot-msg02", Type: "robot_message", Source: "robot", Payload: []byte(`{"msgId":"msg02"}`)}
	if p, err := e.svc.Process(e.ctx, ev); err != nil || p.Status != events.StatusFailed {
		t.Fatalf("Process = %+v, %v", p, err)
	}
	fail = false
	e.clock.Advance(time.Hour)
	if rep := e.drain(); rep.Done != 1 {
		t.Fatalf("drain = %+v", rep)
	}
	if !seen["attempt 1: from the service"] || !seen["attempt 2: from the service"] || len(seen) != 2 {
		t.Errorf("handler saw %v", seen)
	}
	if _, err := events.New(e.st, e.mux, events.WithHandlerContext(nil)); err == nil {
		t.Error("a nil function was accepted")
	}
}
