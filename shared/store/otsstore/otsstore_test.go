package otsstore_test

import (
	"testing"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// openEmulator starts a fresh emulator per store, so subtests share
// nothing.
func openEmulator(t testing.TB, clock store.Clock) store.Store {
	srv := tablestoretest.NewServer()
	t.Cleanup(srv.Close)
	s, err := otsstore.New(srv.NewClient("dingfn-test"), otsstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContractEmulator(t *testing.T) { storetest.Run(t, openEmulator) }

func BenchmarkStoreEmulator(b *testing.B) { storetest.Benchmark(b, openEmulator) }
