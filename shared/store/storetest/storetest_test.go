package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func openMem(t testing.TB, clock store.Clock) store.Store {
	s, err := memstore.New(memstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// broken wraps a correct store and breaks one rule of the contract.
type broken struct {
	*memstore.Store
	fault string

	mu      sync.Mutex
	written map[string]bool
}

func (b *broken) Put(ctx context.Context, table string, it store.Item, c store.Cond) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.fault == "ignore-version" && !c.IsAlways() && !c.IsIfAbsent():
		if _, err := b.Store.Get(ctx, table, it.Key); err != nil {
			return 0, store.ErrConflict
		}
		c = store.Always
	case b.fault == "expired-blocks-if-absent" && c.IsIfAbsent() && b.written[table+"/"+it.Key]:
		return 0, store.ErrConflict
	}
	v, err := b.Store.Put(ctx, table, it, c)
	if err == nil {
		b.written[table+"/"+it.Key] = true
	}
	return v, err
}

func (b *broken) Get(ctx context.Context, table, key string) (store.Item, error) {
	it, err := b.Store.Get(ctx, table, key)
	if b.fault == "miss-is-not-errnotfound" && errors.Is(err, store.ErrNotFound) {
		return it, errors.New("backend failure")
	}
	return it, err
}

func (b *broken) Batch(ctx context.Context, table string, writes []store.Write) error {
	switch b.fault {
	case "batch-first-write-wins":
		writes = slices.Clone(writes)
		slices.Reverse(writes)
	case "batch-ignores-conditions":
		writes = slices.Clone(writes)
		for i := range writes {
			writes[i].Cond = store.Always
		}
	case "batch-conditions-see-state-before-batch":
		return b.batchCheckingFirst(ctx, table, writes)
	}
	return b.Store.Batch(ctx, table, writes)
}

// batchCheckingFirst checks every condition against the state before the
// batch, then applies the rows that passed unconditionally.
func (b *broken) batchCheckingFirst(ctx context.Context, table string, writes []store.Write) error {
	var failed []store.RowError
	var apply []store.Write
	var index []int
	for i, w := range writes {
		it, err := b.Store.Get(ctx, table, w.Item.Key)
		live := err == nil
		if !w.Cond.Allows(live, it.Version) {
			failed = append(failed, store.RowError{Index: i, Key: w.Item.Key, Err: store.ErrConflict})
			continue
		}
		w.Cond = store.Always
		apply = append(apply, w)
		index = append(index, i)
	}
	var be *store.BatchError
	if err := b.Store.Batch(ctx, table, apply); errors.As(err, &be) {
		for _, f := range be.Failed {
			f.Index = index[f.Index]
			failed = append(failed, f)
		}
	} else if err != nil {
		return err
	}
	if failed == nil {
		return nil
	}
	slices.SortFunc(failed, func(a, b store.RowError) int { return a.Index - b.Index })
	return &store.BatchError{Failed: failed}
}

func (b *broken) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	p, err := b.Store.Scan(ctx, table, r)
	if b.fault == "scan-drops-last-item" && err == nil && p.Next == "" && len(p.Items) > 1 {
		p.Items = p.Items[:len(p.Items)-1]
	}
	return p, err
}

// faultEnv names the broken store a child test process runs the suite on.
const faultEnv = "STORETEST_BROKEN_FAULT"

// TestSuiteOnBrokenStore is the child: it runs only when the parent sets
// faultEnv, and is expected to fail.
func TestSuiteOnBrokenStore(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores in a child process")
	}
	storetest.Run(t, func(t testing.TB, clock store.Clock) store.Store {
		return &broken{Store: openMem(t, clock).(*memstore.Store), fault: fault, written: map[string]bool{}}
	})
}

// The suite must fail a store that breaks the contract, and name the
// subtest that noticed.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child test processes")
	}
	for fault, wantFailing := range map[string]string{
		"ignore-version":                          "TestSuiteOnBrokenStore/IfVersion",
		"expired-blocks-if-absent":                "TestSuiteOnBrokenStore/Expiry",
		"miss-is-not-errnotfound":                 "TestSuiteOnBrokenStore/MissingTable",
		"batch-first-write-wins":                  "TestSuiteOnBrokenStore/Batch",
		"batch-ignores-conditions":                "TestSuiteOnBrokenStore/BatchConditions",
		"batch-conditions-see-state-before-batch": "TestSuiteOnBrokenStore/BatchConditions",
		"scan-drops-last-item":                    "TestSuiteOnBrokenStore/Scan",
	} {
		t.Run(fault, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run", "^TestSuiteOnBrokenStore$")
			cmd.Env = append(os.Environ(), faultEnv+"="+fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the contract suite passed a store with fault %q:\n%s", fault, out)
			}
			if !strings.Contains(string(out), "--- FAIL: "+wantFailing+" ") {
				t.Fatalf("fault %q: want subtest %s to fail; output:\n%s", fault, wantFailing, out)
			}
		})
	}
}

// The suite passes the correct store it wraps, so the failures above come
// from the faults.
func TestSuitePassesCorrectStore(t *testing.T) { storetest.Run(t, openMem) }
