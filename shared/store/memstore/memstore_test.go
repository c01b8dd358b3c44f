package memstore_test

import (
	"testing"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func open(t testing.TB, clock store.Clock) store.Store {
	s, err := memstore.New(memstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open) }

func TestBadPrefix(t *testing.T) {
	if _, err := memstore.New(memstore.WithTablePrefix("1bad-prefix")); err == nil {
		t.Fatal("New accepted table prefix 1bad-prefix")
	}
}
