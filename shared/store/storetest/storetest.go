// Package storetest is the contract every store.Store backend must meet, in
// the spirit of testing/fstest.TestFS: a backend's test calls Run with a
// function that opens a fresh, empty store, and the suite checks the
// semantics documented in package store — conditional writes under
// concurrency, versions, expiry, batches, paged scans, limits and missing
// tables. Benchmark measures the same operations for side-by-side numbers.
//
// Backends is the other half: the stores a feature that touches the store
// is tested on (memory, bolt, Tablestore through its emulator, Redis
// through a fake), opened alike by every package's tests.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// Opener returns a new, empty store whose expiry follows clock. It should
// register cleanup with t and fail t if the store cannot be opened.
type Opener func(t testing.TB, clock store.Clock) store.Store

// Epoch is where the suite's clock starts.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs the contract suite as subtests of t.
func Run(t *testing.T, open Opener) {
	s := &suite{open: open}
	for _, c := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"MissingTable", s.missingTable},
		{"PutGet", s.putGet},
		{"InvalidInput", s.invalidInput},
		{"LargeValues", s.largeValues},
		{"Versions", s.versions},
		{"IfAbsent", s.ifAbsent},
		{"IfVersion", s.ifVersion},
		{"DeleteConditions", s.deleteConditions},
		{"Expiry", s.expiry},
		{"TablesAreSeparate", s.tablesAreSeparate},
		{"RacePutIfAbsent", s.racePutIfAbsent},
		{"RaceIfAbsentOverExpired", s.raceIfAbsentOverExpired},
		{"RaceCompareAndSwap", s.raceCompareAndSwap},
		{"RaceDeleteIfVersion", s.raceDeleteIfVersion},
		{"Batch", s.batch},
		{"BatchLargeRows", s.batchLargeRows},
		{"BatchPartialFailure", s.batchPartialFailure},
		{"BatchConditions", s.batchConditions},
		{"BatchConditionsAcrossRequests", s.batchConditionsAcrossRequests},
		{"RaceBatchIfAbsent", s.raceBatchIfAbsent},
		{"RaceBatchCompareAndSwap", s.raceBatchCompareAndSwap},
		{"Scan", s.scan},
		{"ScanBounds", s.scanBounds},
		{"Purge", s.purge},
		{"Canceled", s.canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock(Epoch)
			st := open(t, clock.Now)
			c.fn(t, &env{Store: st, clock: clock, ctx: t.Context()})
		})
	}
}

type suite struct{ open Opener }

// env is what one subtest works with.
type env struct {
	store.Store
	clock *Clock
	ctx   context.Context
}

const tbl = "contract"

func (e *env) mustPut(t testing.TB, table string, it store.Item, cond store.Cond) int64 {
	t.Helper()
	v, err := e.Put(e.ctx, table, it, cond)
	if err != nil {
		t.Fatalf("Put(%q, %q, %v): %v", table, it.Key, cond, err)
	}
	if v <= 0 {
		t.Fatalf("Put(%q, %q, %v) = version %d, want > 0", table, it.Key, cond, v)
	}
	return v
}

func (e *env) mustGet(t testing.TB, table, key string) store.Item {
	t.Helper()
	it, err := e.Get(e.ctx, table, key)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", table, key, err)
	}
	if it.Key != key {
		t.Fatalf("Get(%q, %q) returned key %q", table, key, it.Key)
	}
	return it
}

func (e *env) wantMissing(t testing.TB, table, key string) {
	t.Helper()
	it, err := e.Get(e.ctx, table, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q, %q) = %+v, %v; want ErrNotFound", table, key, it, err)
	}
}

func (e *env) wantValue(t testing.TB, table, key, want string) store.Item {
	t.Helper()
	it := e.mustGet(t, table, key)
	if string(it.Value) != want {
		t.Fatalf("Get(%q, %q) value = %q, want %q", table, key, short(it.Value), want)
	}
	return it
}

func wantConflict(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("%s: got %v, want ErrConflict", what, err)
	}
}

func short(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%s…(%d bytes)", b[:40], len(b))
	}
	return string(b)
}

// all scans the whole range r, checking paging invariants on the way.
func (e *env) all(t testing.TB, table string, r store.Range) []store.Item {
	t.Helper()
	var items []store.Item
	pages := 0
	for {
		p, err := e.Scan(e.ctx, table, r)
		if err != nil {
			t.Fatalf("Scan(%q, %+v) after %d pages: %v", table, r, pages, err)
		}
		pages++
		limit, _ := r.PageLimit()
		if len(p.Items) > limit {
			t.Fatalf("Scan(%q, %+v) returned %d items, limit %d", table, r, len(p.Items), limit)
		}
		size := 0
		for _, it := range p.Items {
			size += len(it.Value)
		}
		if size > store.MaxPageBytes && len(p.Items) > 1 {
			t.Fatalf("Scan(%q, %+v) returned a page of %d items with %d value bytes, more than MaxPageBytes", table, r, len(p.Items), size)
		}
		items = append(items, p.Items...)
		if p.Next == "" {
			break
		}
		if p.Next == r.Cursor {
			t.Fatalf("Scan(%q, %+v) returned its own cursor as Next: no progress", table, r)
		}
		if pages > 100000 {
			t.Fatalf("Scan(%q) did not end after %d pages", table, pages)
		}
		r.Cursor = p.Next
	}
	for i := 1; i < len(items); i++ {
		if items[i-1].Key >= items[i].Key {
			t.Fatalf("Scan(%q) keys out of order or repeated: %q then %q", table, items[i-1].Key, items[i].Key)
		}
	}
	return items
}

func keys(items []store.Item) []string {
	ks := make([]string, len(items))
	for i, it := range items {
		ks[i] = it.Key
	}
	return ks
}

func (s *suite) missingTable(t *testing.T, e *env) {
	e.wantMissing(t, "never_written", "k")
	p, err := e.Scan(e.ctx, "never_written", store.Range{})
	if err != nil || len(p.Items) != 0 || p.Next != "" {
		t.Fatalf("Scan of a missing table = %+v, %v; want an empty last page", p, err)
	}
	if err := e.Delete(e.ctx, "never_written", "k", store.Always); err != nil {
		t.Fatalf("Delete(Always) in a missing table: %v", err)
	}
	if err := e.Delete(e.ctx, "never_written", "k", store.IfAbsent); err != nil {
		t.Fatalf("Delete(IfAbsent) in a missing table: %v", err)
	}
	wantConflict(t, "Delete(IfVersion) in a missing table", e.Delete(e.ctx, "never_written", "k", store.IfVersion(1)))
	_, err = e.Put(e.ctx, "never_put", store.Item{Key: "k", Value: []byte("v")}, store.IfVersion(1))
	wantConflict(t, "Put(IfVersion) in a missing table", err)
	// The first write creates the table; a second store call sees it.
	e.mustPut(t, "created_on_put", store.Item{Key: "k", Value: []byte("v")}, store.IfAbsent)
	e.wantValue(t, "created_on_put", "k", "v")
	if err := e.Batch(e.ctx, "created_on_batch", []store.Write{{Item: store.Item{Key: "a", Value: []byte("1")}}}); err != nil {
		t.Fatalf("Batch into a missing table: %v", err)
	}
	e.wantValue(t, "created_on_batch", "a", "1")
}

func (s *suite) putGet(t *testing.T, e *env) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	exp := Epoch.Add(90*time.Minute + 123456789*time.Nanosecond)
	for _, c := range []struct {
		name string
		item store.Item
	}{
		{"text", store.Item{Key: "text", Value: []byte(`{"access_token":"x"}`)}},
		{"empty value", store.Item{Key: "empty", Value: nil}},
		{"binary", store.Item{Key: "binary", Value: binary}},
		{"unicode key", store.Item{Key: "部门/研发/用户", Value: []byte("张三")}},
		{"with expiry", store.Item{Key: "expiring", Value: []byte("e"), ExpiresAt: exp}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.item
			in.Version = 999999 // ignored on input
			v := e.mustPut(t, tbl, in, store.Always)
			got := e.mustGet(t, tbl, c.item.Key)
			if !bytes.Equal(got.Value, c.item.Value) || got.Value == nil {
				t.Errorf("value = %q (nil %v), want %q, non-nil", short(got.Value), got.Value == nil, short(c.item.Value))
			}
			if got.Version != v {
				t.Errorf("Get version = %d, Put returned %d", got.Version, v)
			}
			want := c.item.ExpiresAt.Truncate(time.Millisecond)
			if !got.ExpiresAt.Equal(want) || got.ExpiresAt.IsZero() != want.IsZero() {
				t.Errorf("ExpiresAt = %v, want %v (millisecond precision)", got.ExpiresAt, want)
			}
		})
	}
	// The store keeps its own copies.
	buf := []byte("original")
	e.mustPut(t, tbl, store.Item{Key: "copy", Value: buf}, store.Always)
	copy(buf, "mutated!")
	got := e.wantValue(t, tbl, "copy", "original")
	copy(got.Value, "mutated!")
	e.wantValue(t, tbl, "copy", "original")
	// Overwrite replaces value and expiry.
	e.mustPut(t, tbl, store.Item{Key: "expiring", Value: []byte("forever")}, store.Always)
	if it := e.wantValue(t, tbl, "expiring", "forever"); !it.ExpiresAt.IsZero() {
		t.Errorf("overwritten item kept ExpiresAt %v", it.ExpiresAt)
	}
}

func (s *suite) invalidInput(t *testing.T, e *env) {
	e.mustPut(t, tbl, store.Item{Key: "ok", Value: []byte("v")}, store.Always)
	bad := []struct {
		name  string
		table string
		item  store.Item
	}{
		{"empty key", tbl, store.Item{Key: ""}},
		{"long key", tbl, store.Item{Key: strings.Repeat("k", store.MaxKeyLen+1)}},
		{"non-UTF-8 key", tbl, store.Item{Key: "a\xffb"}},
		{"long value", tbl, store.Item{Key: "big", Value: make([]byte, store.MaxValueLen+1)}},
		{"empty table", "", store.Item{Key: "ok"}},
		{"upper-case table", "Tokens", store.Item{Key: "ok"}},
		{"table with dash", "sent-messages", store.Item{Key: "ok"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			for _, cond := range []store.Cond{store.Always, store.IfAbsent, store.IfVersion(1)} {
				if _, err := e.Put(e.ctx, c.table, c.item, cond); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("Put(%v) = %v, want ErrInvalid", cond, err)
				}
			}
			if c.item.Value == nil {
				if _, err := e.Get(e.ctx, c.table, c.item.Key); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("Get = %v, want ErrInvalid", err)
				}
				if err := e.Delete(e.ctx, c.table, c.item.Key, store.Always); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("Delete = %v, want ErrInvalid", err)
				}
			}
		})
	}
	if _, err := e.Scan(e.ctx, "Bad-Table", store.Range{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Scan of a bad table name = %v, want ErrInvalid", err)
	}
	if _, err := e.Scan(e.ctx, tbl, store.Range{Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Scan with a negative limit = %v, want ErrInvalid", err)
	}
	if err := e.Batch(e.ctx, "Bad-Table", []store.Write{{Item: store.Item{Key: "k"}}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Batch into a bad table name = %v, want ErrInvalid", err)
	}
	// Nothing changed.
	items := e.all(t, tbl, store.Range{})
	if got := keys(items); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("after invalid writes the table holds %q, want [ok]", got)
	}
	// The limits themselves are accepted.
	e.mustPut(t, tbl, store.Item{Key: strings.Repeat("k", store.MaxKeyLen)}, store.Always)
}

func (s *suite) largeValues(t *testing.T, e *env) {
	big := make([]byte, store.MaxValueLen)
	for i := range big {
		big[i] = byte(i*7 + i/251)
	}
	v := e.mustPut(t, tbl, store.Item{Key: "big", Value: big}, store.IfAbsent)
	got := e.mustGet(t, tbl, "big")
	if !bytes.Equal(got.Value, big) {
		t.Fatalf("a %d-byte value did not round-trip", len(big))
	}
	big[0]++
	v2 := e.mustPut(t, tbl, store.Item{Key: "big", Value: big}, store.IfVersion(v))
	if v2 <= v {
		t.Fatalf("version after CAS of a large value = %d, want > %d", v2, v)
	}
	e.mustPut(t, tbl, store.Item{Key: "big2", Value: big}, store.Always)
	items := e.all(t, tbl, store.Range{})
	if len(items) != 2 || !bytes.Equal(items[0].Value, big) || !bytes.Equal(items[1].Value, big) {
		t.Fatalf("scan of two large values returned %d items or wrong bytes", len(items))
	}
}

func (s *suite) versions(t *testing.T, e *env) {
	var last int64
	next := func(what string, v int64) {
		t.Helper()
		if v <= last {
			t.Fatalf("%s: version %d, want > %d", what, v, last)
		}
		last = v
	}
	for i := range 5 {
		next(fmt.Sprintf("Always put #%d", i), e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte{byte(i)}}, store.Always))
	}
	next("IfVersion put", e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("cas")}, store.IfVersion(last)))
	if err := e.Batch(e.ctx, tbl, []store.Write{{Item: store.Item{Key: "k", Value: []byte("batch")}}}); err != nil {
		t.Fatal(err)
	}
	next("batch put", e.wantValue(t, tbl, "k", "batch").Version)
	before := last
	if err := e.Delete(e.ctx, tbl, "k", store.IfVersion(last)); err != nil {
		t.Fatalf("Delete(IfVersion(%d)): %v", last, err)
	}
	next("re-create after delete", e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("again")}, store.IfAbsent))
	_, err := e.Put(e.ctx, tbl, store.Item{Key: "k", Value: []byte("stale")}, store.IfVersion(before))
	wantConflict(t, "IfVersion with a version from before the delete", err)
	// An expired item replaced by IfAbsent gets a greater version too.
	next("put with expiry", e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("short"), ExpiresAt: Epoch.Add(time.Second)}, store.Always))
	e.clock.Advance(time.Second)
	next("IfAbsent over expired", e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("new")}, store.IfAbsent))
}

func (s *suite) ifAbsent(t *testing.T, e *env) {
	v := e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("first")}, store.IfAbsent)
	_, err := e.Put(e.ctx, tbl, store.Item{Key: "k", Value: []byte("second")}, store.IfAbsent)
	wantConflict(t, "second IfAbsent put", err)
	if it := e.wantValue(t, tbl, "k", "first"); it.Version != v {
		t.Fatalf("failed IfAbsent changed the version: %d, want %d", it.Version, v)
	}
	if err := e.Delete(e.ctx, tbl, "k", store.Always); err != nil {
		t.Fatal(err)
	}
	e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("third")}, store.IfAbsent)
	e.wantValue(t, tbl, "k", "third")
}

func (s *suite) ifVersion(t *testing.T, e *env) {
	_, err := e.Put(e.ctx, tbl, store.Item{Key: "k", Value: []byte("x")}, store.IfVersion(1))
	wantConflict(t, "IfVersion on an absent key", err)
	e.wantMissing(t, tbl, "k")

	v1 := e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("one")}, store.Always)
	for _, wrong := range []int64{v1 - 1, v1 + 1, 0, -1} {
		_, err := e.Put(e.ctx, tbl, store.Item{Key: "k", Value: []byte("bad")}, store.IfVersion(wrong))
		wantConflict(t, fmt.Sprintf("IfVersion(%d) with stored version %d", wrong, v1), err)
	}
	if it := e.wantValue(t, tbl, "k", "one"); it.Version != v1 {
		t.Fatalf("failed IfVersion changed the version: %d, want %d", it.Version, v1)
	}
	v2 := e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("two")}, store.IfVersion(v1))
	_, err = e.Put(e.ctx, tbl, store.Item{Key: "k", Value: []byte("stale")}, store.IfVersion(v1))
	wantConflict(t, "IfVersion with the replaced version", err)
	e.wantValue(t, tbl, "k", "two")
	e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("three")}, store.IfVersion(v2))
	e.wantValue(t, tbl, "k", "three")
}

func (s *suite) deleteConditions(t *testing.T, e *env) {
	v := e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("v")}, store.Always)
	wantConflict(t, "Delete(IfAbsent) of a live key", e.Delete(e.ctx, tbl, "k", store.IfAbsent))
	wantConflict(t, "Delete(IfVersion(wrong))", e.Delete(e.ctx, tbl, "k", store.IfVersion(v+1)))
	e.wantValue(t, tbl, "k", "v")
	if err := e.Delete(e.ctx, tbl, "k", store.IfVersion(v)); err != nil {
		t.Fatalf("Delete(IfVersion(%d)): %v", v, err)
	}
	e.wantMissing(t, tbl, "k")
	wantConflict(t, "Delete(IfVersion) of a deleted key", e.Delete(e.ctx, tbl, "k", store.IfVersion(v)))
	if err := e.Delete(e.ctx, tbl, "k", store.Always); err != nil {
		t.Fatalf("Delete(Always) of an absent key: %v", err)
	}
	if err := e.Delete(e.ctx, tbl, "k", store.IfAbsent); err != nil {
		t.Fatalf("Delete(IfAbsent) of an absent key: %v", err)
	}
	// IfAbsent clears an expired remnant.
	e.mustPut(t, tbl, store.Item{Key: "e", Value: []byte("v"), ExpiresAt: Epoch.Add(time.Minute)}, store.Always)
	e.clock.Advance(time.Minute)
	if err := e.Delete(e.ctx, tbl, "e", store.IfAbsent); err != nil {
		t.Fatalf("Delete(IfAbsent) of an expired key: %v", err)
	}
	e.clock.Advance(-time.Minute)
	e.wantMissing(t, tbl, "e") // gone even when the clock goes back
}

func (s *suite) expiry(t *testing.T, e *env) {
	at := Epoch.Add(time.Hour)
	v := e.mustPut(t, tbl, store.Item{Key: "lease", Value: []byte("holder-a"), ExpiresAt: at}, store.IfAbsent)
	e.mustPut(t, tbl, store.Item{Key: "other", Value: []byte("x")}, store.Always)

	e.clock.Advance(time.Hour - time.Millisecond)
	e.wantValue(t, tbl, "lease", "holder-a")
	_, err := e.Put(e.ctx, tbl, store.Item{Key: "lease", Value: []byte("holder-b")}, store.IfAbsent)
	wantConflict(t, "IfAbsent 1 ms before expiry", err)
	if got := keys(e.all(t, tbl, store.Range{})); !slices.Equal(got, []string{"lease", "other"}) {
		t.Fatalf("scan before expiry = %q", got)
	}

	e.clock.Advance(time.Millisecond) // now == ExpiresAt: expired
	e.wantMissing(t, tbl, "lease")
	if got := keys(e.all(t, tbl, store.Range{})); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("scan at expiry = %q, want [other]", got)
	}
	_, err = e.Put(e.ctx, tbl, store.Item{Key: "lease", Value: []byte("late renew")}, store.IfVersion(v))
	wantConflict(t, "IfVersion on an expired item", err)
	wantConflict(t, "Delete(IfVersion) on an expired item", e.Delete(e.ctx, tbl, "lease", store.IfVersion(v)))

	v2 := e.mustPut(t, tbl, store.Item{Key: "lease", Value: []byte("holder-b"), ExpiresAt: at.Add(time.Hour)}, store.IfAbsent)
	// Renewal by the new holder extends the expiry.
	e.mustPut(t, tbl, store.Item{Key: "lease", Value: []byte("holder-b"), ExpiresAt: at.Add(3 * time.Hour)}, store.IfVersion(v2))
	e.clock.Advance(2 * time.Hour)
	if it := e.wantValue(t, tbl, "lease", "holder-b"); !it.ExpiresAt.Equal(at.Add(3 * time.Hour)) {
		t.Fatalf("renewed ExpiresAt = %v, want %v", it.ExpiresAt, at.Add(3*time.Hour))
	}
	// An item written already expired is absent.
	e.mustPut(t, tbl, store.Item{Key: "past", Value: []byte("x"), ExpiresAt: Epoch}, store.Always)
	e.wantMissing(t, tbl, "past")
}

func (s *suite) tablesAreSeparate(t *testing.T, e *env) {
	e.mustPut(t, "tokens", store.Item{Key: "k", Value: []byte("token")}, store.IfAbsent)
	e.mustPut(t, "tickets", store.Item{Key: "k", Value: []byte("ticket")}, store.IfAbsent)
	e.wantValue(t, "tokens", "k", "token")
	e.wantValue(t, "tickets", "k", "ticket")
	if err := e.Delete(e.ctx, "tokens", "k", store.Always); err != nil {
		t.Fatal(err)
	}
	e.wantValue(t, "tickets", "k", "ticket")
}

// race runs n goroutines that start together and returns their results.
func race[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func (s *suite) racePutIfAbsent(t *testing.T, e *env) {
	const rounds, n = 4, 12
	for r := range rounds {
		key := fmt.Sprintf("race-%d", r)
		errs := race(n, func(i int) error {
			_, err := e.Put(e.ctx, tbl, store.Item{Key: key, Value: []byte(fmt.Sprint(i))}, store.IfAbsent)
			return err
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: goroutines %d and %d both won put-if-absent", r, winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: goroutine %d: %v, want nil or ErrConflict", r, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody won put-if-absent", r)
		}
		e.wantValue(t, tbl, key, fmt.Sprint(winner))
	}
}

func (s *suite) raceIfAbsentOverExpired(t *testing.T, e *env) {
	const n = 12
	e.mustPut(t, tbl, store.Item{Key: "lease", Value: []byte("old"), ExpiresAt: Epoch.Add(time.Second)}, store.Always)
	e.clock.Advance(time.Second)
	errs := race(n, func(i int) error {
		_, err := e.Put(e.ctx, tbl, store.Item{Key: "lease", Value: []byte(fmt.Sprint(i))}, store.IfAbsent)
		return err
	})
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			e.wantValue(t, tbl, "lease", fmt.Sprint(i))
		} else if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d goroutines won put-if-absent over an expired item, want 1", wins)
	}
}

func (s *suite) raceCompareAndSwap(t *testing.T, e *env) {
	const n, each = 6, 10
	e.mustPut(t, tbl, store.Item{Key: "counter", Value: []byte("0")}, store.Always)
	errs := race(n, func(int) error {
		for range each {
			for {
				it, err := e.Get(e.ctx, tbl, "counter")
				if err != nil {
					return err
				}
				var c int
				fmt.Sscan(string(it.Value), &c)
				_, err = e.Put(e.ctx, tbl, store.Item{Key: "counter", Value: []byte(fmt.Sprint(c + 1))}, store.IfVersion(it.Version))
				if err == nil {
					break
				}
				if !errors.Is(err, store.ErrConflict) {
					return err
				}
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	e.wantValue(t, tbl, "counter", fmt.Sprint(n*each))
}

// Releasing a lease: of several holders of the same version, exactly one
// delete succeeds.
func (s *suite) raceDeleteIfVersion(t *testing.T, e *env) {
	const n = 12
	v := e.mustPut(t, tbl, store.Item{Key: "lease", Value: []byte("held"), ExpiresAt: Epoch.Add(time.Hour)}, store.IfAbsent)
	errs := race(n, func(int) error { return e.Delete(e.ctx, tbl, "lease", store.IfVersion(v)) })
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d conditional deletes of one version succeeded, want 1", wins)
	}
	e.wantMissing(t, tbl, "lease")
}

func (s *suite) batch(t *testing.T, e *env) {
	if err := e.Batch(e.ctx, tbl, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	const n = 1000 // crosses Tablestore's 200-row request limit several times
	want := map[string]string{}
	var writes []store.Write
	for i := range n {
		k := fmt.Sprintf("user/%05d", i)
		writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte(fmt.Sprint("v", i))}})
		want[k] = fmt.Sprint("v", i)
	}
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatalf("batch of %d puts: %v", n, err)
	}
	// A second batch mixes deletes, overwrites, expiring items, deletes of
	// absent keys, and the same key more than once (the last write wins).
	writes = writes[:0]
	for i := 0; i < n; i += 3 {
		k := fmt.Sprintf("user/%05d", i)
		writes = append(writes, store.Write{Item: store.Item{Key: k}, Delete: true})
		delete(want, k)
	}
	for i := 1; i < n; i += 3 {
		k := fmt.Sprintf("user/%05d", i)
		writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte("first")}})
		writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte("second")}})
		want[k] = "second"
	}
	writes = append(writes,
		store.Write{Item: store.Item{Key: "absent"}, Delete: true},
		store.Write{Item: store.Item{Key: "dup", Value: []byte("x")}},
		store.Write{Item: store.Item{Key: "dup"}, Delete: true},
		store.Write{Item: store.Item{Key: "short-lived", Value: []byte("x"), ExpiresAt: Epoch.Add(time.Minute)}},
	)
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatalf("mixed batch of %d writes: %v", len(writes), err)
	}
	e.wantMissing(t, tbl, "dup")
	e.wantValue(t, tbl, "short-lived", "x")
	e.clock.Advance(time.Minute)
	items := e.all(t, tbl, store.Range{})
	if len(items) != len(want) {
		t.Fatalf("after batches the table holds %d items, want %d", len(items), len(want))
	}
	for _, it := range items {
		if want[it.Key] != string(it.Value) {
			t.Fatalf("item %q = %q, want %q", it.Key, it.Value, want[it.Key])
		}
		if it.Version <= 0 {
			t.Fatalf("item %q has version %d", it.Key, it.Version)
		}
	}
}

func (s *suite) batchLargeRows(t *testing.T, e *env) {
	// Five maximal values are 5 MiB: more than one 4 MB Tablestore request.
	const n = 5
	var writes []store.Write
	for i := range n {
		v := bytes.Repeat([]byte{byte('a' + i)}, store.MaxValueLen)
		writes = append(writes, store.Write{Item: store.Item{Key: fmt.Sprint("big", i), Value: v}})
	}
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatalf("batch of %d values of %d bytes: %v", n, store.MaxValueLen, err)
	}
	// A scan returns them in pages of at most MaxPageBytes.
	items := e.all(t, tbl, store.Range{Limit: store.MaxLimit})
	if len(items) != n {
		t.Fatalf("scan of %d large values returned %d", n, len(items))
	}
	for i, it := range items {
		if it.Key != fmt.Sprint("big", i) || len(it.Value) != store.MaxValueLen || it.Value[0] != byte('a'+i) || it.Value[len(it.Value)-1] != byte('a'+i) {
			t.Fatalf("%s came back as %d bytes starting %q", it.Key, len(it.Value), it.Value[:1])
		}
	}
}

func (s *suite) batchPartialFailure(t *testing.T, e *env) {
	writes := []store.Write{
		{Item: store.Item{Key: "a", Value: []byte("1")}},
		{Item: store.Item{Key: "", Value: []byte("no key")}},
		{Item: store.Item{Key: "b", Value: []byte("2")}},
		{Item: store.Item{Key: "huge", Value: make([]byte, store.MaxValueLen+1)}},
		{Item: store.Item{Key: "a\xff"}, Delete: true},
		{Item: store.Item{Key: "c", Value: []byte("3")}},
	}
	err := e.Batch(e.ctx, tbl, writes)
	var be *store.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("batch with invalid rows = %v, want *store.BatchError", err)
	}
	var idx []int
	for _, f := range be.Failed {
		idx = append(idx, f.Index)
		if f.Key != writes[f.Index].Item.Key || !errors.Is(f.Err, store.ErrInvalid) {
			t.Errorf("failure %+v: want key %q and ErrInvalid", f, writes[f.Index].Item.Key)
		}
	}
	if !slices.Equal(idx, []int{1, 3, 4}) {
		t.Fatalf("failed indexes = %v, want [1 3 4]", idx)
	}
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("errors.Is(batch error, ErrInvalid) = false")
	}
	if got := keys(e.all(t, tbl, store.Range{})); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("valid writes of a partly failed batch: table holds %q, want [a b c]", got)
	}
}

// failedRows returns the rows a Batch reported as failed, by index, and
// fails t unless err is nil or a *store.BatchError.
func failedRows(t testing.TB, what string, err error) map[int]error {
	t.Helper()
	out := map[int]error{}
	if err == nil {
		return out
	}
	var be *store.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("%s: %v, want nil or a *store.BatchError", what, err)
	}
	for _, f := range be.Failed {
		if _, dup := out[f.Index]; dup {
			t.Fatalf("%s: row %d reported twice", what, f.Index)
		}
		out[f.Index] = f.Err
	}
	return out
}

// batchConditions mixes conditional rows, which pass or fail one by one,
// with unconditional and invalid ones in a single batch.
func (s *suite) batchConditions(t *testing.T, e *env) {
	put := func(key, value string) int64 {
		return e.mustPut(t, tbl, store.Item{Key: key, Value: []byte(value)}, store.Always)
	}
	live := put("live", "live")
	other := put("other", "other")
	stale := put("stale", "stale")
	delOK := put("del-ok", "del-ok")
	delStale := put("del-stale", "del-stale")
	put("del-live", "del-live")
	put("recreate", "recreate")
	expired := e.mustPut(t, tbl, store.Item{Key: "expired", Value: []byte("old"), ExpiresAt: Epoch.Add(time.Second)}, store.Always)
	e.mustPut(t, tbl, store.Item{Key: "expired-cas", Value: []byte("old"), ExpiresAt: Epoch.Add(time.Second)}, store.Always)
	expiredCAS := e.mustGet(t, tbl, "expired-cas").Version
	e.clock.Advance(time.Second)
	before := map[string]store.Item{}
	for _, k := range []string{"live", "stale", "del-stale", "del-live"} {
		before[k] = e.mustGet(t, tbl, k)
	}

	w := func(key, value string, cond store.Cond) store.Write {
		return store.Write{Item: store.Item{Key: key, Value: []byte(value)}, Cond: cond}
	}
	del := func(key string, cond store.Cond) store.Write {
		return store.Write{Item: store.Item{Key: key}, Delete: true, Cond: cond}
	}
	writes := []store.Write{
		0:  w("plain", "plain", store.Always),
		1:  w("new", "new", store.IfAbsent),
		2:  w("live", "overwritten", store.IfAbsent),
		3:  w("other", "other 2", store.IfVersion(other)),
		4:  w("stale", "overwritten", store.IfVersion(stale+1)),
		5:  w("absent", "x", store.IfVersion(live)),
		6:  w("expired", "new", store.IfAbsent),
		7:  w("expired-cas", "new", store.IfVersion(expiredCAS)),
		8:  del("del-ok", store.IfVersion(delOK)),
		9:  del("del-stale", store.IfVersion(delStale-1)),
		10: del("del-live", store.IfAbsent),
		11: del("never", store.IfAbsent),
		12: del("never-cas", store.IfVersion(live)),
		13: w("", "invalid", store.IfAbsent),
		14: w("seq", "first", store.IfAbsent),
		15: w("seq", "second", store.IfAbsent), // sees row 14
		16: del("recreate", store.Always),
		17: w("recreate", "recreated", store.IfAbsent), // sees row 16
	}
	err := e.Batch(e.ctx, tbl, writes)
	if !errors.Is(err, store.ErrConflict) || !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Batch = %v; want errors.Is ErrConflict and ErrInvalid", err)
	}
	failed := failedRows(t, "conditional batch", err)
	wantConflicts := []int{2, 4, 5, 7, 9, 10, 12, 15}
	var got []int
	for i := range writes {
		if _, ok := failed[i]; ok {
			got = append(got, i)
		}
	}
	if want := append(slices.Clone(wantConflicts), 13); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("failed rows = %v, want %v", got, slices.Sorted(slices.Values(want)))
	}
	for _, i := range wantConflicts {
		if !errors.Is(failed[i], store.ErrConflict) || errors.Is(failed[i], store.ErrInvalid) {
			t.Errorf("row %d (%q %v): %v, want ErrConflict only", i, writes[i].Item.Key, writes[i].Cond, failed[i])
		}
	}
	if !errors.Is(failed[13], store.ErrInvalid) || errors.Is(failed[13], store.ErrConflict) {
		t.Errorf("invalid row: %v, want ErrInvalid only", failed[13])
	}
	// Rows that passed are applied, rows that failed changed nothing.
	for key, want := range map[string]string{"plain": "plain", "new": "new", "other": "other 2", "expired": "new", "seq": "first", "recreate": "recreated"} {
		e.wantValue(t, tbl, key, want)
	}
	if it := e.mustGet(t, tbl, "other"); it.Version <= other {
		t.Errorf("IfVersion row wrote version %d, want > %d", it.Version, other)
	}
	for key, it := range before {
		got := e.mustGet(t, tbl, key)
		if !bytes.Equal(got.Value, it.Value) || got.Version != it.Version {
			t.Errorf("failed row changed %q: %q version %d, was %q version %d", key, got.Value, got.Version, it.Value, it.Version)
		}
	}
	for _, key := range []string{"del-ok", "absent", "expired-cas", "never", "never-cas"} {
		e.wantMissing(t, tbl, key)
	}
	if it := e.mustGet(t, tbl, "expired"); it.Version <= expired {
		t.Errorf("IfAbsent over an expired item wrote version %d, want > %d", it.Version, expired)
	}
}

// batchConditionsAcrossRequests: conditions still hold row by row in a
// batch larger than one Tablestore request.
func (s *suite) batchConditionsAcrossRequests(t *testing.T, e *env) {
	const n = 450
	var writes []store.Write
	for i := range n {
		writes = append(writes, store.Write{Item: store.Item{Key: fmt.Sprintf("k%03d", i), Value: []byte("v0")}})
	}
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatal(err)
	}
	items := e.all(t, tbl, store.Range{})
	if len(items) != n {
		t.Fatalf("table holds %d items, want %d", len(items), n)
	}
	writes = writes[:0]
	var want []int
	for i, it := range items {
		cond := store.IfVersion(it.Version)
		if i%3 == 1 {
			cond = store.IfVersion(it.Version + 1)
			want = append(want, i)
		}
		if i%7 == 5 {
			cond = store.IfAbsent
			if i%3 != 1 {
				want = append(want, i)
			}
		}
		writes = append(writes, store.Write{Item: store.Item{Key: it.Key, Value: []byte("v1")}, Cond: cond})
	}
	failed := failedRows(t, "batch of stale and current versions", e.Batch(e.ctx, tbl, writes))
	var got []int
	for i := range writes {
		if err, ok := failed[i]; ok {
			got = append(got, i)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("row %d: %v, want ErrConflict", i, err)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("failed rows = %v, want %v", got, want)
	}
	for i, it := range e.all(t, tbl, store.Range{}) {
		wantV := "v1"
		if _, ok := failed[i]; ok {
			wantV = "v0"
		}
		if string(it.Value) != wantV {
			t.Fatalf("%s = %q, want %q", it.Key, it.Value, wantV)
		}
	}
}

// raceBatchIfAbsent: of several batches creating the same keys, each key
// has exactly one winner, whose value is stored.
func (s *suite) raceBatchIfAbsent(t *testing.T, e *env) {
	const n = 8
	keys := []string{"a", "b", "c", "d"}
	errs := race(n, func(i int) error {
		var writes []store.Write
		for _, k := range keys {
			writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte(fmt.Sprint(i))}, Cond: store.IfAbsent})
		}
		return e.Batch(e.ctx, tbl, writes)
	})
	failed := make([]map[int]error, n)
	for i, err := range errs {
		failed[i] = failedRows(t, fmt.Sprintf("batch %d", i), err)
	}
	for j, k := range keys {
		winner := -1
		for i := range n {
			err, lost := failed[i][j]
			switch {
			case lost && !errors.Is(err, store.ErrConflict):
				t.Fatalf("batch %d, key %q: %v, want nil or ErrConflict", i, k, err)
			case !lost && winner >= 0:
				t.Fatalf("key %q: batches %d and %d both created it", k, winner, i)
			case !lost:
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("key %q: no batch created it", k)
		}
		e.wantValue(t, tbl, k, fmt.Sprint(winner))
	}
}

// raceBatchCompareAndSwap: writers doing read-modify-write batches on
// overlapping keys, retrying only their failed rows, never lose an update;
// unconditional rows in the same batches apply alongside.
func (s *suite) raceBatchCompareAndSwap(t *testing.T, e *env) {
	const n, rounds = 6, 8
	keys := []string{"c0", "c1", "c2", "c3"}
	for _, k := range keys {
		e.mustPut(t, tbl, store.Item{Key: k, Value: []byte("0")}, store.Always)
	}
	errs := race(n, func(g int) error {
		for r := range rounds {
			own := store.Write{Item: store.Item{Key: fmt.Sprint("own-", g), Value: []byte(fmt.Sprint(r))}}
			pending := slices.Clone(keys)
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt == 1000 {
					return fmt.Errorf("round %d: rows %q still conflicting after %d attempts", r, pending, attempt)
				}
				writes := []store.Write{own}
				for _, k := range pending {
					it, err := e.Get(e.ctx, tbl, k)
					if err != nil {
						return err
					}
					var c int
					fmt.Sscan(string(it.Value), &c)
					writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte(fmt.Sprint(c + 1))}, Cond: store.IfVersion(it.Version)})
				}
				var be *store.BatchError
				err := e.Batch(e.ctx, tbl, writes)
				if err != nil && !errors.As(err, &be) {
					return err
				}
				var retry []string
				if be != nil {
					for _, f := range be.Failed {
						if f.Index == 0 || !errors.Is(f.Err, store.ErrConflict) {
							return fmt.Errorf("row %d %q: %w", f.Index, f.Key, f.Err)
						}
						retry = append(retry, f.Key)
					}
				}
				pending = retry
			}
		}
		return nil
	})
	for g, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", g, err)
		}
		e.wantValue(t, tbl, fmt.Sprint("own-", g), fmt.Sprint(rounds-1))
	}
	for _, k := range keys {
		e.wantValue(t, tbl, k, fmt.Sprint(n*rounds))
	}
}

func (s *suite) scan(t *testing.T, e *env) {
	const n = 3000
	var writes []store.Write
	var all []string
	for _, i := range rand.Perm(n) {
		k := fmt.Sprintf("%s/%04d", []string{"dept", "user", "union"}[i%3], i)
		writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte(k)}})
	}
	// Every seventh item expires, so pages come back short.
	for i := range writes {
		if i%7 == 0 {
			writes[i].Item.ExpiresAt = Epoch.Add(time.Minute)
		} else {
			all = append(all, writes[i].Item.Key)
		}
	}
	slices.Sort(all)
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	for _, limit := range []int{0, 7, 250, store.MaxLimit + 1} {
		items := e.all(t, tbl, store.Range{Limit: limit})
		if got := keys(items); !slices.Equal(got, all) {
			t.Fatalf("limit %d: scan returned %d keys, want %d", limit, len(got), len(all))
		}
		for _, it := range items {
			if string(it.Value) != it.Key || it.Version <= 0 {
				t.Fatalf("limit %d: item %q = %q version %d", limit, it.Key, it.Value, it.Version)
			}
		}
	}
	// store.All follows the cursors too.
	var viaAll []string
	for it, err := range store.All(e.ctx, e.Store, tbl, store.Range{Prefix: "user/", Limit: 100}) {
		if err != nil {
			t.Fatal(err)
		}
		viaAll = append(viaAll, it.Key)
	}
	wantUsers := slices.DeleteFunc(slices.Clone(all), func(k string) bool { return !strings.HasPrefix(k, "user/") })
	if !slices.Equal(viaAll, wantUsers) {
		t.Fatalf("All(prefix user/) returned %d keys, want %d", len(viaAll), len(wantUsers))
	}
	// Limit 1 over a small range: each page holds at most one item.
	got := keys(e.all(t, tbl, store.Range{Start: "dept/0000", End: "dept/0100", Limit: 1}))
	wantDept := slices.DeleteFunc(slices.Clone(all), func(k string) bool { return k < "dept/0000" || k >= "dept/0100" })
	if !slices.Equal(got, wantDept) {
		t.Fatalf("limit 1 scan = %q, want %q", got, wantDept)
	}
	// A cursor continues where the previous page stopped, even after
	// writes in between.
	p, err := e.Scan(e.ctx, tbl, store.Range{Prefix: "union/", Limit: 10})
	if err != nil || p.Next == "" {
		t.Fatalf("first page = %d items, next %q, %v", len(p.Items), p.Next, err)
	}
	seen := keys(p.Items)
	e.mustPut(t, tbl, store.Item{Key: "union/0000", Value: []byte("before the cursor")}, store.Always)
	e.mustPut(t, tbl, store.Item{Key: "union/9999", Value: []byte("after the cursor")}, store.Always)
	rest := keys(e.all(t, tbl, store.Range{Prefix: "union/", Limit: 500, Cursor: p.Next}))
	if slices.Contains(rest, "union/0000") || !slices.Contains(rest, "union/9999") {
		t.Fatalf("continuation ignored the cursor: has union/0000 %v, union/9999 %v", slices.Contains(rest, "union/0000"), slices.Contains(rest, "union/9999"))
	}
	for _, k := range seen {
		if slices.Contains(rest, k) {
			t.Fatalf("key %q returned on two pages", k)
		}
	}
}

func (s *suite) scanBounds(t *testing.T, e *env) {
	ks := []string{"a", "a/1", "a/2", "a0", "b", "b/1", "部", "部门/1", "部门/2"}
	var writes []store.Write
	for _, k := range ks {
		writes = append(writes, store.Write{Item: store.Item{Key: k, Value: []byte("v")}})
	}
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    store.Range
		want []string
	}{
		{"all", store.Range{}, ks},
		{"start", store.Range{Start: "a0"}, ks[3:]},
		{"end", store.Range{End: "a0"}, ks[:3]},
		{"start and end", store.Range{Start: "a/2", End: "b/1"}, []string{"a/2", "a0", "b"}},
		{"prefix", store.Range{Prefix: "a/"}, []string{"a/1", "a/2"}},
		{"prefix a", store.Range{Prefix: "a"}, []string{"a", "a/1", "a/2", "a0"}},
		{"unicode prefix", store.Range{Prefix: "部门/"}, []string{"部门/1", "部门/2"}},
		{"prefix and start", store.Range{Prefix: "a/", Start: "a/2"}, []string{"a/2"}},
		{"prefix and end", store.Range{Prefix: "a", End: "a/2"}, []string{"a", "a/1"}},
		{"empty range", store.Range{Start: "b", End: "a"}, nil},
		{"start equals end", store.Range{Start: "b", End: "b"}, nil},
		{"no match", store.Range{Prefix: "c"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, limit := range []int{0, 2} {
				r := c.r
				r.Limit = limit
				if got := keys(e.all(t, tbl, r)); !slices.Equal(got, c.want) {
					t.Errorf("limit %d: got %q, want %q", limit, got, c.want)
				}
			}
		})
	}
}

func (s *suite) purge(t *testing.T, e *env) {
	p, ok := e.Store.(store.Purger)
	if !ok {
		t.Skip("backend does not implement store.Purger")
	}
	if n, err := p.Purge(e.ctx, "never_written"); n != 0 || err != nil {
		t.Fatalf("Purge of a missing table = %d, %v; want 0, nil", n, err)
	}
	var writes []store.Write
	var live []string
	for i := range 300 {
		it := store.Item{Key: fmt.Sprintf("k%03d", i), Value: []byte("v")}
		switch i % 3 {
		case 0:
			it.ExpiresAt = Epoch.Add(time.Minute) // expires
		case 1:
			it.ExpiresAt = Epoch.Add(time.Hour) // stays
			live = append(live, it.Key)
		default:
			live = append(live, it.Key) // never expires
		}
		writes = append(writes, store.Write{Item: it})
	}
	if err := e.Batch(e.ctx, tbl, writes); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	n, err := p.Purge(e.ctx, tbl)
	if err != nil || n != 100 {
		t.Fatalf("Purge = %d, %v; want 100 expired items removed", n, err)
	}
	// Turning the clock back would revive expired items that were merely
	// hidden; purged ones stay gone.
	e.clock.Advance(-time.Minute)
	if got := keys(e.all(t, tbl, store.Range{})); !slices.Equal(got, live) {
		t.Fatalf("after Purge the table holds %d items, want the %d live ones", len(got), len(live))
	}
	e.clock.Advance(time.Minute)
	if n, err := p.Purge(e.ctx, tbl); n != 0 || err != nil {
		t.Fatalf("second Purge = %d, %v; want 0, nil", n, err)
	}
}

func (s *suite) canceled(t *testing.T, e *env) {
	e.mustPut(t, tbl, store.Item{Key: "k", Value: []byte("v")}, store.Always)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", op, err)
		}
	}
	_, err := e.Get(ctx, tbl, "k")
	check("Get", err)
	_, err = e.Put(ctx, tbl, store.Item{Key: "k", Value: []byte("changed")}, store.Always)
	check("Put", err)
	check("Delete", e.Delete(ctx, tbl, "k", store.Always))
	check("Batch", e.Batch(ctx, tbl, []store.Write{{Item: store.Item{Key: "k"}, Delete: true}}))
	_, err = e.Scan(ctx, tbl, store.Range{})
	check("Scan", err)
	if p, ok := e.Store.(store.Purger); ok {
		_, err = p.Purge(ctx, tbl)
		check("Purge", err)
	}
	e.wantValue(t, tbl, "k", "v")
}
