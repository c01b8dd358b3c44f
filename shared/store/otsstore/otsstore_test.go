package otsstore_test

import (
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

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
	s, err := otsstore.New(newClient(srv), otsstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newClient points an SDK client at srv with short retry pauses. It does
// not use srv.NewClient, whose 1 ms DefaultRetryInterval makes the SDK
// panic in rand.Int63n(0) on the first retry.
func newClient(srv *tablestoretest.Server) *tablestore.TableStoreClient {
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.DefaultRetryInterval = 2 * time.Millisecond
	cfg.MaxRetryInterval = 8 * time.Millisecond
	return tablestore.NewClientWithConfig(srv.URL, "dingfn-test", "test-access-key-id", "test-access-key-secret", "", cfg)
}

func TestContractEmulator(t *testing.T) { storetest.Run(t, openEmulator) }

func BenchmarkStoreEmulator(b *testing.B) { storetest.Benchmark(b, openEmulator) }
