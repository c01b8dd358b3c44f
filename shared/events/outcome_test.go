package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// touchRow changes an event's row as another writer would (a replay, an
// operator's tool): it adds the result of a handler named "other".
func touchRow(ctx context.Context, st store.Store, id string) error {
	_, err := record.Update(ctx, st, events.DefaultTable, id, func(cur events.Entry, found bool) (events.Entry, error) {
		if cur.Results == nil {
			cur.Results = map[string]events.Result{}
		}
		cur.Results["other"] = events.Result{Status: events.StatusDone, At: epoch}
		return cur, nil
	}, record.WithExpiry(func(e events.Entry) time.Time { return e.ReceivedAt.Add(events.DefaultRetention) }))
	return err
}

// checkMerged: the inline outcome was merged into the row as stored, not
// written over it.
func checkMerged(t *testing.T, e *env, id string) {
	t.Helper()
	got := e.entry(id)
	if got.Status != events.StatusDone || got.Results["user_*"].Status != events.StatusDone {
		t.Errorf("entry = %+v, want done by user_*", got)
	}
	if got.Results["other"].Status != events.StatusDone {
		t.Errorf("results = %+v: the other writer's change was overwritten", got.Results)
	}
	if string(got.Payload) != userAdd {
		t.Errorf("payload = %s, want %s", got.Payload, userAdd)
	}
}

// TestOutcomeMergedIntoChangedRow: when the row changed between the log
// write and the outcome, the outcome is merged into what is stored.
func TestOutcomeMergedIntoChangedRow(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		e.mux.HandleFunc("user_*", func(ctx context.Context, ev *events.Event) error {
			return touchRow(ctx, e.st.Store, ev.ID)
		})
		if err := e.push(userAdd); err != nil {
			t.Fatal(err)
		}
		checkMerged(t, e, idOf(t, userAdd))
	})
}

// racingStore lets another writer change a row just before the first
// write conditional on its version.
type racingStore struct {
	store.Store
	raced bool
}

func (r *racingStore) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	if _, ok := cond.Version(); ok && !r.raced {
		r.raced = true
		if err := touchRow(ctx, r.Store, it.Key); err != nil {
			return 0, err
		}
	}
	return r.Store.Put(ctx, table, it, cond)
}

// TestOutcomeWriteLosesRace: an outcome write that loses to another
// writer is merged again from the stored row.
func TestOutcomeWriteLosesRace(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		rs := &racingStore{Store: e.st.Store}
		e.st.Store = rs
		c := newCounter()
		e.mux.Handle("user_*", c)
		if err := e.push(userAdd); err != nil {
			t.Fatal(err)
		}
		if !rs.raced {
			t.Fatal("no write conditional on a version: the race was not run")
		}
		checkMerged(t, e, idOf(t, userAdd))
		if n := c.called(idOf(t, userAdd)); n != 1 {
			t.Errorf("handler ran %d times, want 1", n)
		}
	})
}

// TestOutcomeKeepsStoredPayload: a handler scribbling on the payload it
// was given does not change the logged one.
func TestOutcomeKeepsStoredPayload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Memory())
	e.mux.HandleFunc("user_*", func(_ context.Context, ev *events.Event) error {
		for i := range ev.Payload {
			ev.Payload[i] = '!'
		}
		return nil
	})
	if err := e.push(userAdd); err != nil {
		t.Fatal(err)
	}
	got := e.entry(idOf(t, userAdd))
	if got.Status != events.StatusDone || string(got.Payload) != userAdd {
		t.Errorf("entry = %s %s, want done with the payload as logged", got.Status, got.Payload)
	}
}
