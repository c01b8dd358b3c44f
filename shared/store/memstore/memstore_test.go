package memstore_test

import (
	"errors"
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

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]memstore.Option{
		"nil clock":  memstore.WithClock(nil),
		"bad prefix": memstore.WithTablePrefix("bad-prefix"),
	} {
		if s, err := memstore.New(opt); !errors.Is(err, store.ErrInvalid) || s != nil {
			t.Errorf("%s: got %v, %v; want ErrInvalid", name, s, err)
		}
	}
}
