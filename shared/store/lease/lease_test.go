package lease_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/record"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

var epoch = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	tbl = "leases"
	key = "lease/sync"
	ttl = 10 * time.Second
)

// each runs f on every backend with a manual clock at epoch.
func each(t *testing.T, f func(t *testing.T, st store.Store, clk *clocktest.Manual)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			clk := clocktest.New(epoch)
			f(t, b.Open(t, clk.Now), clk)
		})
	}
}

func acquire(t *testing.T, st store.Store, clk *clocktest.Manual, holder string) *lease.Lease {
	t.Helper()
	l, err := lease.Acquire(t.Context(), st, tbl, key, ttl, lease.WithHolder(holder), lease.WithClock(clk.Now))
	if err != nil {
		t.Fatalf("Acquire by %s: %v", holder, err)
	}
	return l
}

// wantHeld asserts that holder cannot take the lease and is told who has
// it until when.
func wantHeld(t *testing.T, st store.Store, clk *clocktest.Manual, holder, byHolder string, until time.Time) {
	t.Helper()
	l, err := lease.Acquire(t.Context(), st, tbl, key, ttl, lease.WithHolder(holder), lease.WithClock(clk.Now))
	held, ok := errors.AsType[*lease.HeldError](err)
	if !ok || !errors.Is(err, lease.ErrHeld) {
		t.Fatalf("Acquire by %s = %v, %v; want a *HeldError", holder, l, err)
	}
	if held.Holder != byHolder || !held.ExpiresAt.Equal(until) || held.Key != key {
		t.Fatalf("HeldError = %+v; want holder %s until %v", held, byHolder, until)
	}
	if msg := err.Error(); !strings.Contains(msg, byHolder) || !strings.Contains(msg, until.UTC().Format(time.RFC3339)[:19]) {
		t.Fatalf("HeldError text %q names neither holder nor expiry", msg)
	}
}

func wantLost(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, lease.ErrLost) {
		t.Fatalf("%s = %v, want ErrLost", what, err)
	}
}

func TestAcquireRelease(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		ctx := t.Context()
		a := acquire(t, st, clk, "host-a/1/aa")
		if a.Holder() != "host-a/1/aa" || a.Key() != key || !a.Expires().Equal(epoch.Add(ttl)) || a.Fence() <= 0 {
			t.Fatalf("lease = holder %q key %q expires %v fence %d", a.Holder(), a.Key(), a.Expires(), a.Fence())
		}
		wantHeld(t, st, clk, "host-b/2/bb", "host-a/1/aa", epoch.Add(ttl))
		// The row is documented JSON for operators.
		it, err := st.Get(ctx, tbl, key)
		if err != nil || !strings.Contains(string(it.Value), `"holder":"host-a/1/aa"`) || !strings.Contains(string(it.Value), `"expires_at":"2026-05-06T07:08:19Z"`) {
			t.Fatalf("stored lease = %s, %v", it.Value, err)
		}
		if err := a.Check(ctx); err != nil {
			t.Fatalf("Check of a held lease: %v", err)
		}
		if err := a.Release(ctx); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if err := a.Release(ctx); err != nil {
			t.Fatalf("second Release: %v", err)
		}
		wantLost(t, "Renew after Release", a.Renew(ctx))
		b := acquire(t, st, clk, "host-b/2/bb")
		if b.Fence() <= a.Fence() {
			t.Fatalf("next holder's fence %d, want > %d", b.Fence(), a.Fence())
		}
	})
}

// Of many holders racing for a free lease, exactly one gets it; the others
// learn who.
func TestRaceTwoOrMoreHolders(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		const n = 12
		leases := make([]*lease.Lease, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				leases[i], errs[i] = lease.Acquire(t.Context(), st, tbl, key, ttl, lease.WithHolder(fmt.Sprint("holder-", i)), lease.WithClock(clk.Now))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("holders %d and %d both acquired the lease", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatal("nobody acquired the lease")
		}
		for i, err := range errs {
			if i == winner {
				continue
			}
			held, ok := errors.AsType[*lease.HeldError](err)
			if !ok || held.Holder != fmt.Sprint("holder-", winner) || !held.ExpiresAt.Equal(epoch.Add(ttl)) {
				t.Fatalf("holder %d: %v; want held by holder-%d", i, err, winner)
			}
		}
	})
}

// An expired lease is free; its old holder can then neither renew nor
// release it, nor delete its successor's.
func TestExpiryAndTakeover(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		ctx := t.Context()
		a := acquire(t, st, clk, "a")
		clk.Advance(ttl - time.Millisecond)
		wantHeld(t, st, clk, "b", "a", epoch.Add(ttl))
		clk.Advance(time.Millisecond)
		b := acquire(t, st, clk, "b")
		wantLost(t, "Renew by the expired holder", a.Renew(ctx))
		wantLost(t, "Release by the expired holder", a.Release(ctx))
		wantLost(t, "Check by the expired holder", a.Check(ctx))
		if err := b.Check(ctx); err != nil {
			t.Fatalf("the new holder's lease after the old holder's release: %v", err)
		}
		wantHeld(t, st, clk, "c", "b", epoch.Add(2*ttl))
	})
}

func TestRenew(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		ctx := t.Context()
		a := acquire(t, st, clk, "a")
		fence := a.Fence()
		clk.Advance(8 * time.Second)
		if err := a.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		if want := epoch.Add(8*time.Second + ttl); !a.Expires().Equal(want) || a.Fence() != fence {
			t.Fatalf("after Renew: expires %v fence %d; want %v and the same fence %d", a.Expires(), a.Fence(), want, fence)
		}
		clk.Advance(ttl - time.Millisecond)
		wantHeld(t, st, clk, "b", "a", epoch.Add(8*time.Second+ttl))
		if err := a.Check(ctx); err != nil {
			t.Fatal(err)
		}
		// Past its expiry a lease is lost even if nobody took it.
		clk.Advance(time.Millisecond)
		wantLost(t, "Renew of an expired lease", a.Renew(ctx))
		wantLost(t, "Renew after a failed Renew", a.Renew(ctx))
		acquire(t, st, clk, "b")
	})
}

// checkpoint is a record written under a lease, fenced.
type checkpoint struct {
	Fence  int64  `json:"fence"`
	Cursor string `json:"cursor"`
}

// fencedWrite writes cursor under l unless a later holder wrote.
func fencedWrite(ctx context.Context, st store.Store, l *lease.Lease, cursor string) error {
	_, err := record.Update(ctx, st, "checkpoints", "directory", func(cur checkpoint, found bool) (checkpoint, error) {
		if err := l.CheckFence(cur.Fence); err != nil {
			return cur, err
		}
		return checkpoint{Fence: l.Fence(), Cursor: cursor}, nil
	})
	return err
}

// A holder that paused past its expiry while another took over cannot
// overwrite the new holder's work.
func TestFencedOutStaleHolder(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		ctx := t.Context()
		a := acquire(t, st, clk, "a")
		if err := fencedWrite(ctx, st, a, "a-1"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(ttl) // a pauses past its expiry
		b := acquire(t, st, clk, "b")
		if err := fencedWrite(ctx, st, b, "b-1"); err != nil {
			t.Fatal(err)
		}
		// a wakes up and carries on.
		wantLost(t, "fenced write by the stale holder", fencedWrite(ctx, st, a, "a-2"))
		got, err := record.Get[checkpoint](ctx, st, "checkpoints", "directory")
		if err != nil || got.Value != (checkpoint{Fence: b.Fence(), Cursor: "b-1"}) {
			t.Fatalf("checkpoint = %+v, %v; want b's", got.Value, err)
		}
		if err := fencedWrite(ctx, st, b, "b-2"); err != nil {
			t.Fatalf("the current holder's next write: %v", err)
		}
	})
}

// Release runs after the caller's context ended: shutdown is when a lease
// most needs releasing.
func TestReleaseAfterCancel(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		ctx, cancel := context.WithCancel(t.Context())
		a, err := lease.Acquire(ctx, st, tbl, key, ttl, lease.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := a.Release(ctx); err != nil {
			t.Fatalf("Release with an ended context: %v", err)
		}
		if _, err := st.Get(t.Context(), tbl, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lease after Release: %v, want gone", err)
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	st, _ := memstore.New()
	for name, c := range map[string]struct {
		ttl  time.Duration
		opts []lease.Option
	}{
		"zero ttl":               {0, nil},
		"sub-millisecond ttl":    {time.Microsecond, nil},
		"empty holder":           {ttl, []lease.Option{lease.WithHolder("")}},
		"long holder":            {ttl, []lease.Option{lease.WithHolder(strings.Repeat("h", 257))}},
		"non-UTF-8 holder":       {ttl, []lease.Option{lease.WithHolder("a\xffb")}},
		"nil clock":              {ttl, []lease.Option{lease.WithClock(nil)}},
		"zero release timeout":   {ttl, []lease.Option{lease.WithReleaseTimeout(0)}},
		"renewal beyond the ttl": {ttl, []lease.Option{lease.WithRenewEvery(ttl)}},
		"negative renewal":       {ttl, []lease.Option{lease.WithRenewEvery(-time.Second)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := lease.Acquire(t.Context(), st, tbl, key, c.ttl, c.opts...); err == nil {
				t.Fatal("Acquire accepted it")
			}
			ran := false
			if err := lease.Run(t.Context(), st, tbl, key, c.ttl, func(context.Context, *lease.Lease) error { ran = true; return nil }, c.opts...); err == nil || ran {
				t.Fatalf("Run accepted it (fn ran: %v)", ran)
			}
		})
	}
	if _, err := st.Get(t.Context(), tbl, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("an invalid Acquire wrote a lease")
	}
}

func TestHolderID(t *testing.T) {
	host, _ := os.Hostname()
	id := lease.HolderID()
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] != host || parts[1] != fmt.Sprint(os.Getpid()) || len(parts[2]) != 12 {
		t.Fatalf("HolderID() = %q, want host/pid/12 hex digits", id)
	}
	if lease.HolderID() != id {
		t.Fatal("HolderID changes within a process")
	}
	l, err := lease.Acquire(t.Context(), mustMem(t), tbl, key, ttl)
	if err != nil || l.Holder() != id {
		t.Fatalf("default holder = %v, %v; want %q", l, err, id)
	}
}

func mustMem(t *testing.T) store.Store {
	st, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRun(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, clk *clocktest.Manual) {
		ctx := t.Context()
		ticks := make(chan time.Time)
		var fence int64
		err := lease.Run(ctx, st, tbl, key, ttl, func(ctx context.Context, l *lease.Lease) error {
			fence = l.Fence()
			wantHeld(t, st, clk, "other", l.Holder(), epoch.Add(ttl))
			clk.Advance(5 * time.Second)
			ticks <- clk.Now() // a renewal
			ticks <- clk.Now() // received only after the first renewal finished
			wantHeld(t, st, clk, "other", l.Holder(), epoch.Add(5*time.Second+ttl))
			return nil
		}, lease.WithClock(clk.Now), lease.WithTicks(ticks))
		if err != nil || fence == 0 {
			t.Fatalf("Run = %v (fence %d)", err, fence)
		}
		if _, err := st.Get(ctx, tbl, key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("lease after Run: %v, want released", err)
		}

		// Held by another: fn does not run, the error names the holder.
		other := acquire(t, st, clk, "other")
		ran := false
		err = lease.Run(ctx, st, tbl, key, ttl, func(context.Context, *lease.Lease) error { ran = true; return nil }, lease.WithClock(clk.Now))
		if held, ok := errors.AsType[*lease.HeldError](err); !ok || held.Holder != "other" || ran {
			t.Fatalf("Run on a held lease = %v (fn ran %v), want a HeldError naming other", err, ran)
		}
		if err := other.Release(ctx); err != nil {
			t.Fatal(err)
		}

		// Lost while running: fn's context ends with ErrLost, and so does Run.
		boom := errors.New("stopped")
		err = lease.Run(ctx, st, tbl, key, ttl, func(ctx context.Context, l *lease.Lease) error {
			clk.Advance(ttl)
			acquire(t, st, clk, "successor")
			ticks <- clk.Now()
			<-ctx.Done()
			wantLost(t, "fn's context cause", context.Cause(ctx))
			return boom
		}, lease.WithClock(clk.Now), lease.WithTicks(ticks))
		if !errors.Is(err, lease.ErrLost) || !errors.Is(err, boom) {
			t.Fatalf("Run that lost its lease = %v, want ErrLost and fn's error", err)
		}
		wantHeld(t, st, clk, "other", "successor", clk.Now().Add(ttl))
	})
}
