package redisstore_test

import (
	"testing"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func openFake(t testing.TB, clock store.Clock) store.Store { return redistest.Open(t, clock) }

func openReal(t testing.TB, clock store.Clock) store.Store { return redistest.OpenReal(t, clock) }

func TestContract(t *testing.T) { storetest.Run(t, openFake) }

func TestContractRealRedis(t *testing.T) {
	redistest.RealURL(t) // skip early, with the reason, when not configured
	storetest.Run(t, openReal)
}

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, openFake) }

func BenchmarkStoreRealRedis(b *testing.B) {
	redistest.RealURL(b)
	storetest.Benchmark(b, openReal)
}
