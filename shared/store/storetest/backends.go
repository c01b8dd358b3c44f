package storetest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/boltstore"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// Backend is a store backend a feature's tests run on.
type Backend struct {
	// Name says which: "memory", "bolt", "tablestore" (the emulator),
	// "redis" (an in-process fake) or "redis-real".
	Name string
	// Open returns a fresh, empty store of the backend whose expiry
	// follows clock, closed when t ends.
	Open Opener
}

// Backends returns the backends every feature that touches the store is
// tested on: memory, bolt (a file in t.TempDir, without fsync), Tablestore
// through its protocol-level emulator (tablestoretest, on the same clock),
// Redis through an in-process fake (redistest) and, when
// DINGFN_TEST_REDIS_URL names one, a real Redis ("redis-real"). Each Open
// starts its own server, so stores share nothing.
//
// storetest imports these backends for this, so their own packages' tests
// (which import storetest) must be external test packages.
func Backends() []Backend {
	bs := []Backend{Memory(), Bolt(), Tablestore(), {"redis", openRedis}}
	if os.Getenv(redistest.EnvURL) != "" {
		bs = append(bs, Backend{"redis-real", openRealRedis})
	}
	return bs
}

// ForEach runs f as a parallel subtest of t, named after the backend, on
// every backend of Backends.
func ForEach(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// Memory is the memory backend, for tests where the store's behaviour does
// not matter.
func Memory() Backend { return Backend{"memory", openMemory} }

// Bolt is the bbolt backend.
func Bolt() Backend { return Backend{"bolt", openBolt} }

// Tablestore is the Tablestore backend through the emulator.
func Tablestore() Backend { return Backend{"tablestore", openTablestore} }

func orNow(clock store.Clock) store.Clock {
	if clock == nil {
		return time.Now
	}
	return clock
}

func openMemory(t testing.TB, clock store.Clock) store.Store {
	s, err := memstore.New(memstore.WithClock(orNow(clock)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openBolt(t testing.TB, clock store.Clock) store.Store {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "dingfn.db"), boltstore.WithClock(orNow(clock)), boltstore.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTablestore(t testing.TB, clock store.Clock) store.Store {
	srv := tablestoretest.NewServer(tablestoretest.WithClock(orNow(clock)))
	t.Cleanup(srv.Close)
	s, err := otsstore.New(srv.NewClient("dingfn-test"), otsstore.WithClock(orNow(clock)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openRedis(t testing.TB, clock store.Clock) store.Store { return redistest.Open(t, clock) }

func openRealRedis(t testing.TB, clock store.Clock) store.Store { return redistest.OpenReal(t, clock) }
