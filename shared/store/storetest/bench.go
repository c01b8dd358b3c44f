package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// BatchRows is the size of Benchmark's batch-write-and-scan round.
const BatchRows = 10000

// Benchmark measures one backend: a conditional put (compare-and-swap on
// one key), a get, and writing BatchRows rows in one Batch followed by a
// full paged scan. Backends call it from their own Benchmark function, so
//
//	go test -run '^$' -bench . ./shared/store/memstore ./shared/store/boltstore ./shared/store/otsstore ./shared/store/redisstore
//
// prints them side by side (Tablestore through the emulator on loopback,
// Redis on an in-process fake; BenchmarkStoreRealTablestore and
// BenchmarkStoreRealRedis run against a real instance when
// TABLESTORE_TEST_* or DINGFN_TEST_REDIS_URL is set).
func Benchmark(b *testing.B, open Opener) {
	value := make([]byte, 200) // a directory user record is about this size
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	b.Run("PutIfVersion", func(b *testing.B) {
		e := benchEnv(b, open)
		v, err := e.Put(e.ctx, tbl, store.Item{Key: "token", Value: value}, store.Always)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if v, err = e.Put(e.ctx, tbl, store.Item{Key: "token", Value: value}, store.IfVersion(v)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		e := benchEnv(b, open)
		if _, err := e.Put(e.ctx, tbl, store.Item{Key: "token", Value: value}, store.Always); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := e.Get(e.ctx, tbl, "token"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("Batch%dAndScan", BatchRows), func(b *testing.B) {
		e := benchEnv(b, open)
		writes := make([]store.Write, BatchRows)
		for i := range writes {
			writes[i].Item = store.Item{Key: fmt.Sprintf("user/%06d", i), Value: value}
		}
		round := 0
		b.ResetTimer()
		for b.Loop() {
			table := fmt.Sprintf("bench_%d", round)
			round++
			if err := e.Batch(e.ctx, table, writes); err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, err := range store.All(e.ctx, e.Store, table, store.Range{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != BatchRows {
				b.Fatalf("scan found %d rows, want %d", n, BatchRows)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*BatchRows), "ns/row")
	})
}

func benchEnv(b *testing.B, open Opener) *env {
	clock := NewClock(time.Now())
	return &env{Store: open(b, clock.Now), clock: clock, ctx: b.Context()}
}
