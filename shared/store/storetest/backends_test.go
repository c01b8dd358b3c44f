package storetest_test

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// TestBackends: every backend opens an empty store of its own whose expiry
// follows the clock it is given; the real Redis joins only when configured.
func TestBackends(t *testing.T) {
	var names []string
	for _, b := range storetest.Backends() {
		names = append(names, b.Name)
	}
	want := []string{"memory", "bolt", "tablestore", "redis"}
	if os.Getenv(redistest.EnvURL) != "" {
		want = append(want, "redis-real")
	}
	if !slices.Equal(names, want) {
		t.Fatalf("backends %q, want %q", names, want)
	}
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		clock := storetest.NewClock(storetest.Epoch)
		st, other := b.Open(t, clock.Now), b.Open(t, clock.Now)
		it := store.Item{Key: "k", Value: []byte(`{"v":1}`), ExpiresAt: storetest.Epoch.Add(time.Minute)}
		if _, err := st.Put(ctx, "t", it, store.IfAbsent); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Get(ctx, "t", "k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a second store of %s sees the first's row: %v", b.Name, err)
		}
		if _, err := st.Get(ctx, "t", "k"); err != nil {
			t.Errorf("Get before expiry: %v", err)
		}
		clock.Advance(time.Minute)
		if _, err := st.Get(ctx, "t", "k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get at expiry on the store's clock = %v, want ErrNotFound", err)
		}
	})
}
