package events

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

type ctxKey struct{}

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestBudgetCtx(t *testing.T) {
	t.Run("no timer while only Err is asked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := withBudget(context.Background(), time.Now().Add(time.Second))
			defer c.stop()
			if err := c.Err(); err != nil {
				t.Fatalf("Err = %v before the deadline", err)
			}
			if c.started() != nil {
				t.Error("Err started the timer")
			}
			if d, ok := c.Deadline(); !ok || !d.Equal(time.Now().Add(time.Second)) {
				t.Errorf("Deadline = %v, %v", d, ok)
			}
		})
	})
	t.Run("Err after the deadline, Done closed with it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := withBudget(context.Background(), time.Now().Add(time.Second))
			defer c.stop()
			<-time.After(2 * time.Second)
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Err = %v, want DeadlineExceeded", err)
			}
			if !closed(c.Done()) {
				t.Error("Err is set but Done is not closed")
			}
			if err := context.Cause(c); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Cause = %v", err)
			}
		})
	})
	t.Run("Done closes at the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			c := withBudget(context.Background(), start.Add(time.Second))
			defer c.stop()
			<-c.Done()
			if got := time.Since(start); got != time.Second {
				t.Errorf("done after %v, want 1s", got)
			}
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Err = %v", err)
			}
		})
	})
	t.Run("a child ends with it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			c := withBudget(context.Background(), start.Add(time.Second))
			defer c.stop()
			child, cancel := context.WithTimeout(c, time.Hour)
			defer cancel()
			<-child.Done()
			if got := time.Since(start); got != time.Second {
				t.Errorf("child done after %v, want 1s", got)
			}
			if err := context.Cause(child); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("child's cause = %v", err)
			}
		})
	})
	t.Run("the parent ends it", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		c := withBudget(parent, time.Now().Add(time.Hour))
		defer c.stop()
		if c.Value(ctxKey{}) != "v" {
			t.Error("the parent's value is lost")
		}
		cancel()
		if err := c.Err(); !errors.Is(err, context.Canceled) || !closed(c.Done()) {
			t.Errorf("Err = %v, Done closed %v; want Canceled, closed", err, closed(c.Done()))
		}
	})
	t.Run("the parent ends it before it starts", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := withBudget(parent, time.Now().Add(time.Hour))
		defer c.stop()
		cancel()
		if err := c.Err(); !errors.Is(err, context.Canceled) || !closed(c.Done()) {
			t.Errorf("Err = %v, Done closed %v; want Canceled, closed", err, closed(c.Done()))
		}
	})
	t.Run("an earlier parent deadline", func(t *testing.T) {
		early := time.Now().Add(time.Minute)
		parent, cancel := context.WithDeadline(context.Background(), early)
		defer cancel()
		c := withBudget(parent, time.Now().Add(time.Hour))
		defer c.stop()
		if d, _ := c.Deadline(); !d.Equal(early) {
			t.Errorf("Deadline = %v, want the parent's %v", d, early)
		}
	})
	t.Run("stop cancels", func(t *testing.T) {
		c := withBudget(context.Background(), time.Now().Add(time.Hour))
		done := c.Done()
		c.stop()
		if !closed(done) || !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("after stop: Done closed %v, Err %v", closed(done), c.Err())
		}
	})
}

// stuckStore never answers a write before its context ends.
type stuckStore struct{ store.Store }

func (stuckStore) Put(ctx context.Context, _ string, _ store.Item, _ store.Cond) (int64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func (stuckStore) Batch(ctx context.Context, _ string, _ []store.Write) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestBudgetBoundsTheLogWrite: a store that hangs holds the reply for
// the budget, not longer, whether or not a handler wants the event.
func TestBudgetBoundsTheLogWrite(t *testing.T) {
	for _, handler := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			mem, err := memstore.New()
			if err != nil {
				t.Fatal(err)
			}
			mux := NewMux()
			if handler {
				mux.HandleFunc("*", func(context.Context, *Event) error { return nil })
			}
			s, err := New(stuckStore{mem}, mux, WithBudget(time.Second, 100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := NewEvent([]byte(`{"EventType":"org_change","TimeStamp":1772442000000}`), SourcePush, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = s.Process(context.Background(), ev)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("handler %v: Process = %v, want the budget's DeadlineExceeded", handler, err)
			}
			if got := time.Since(start); got != time.Second {
				t.Errorf("handler %v: Process returned after %v, want the budget, 1s", handler, got)
			}
		})
	}
}
