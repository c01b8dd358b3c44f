package record_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/record"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type doc struct {
	Name    string    `json:"name"`
	N       int       `json:"n"`
	Expires time.Time `json:"expires,omitzero"`
}

// counting wraps a store and counts writes; before, when set, runs ahead
// of every Put and Delete (to let a competing writer in).
type counting struct {
	store.Store
	puts, deletes atomic.Int64
	before        func()
}

func (c *counting) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	if c.before != nil {
		c.before()
	}
	c.puts.Add(1)
	return c.Store.Put(ctx, table, it, cond)
}

func (c *counting) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	if c.before != nil {
		c.before()
	}
	c.deletes.Add(1)
	return c.Store.Delete(ctx, table, key, cond)
}

func TestGetPut(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			clk := clocktest.New(epoch)
			st := b.Open(t, clk.Now)
			if _, err := record.Get[doc](ctx, st, "docs", "a"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get of a missing row = %v, want ErrNotFound", err)
			}
			put, err := record.Put(ctx, st, "docs", "a", doc{Name: "张三", N: 1}, store.IfAbsent, epoch.Add(time.Hour))
			if err != nil || put.Version == 0 || !put.Found() {
				t.Fatalf("Put = %+v, %v", put, err)
			}
			got, err := record.Get[doc](ctx, st, "docs", "a")
			if err != nil || got.Value != (doc{Name: "张三", N: 1}) || got.Version != put.Version || !got.ExpiresAt.Equal(epoch.Add(time.Hour)) {
				t.Fatalf("Get = %+v, %v; want what Put stored (%+v)", got, err, put)
			}
			if _, err := record.Put(ctx, st, "docs", "a", doc{N: 2}, store.IfAbsent, time.Time{}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second IfAbsent Put = %v, want ErrConflict", err)
			}
			raw, err := st.Get(ctx, "docs", "a")
			if err != nil || string(raw.Value) != `{"name":"张三","n":1}` {
				t.Fatalf("stored bytes = %s, %v; want plain JSON", raw.Value, err)
			}
			clk.Advance(time.Hour)
			if _, err := record.Get[doc](ctx, st, "docs", "a"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get of an expired row = %v, want ErrNotFound", err)
			}
			if _, err := st.Put(ctx, "docs", store.Item{Key: "bad", Value: []byte(`{"n":"x"}`)}, store.Always); err != nil {
				t.Fatal(err)
			}
			if _, err := record.Get[doc](ctx, st, "docs", "bad"); !errors.Is(err, record.ErrMalformed) {
				t.Fatalf("Get of a malformed row = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestUpdateOutcomes(t *testing.T) {
	ctx := t.Context()
	clk := clocktest.New(epoch)
	mem, _ := memstore.New(memstore.WithClock(clk.Now))
	st := &counting{Store: mem}
	inc := func(cur doc, found bool) (doc, error) { cur.N++; return cur, nil }

	// Absent: fn sees found false, the write is IfAbsent.
	var sawFound []bool
	rec, err := record.Update(ctx, st, "docs", "k", func(cur doc, found bool) (doc, error) {
		sawFound = append(sawFound, found)
		return doc{Name: "new", N: 1}, nil
	})
	if err != nil || rec.Value.N != 1 || rec.Version == 0 || len(sawFound) != 1 || sawFound[0] {
		t.Fatalf("Update of an absent row = %+v, %v (fn saw found %v)", rec, err, sawFound)
	}
	rec2, err := record.Update(ctx, st, "docs", "k", inc)
	if err != nil || rec2.Value != (doc{Name: "new", N: 2}) || rec2.Version <= rec.Version {
		t.Fatalf("Update = %+v, %v; want n=2 at a newer version", rec2, err)
	}

	// ErrNoChange: no write, the row as read comes back.
	puts := st.puts.Load()
	same, err := record.Update(ctx, st, "docs", "k", func(cur doc, found bool) (doc, error) { return cur, record.ErrNoChange })
	if err != nil || same != rec2 || st.puts.Load() != puts {
		t.Fatalf("ErrNoChange: %+v, %v, %d writes; want the stored row and no write", same, err, st.puts.Load()-puts)
	}
	none, err := record.Update(ctx, st, "docs", "absent", func(cur doc, found bool) (doc, error) { return cur, record.ErrNoChange })
	if err != nil || none.Found() || st.puts.Load() != puts {
		t.Fatalf("ErrNoChange on an absent row: %+v, %v", none, err)
	}

	// fn's own error aborts, unchanged, with no write.
	boom := errors.New("boom")
	if _, err := record.Update(ctx, st, "docs", "k", func(doc, bool) (doc, error) { return doc{}, boom }); err != boom {
		t.Fatalf("aborting fn: Update = %v, want fn's error itself", err)
	}

	// ErrDelete removes the row, conditionally; on an absent row it is a no-op.
	gone, err := record.Update(ctx, st, "docs", "k", func(cur doc, found bool) (doc, error) { return cur, record.ErrDelete })
	if err != nil || gone.Found() {
		t.Fatalf("ErrDelete: %+v, %v", gone, err)
	}
	if _, err := mem.Get(ctx, "docs", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after ErrDelete: %v, want ErrNotFound", err)
	}
	deletes := st.deletes.Load()
	if _, err := record.Update(ctx, st, "docs", "k", func(cur doc, found bool) (doc, error) { return cur, record.ErrDelete }); err != nil || st.deletes.Load() != deletes {
		t.Fatalf("ErrDelete on an absent row: %v, %d deletes", err, st.deletes.Load()-deletes)
	}
	if st.puts.Load() != puts {
		t.Fatalf("aborts and deletes wrote %d times", st.puts.Load()-puts)
	}

	// Expiry comes from the value.
	exp, err := record.Update(ctx, st, "docs", "lease", func(cur doc, found bool) (doc, error) {
		return doc{Name: "lease", Expires: clk.Now().Add(time.Minute)}, nil
	}, record.WithExpiry(func(d doc) time.Time { return d.Expires }))
	if err != nil || !exp.ExpiresAt.Equal(epoch.Add(time.Minute)) {
		t.Fatalf("WithExpiry: %+v, %v", exp, err)
	}
	clk.Advance(time.Minute)
	if _, err := mem.Get(ctx, "docs", "lease"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("row written WithExpiry is still there after it: %v", err)
	}
}

func TestUpdateOptionsValidate(t *testing.T) {
	st, _ := memstore.New()
	inc := func(n int, found bool) (int, error) { return n + 1, nil }
	for name, opt := range map[string]record.Option{
		"zero attempts":        record.WithMaxAttempts(0),
		"nil expiry":           record.WithExpiry[int](nil),
		"expiry of other type": record.WithExpiry(func(doc) time.Time { return time.Time{} }),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := record.Update(t.Context(), st, "t", "k", inc, opt); err == nil {
				t.Fatal("Update accepted an invalid option")
			}
			if _, err := st.Get(t.Context(), "t", "k"); !errors.Is(err, store.ErrNotFound) {
				t.Fatal("Update with an invalid option wrote")
			}
		})
	}
}

func TestUpdateMalformed(t *testing.T) {
	ctx := t.Context()
	st, _ := memstore.New()
	v, err := st.Put(ctx, "docs", store.Item{Key: "k", Value: []byte("not json")}, store.Always)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	_, err = record.Update(ctx, st, "docs", "k", func(d doc, found bool) (doc, error) { called = true; return d, nil })
	if !errors.Is(err, record.ErrMalformed) || called {
		t.Fatalf("Update over a malformed row = %v (fn called %v), want ErrMalformed without calling fn", err, called)
	}
	rec, err := record.Update(ctx, st, "docs", "k", func(d doc, found bool) (doc, error) {
		if found {
			t.Error("fn saw a malformed row as found")
		}
		return doc{N: 1}, nil
	}, record.WithReplaceMalformed())
	if err != nil || rec.Value.N != 1 || rec.Version <= v {
		t.Fatalf("WithReplaceMalformed: %+v, %v", rec, err)
	}
}

// A writer that wins between Update's read and write makes Update read
// again and apply fn to the newer value: nothing is lost.
func TestUpdateRetriesOnConflict(t *testing.T) {
	ctx := t.Context()
	mem, _ := memstore.New()
	st := &counting{Store: mem}
	if _, err := record.Put(ctx, st, "docs", "k", doc{N: 10}, store.Always, time.Time{}); err != nil {
		t.Fatal(err)
	}
	competing := 0
	st.before = func() {
		if competing < 2 {
			competing++
			if _, err := record.Put(ctx, mem, "docs", "k", doc{N: 100 * competing}, store.Always, time.Time{}); err != nil {
				t.Error(err)
			}
		}
	}
	var seen []int
	rec, err := record.Update(ctx, st, "docs", "k", func(d doc, found bool) (doc, error) {
		seen = append(seen, d.N)
		d.N++
		return d, nil
	})
	if err != nil || rec.Value.N != 201 {
		t.Fatalf("Update = %+v, %v; want 201 (fn applied to the latest value)", rec, err)
	}
	if fmt.Sprint(seen) != "[10 100 200]" {
		t.Fatalf("fn saw %v, want [10 100 200]", seen)
	}
	// A delete that loses its condition is retried the same way.
	st.before = func() {
		st.before = nil
		if _, err := record.Put(ctx, mem, "docs", "k", doc{N: 7}, store.Always, time.Time{}); err != nil {
			t.Error(err)
		}
	}
	seen = nil
	if _, err := record.Update(ctx, st, "docs", "k", func(d doc, found bool) (doc, error) {
		seen = append(seen, d.N)
		if d.N == 7 {
			return d, record.ErrNoChange // keep what the other writer wrote
		}
		return d, record.ErrDelete
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := record.Get[doc](ctx, mem, "docs", "k"); err != nil || got.Value.N != 7 || fmt.Sprint(seen) != "[201 7]" {
		t.Fatalf("after a lost delete: %+v, %v, fn saw %v", got, err, seen)
	}
}

func TestUpdateGivesUp(t *testing.T) {
	ctx := t.Context()
	mem, _ := memstore.New()
	st := &counting{Store: mem}
	st.before = func() {
		if _, err := mem.Put(ctx, "docs", store.Item{Key: "k", Value: []byte(`{"n":0}`)}, store.Always); err != nil {
			t.Error(err)
		}
	}
	calls := 0
	_, err := record.Update(ctx, st, "docs", "k", func(d doc, found bool) (doc, error) { calls++; return d, nil }, record.WithMaxAttempts(3))
	if !errors.Is(err, store.ErrConflict) || calls != 3 {
		t.Fatalf("Update against a writer that always wins = %v after %d calls; want ErrConflict after 3", err, calls)
	}
	// The backoff between attempts honours the context.
	cctx, cancel := context.WithCancel(ctx)
	st.before = func() {
		cancel()
		if _, err := mem.Put(ctx, "docs", store.Item{Key: "k", Value: []byte(`{"n":0}`)}, store.Always); err != nil {
			t.Error(err)
		}
	}
	if _, err := record.Update(cctx, st, "docs", "k", func(d doc, found bool) (doc, error) { return d, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Update with a context cancelled during a conflict = %v, want context.Canceled", err)
	}
}

// Concurrent Updates of one row never lose an update, on every backend.
func TestUpdateConcurrent(t *testing.T) {
	const writers, each = 8, 15
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			st := b.Open(t, time.Now)
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			var calls atomic.Int64
			for range writers {
				wg.Go(func() {
					<-start
					for range each {
						_, err := record.Update(ctx, st, "counters", "c", func(n int, found bool) (int, error) {
							calls.Add(1)
							return n + 1, nil
						}, record.WithMaxAttempts(1000))
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			got, err := record.Get[int](ctx, st, "counters", "c")
			if err != nil || got.Value != writers*each {
				t.Fatalf("counter = %d, %v; want %d", got.Value, err, writers*each)
			}
			t.Logf("%d updates took %d calls of fn", writers*each, calls.Load())
		})
	}
}

// BenchmarkUpdate compares record.Update with the raw Get and Put it
// replaces, on memory, where the store costs least and Update's own cost
// shows most.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	b.Run("RawGetPut", func(b *testing.B) {
		st, _ := memstore.New()
		if _, err := record.Put(ctx, st, "docs", "k", doc{Name: "bench"}, store.Always, time.Time{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			it, err := st.Get(ctx, "docs", "k")
			if err != nil {
				b.Fatal(err)
			}
			var d doc
			if err := json.Unmarshal(it.Value, &d); err != nil {
				b.Fatal(err)
			}
			d.N++
			v, err := json.Marshal(d)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.Put(ctx, "docs", store.Item{Key: "k", Value: v}, store.IfVersion(it.Version)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Update", func(b *testing.B) {
		st, _ := memstore.New()
		if _, err := record.Put(ctx, st, "docs", "k", doc{Name: "bench"}, store.Always, time.Time{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := record.Update(ctx, st, "docs", "k", func(d doc, found bool) (doc, error) { d.N++; return d, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
