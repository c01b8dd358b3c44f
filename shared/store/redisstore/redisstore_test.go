package redisstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore"
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

// fake opens a store on a fresh fake and returns both, with the fake's
// clock and the store's moving together.
func fake(t *testing.T, opts ...redisstore.Option) (*redisstore.Store, *miniredis.Miniredis, *storetest.Clock) {
	t.Helper()
	m := redistest.NewServer(t)
	clock := storetest.NewClock(storetest.Epoch)
	return redistest.OpenOn(t, m, clock.Now, opts...), m, clock
}

// advance moves the store's clock and the fake's expiry clock together.
func advance(m *miniredis.Miniredis, clock *storetest.Clock, d time.Duration) {
	clock.Advance(d)
	m.FastForward(d)
}

// The key layout is a contract for readers in other languages (see the
// package documentation and README).
func TestKeyLayout(t *testing.T) {
	s, m, clock := fake(t, redisstore.WithTablePrefix("app_"))
	ctx := t.Context()
	exp := storetest.Epoch.Add(time.Hour)
	v, err := s.Put(ctx, "users", store.Item{Key: "部门/1", Value: []byte(`{"name":"张三"}`), ExpiresAt: exp}, store.IfAbsent)
	require.NoError(t, err)

	row := "{app_users}:row:部门/1"
	assert.Equal(t, row, s.RowKey("users", "部门/1"))
	assert.Equal(t, "{app_users}:keys", s.IndexKey("users"))
	assert.Equal(t, "{app_users}:version", s.CounterKey("users"))
	assert.Equal(t, `{"name":"张三"}`, m.HGet(row, "value"))
	assert.Equal(t, strconv.FormatInt(v, 10), m.HGet(row, "version"))
	assert.Equal(t, strconv.FormatInt(exp.UnixMilli(), 10), m.HGet(row, "expires_at"))
	members, err := m.ZMembers("{app_users}:keys")
	require.NoError(t, err)
	assert.Equal(t, []string{"部门/1"}, members)
	counter, err := m.Get("{app_users}:version")
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(v, 10), counter)
	// Redis removes the row ExpiryGrace after the item expires, counted
	// from the store's clock at the write.
	assert.Equal(t, time.Hour+redisstore.ExpiryGrace, m.TTL(row))

	// Without expiry the row has no Redis TTL and expires_at says never.
	_, err = s.Put(ctx, "users", store.Item{Key: "部门/1", Value: []byte(`{}`)}, store.Always)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), m.TTL(row))
	assert.Equal(t, "9223372036854775807", m.HGet(row, "expires_at"))

	// An item written already expired is reclaimed almost at once.
	_, err = s.Put(ctx, "users", store.Item{Key: "gone", Value: []byte(`x`), ExpiresAt: clock.Now().Add(-time.Hour)}, store.Always)
	require.NoError(t, err)
	assert.Equal(t, time.Millisecond, m.TTL(s.RowKey("users", "gone")))

	// Every key of the table carries the table as its hash tag, so one
	// table is one cluster slot.
	for _, k := range m.Keys() {
		assert.True(t, strings.HasPrefix(k, "{app_users}:"), "key %q outside the table's hash tag", k)
	}
}

// When Redis expires a row on its own, the index keeps a stale entry: Get
// and conditions see the item as absent, Scan drops the entry, and a
// re-created item still gets a greater version.
func TestRedisExpiryLeavesTheIndexConsistent(t *testing.T) {
	s, m, clock := fake(t)
	ctx := t.Context()
	var writes []store.Write
	for i := range 10 {
		it := store.Item{Key: fmt.Sprintf("k%d", i), Value: []byte("v")}
		if i%2 == 0 {
			it.ExpiresAt = storetest.Epoch.Add(time.Minute)
		}
		writes = append(writes, store.Write{Item: it})
	}
	require.NoError(t, s.Batch(ctx, "t", writes))
	v0, err := s.Get(ctx, "t", "k0")
	require.NoError(t, err)

	advance(m, clock, time.Minute+redisstore.ExpiryGrace)
	assert.False(t, m.Exists(s.RowKey("t", "k0")), "Redis removed the expired row")
	members, _ := m.ZMembers(s.IndexKey("t"))
	assert.Len(t, members, 10, "the index still names the removed rows")

	_, err = s.Get(ctx, "t", "k0")
	assert.ErrorIs(t, err, store.ErrNotFound)
	p, err := s.Scan(ctx, "t", store.Range{})
	require.NoError(t, err)
	assert.Equal(t, []string{"k1", "k3", "k5", "k7", "k9"}, keys(p.Items))
	members, _ = m.ZMembers(s.IndexKey("t"))
	assert.Equal(t, []string{"k1", "k3", "k5", "k7", "k9"}, members, "Scan dropped the stale entries")

	assert.ErrorIs(t, s.Delete(ctx, "t", "k0", store.IfVersion(v0.Version)), store.ErrConflict)
	v1, err := s.Put(ctx, "t", store.Item{Key: "k0", Value: []byte("again")}, store.IfAbsent)
	require.NoError(t, err)
	assert.Greater(t, v1, v0.Version)
}

func TestPurgeDropsStaleIndexEntries(t *testing.T) {
	s, m, clock := fake(t)
	ctx := t.Context()
	var writes []store.Write
	for i := range 2500 { // more than one purge step
		it := store.Item{Key: fmt.Sprintf("k%04d", i), Value: []byte("v")}
		switch i % 3 {
		case 0: // Redis will have removed it
			it.ExpiresAt = storetest.Epoch.Add(time.Minute)
		case 1: // expired by the store's clock only
			it.ExpiresAt = storetest.Epoch.Add(time.Minute + redisstore.ExpiryGrace)
		}
		writes = append(writes, store.Write{Item: it})
	}
	require.NoError(t, s.Batch(ctx, "t", writes))
	advance(m, clock, time.Minute+redisstore.ExpiryGrace)
	n, err := s.Purge(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, 833, n, "Purge counts the rows it deleted, not the ones Redis removed")
	members, _ := m.ZMembers(s.IndexKey("t"))
	assert.Len(t, members, 833, "only the live keys stay indexed")
	for _, k := range members {
		assert.True(t, m.Exists(s.RowKey("t", k)), "indexed key %q has no row", k)
	}
}

// Writers, deletes, batches and Redis expiry race over a few keys; the
// index always names every stored row, Scan agrees with Get, and after
// Purge the index and the rows match exactly.
func TestIndexUnderConcurrentWritersAndExpiry(t *testing.T) {
	s, m, clock := fake(t)
	ctx := t.Context()
	const workers, ops, nkeys = 6, 300, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			key := func() string { return fmt.Sprintf("k%02d", rng.IntN(nkeys)) }
			for range ops {
				it := store.Item{Key: key(), Value: []byte("v")}
				if rng.IntN(2) == 0 {
					it.ExpiresAt = clock.Now().Add(time.Duration(rng.IntN(90)) * time.Second)
				}
				var err error
				switch rng.IntN(6) {
				case 0:
					_, err = s.Put(ctx, "t", it, store.IfAbsent)
				case 1:
					_, err = s.Put(ctx, "t", it, store.Always)
				case 2:
					err = s.Delete(ctx, "t", it.Key, store.Always)
				case 3:
					err = s.Batch(ctx, "t", []store.Write{{Item: it}, {Item: store.Item{Key: key()}, Delete: true}, {Item: store.Item{Key: key(), Value: []byte("b")}, Cond: store.IfAbsent}})
				case 4:
					_, err = s.Scan(ctx, "t", store.Range{Limit: 1 + rng.IntN(5)})
				default:
					advance(m, clock, time.Duration(rng.IntN(40))*time.Second)
				}
				if err != nil && !errors.Is(err, store.ErrConflict) {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	rows := map[string]bool{}
	for _, k := range m.Keys() {
		if k, ok := strings.CutPrefix(k, "{dingfn_t}:row:"); ok {
			rows[k] = true
		}
	}
	indexed, _ := m.ZMembers(s.IndexKey("t"))
	for k := range rows {
		assert.Contains(t, indexed, k, "row %q is missing from the index", k)
	}
	var live []string
	for i := range nkeys {
		k := fmt.Sprintf("k%02d", i)
		if _, err := s.Get(ctx, "t", k); err == nil {
			live = append(live, k)
		}
	}
	p, err := s.Scan(ctx, "t", store.Range{})
	require.NoError(t, err)
	assert.Equal(t, live, keys(p.Items))
	_, err = s.Purge(ctx, "t")
	require.NoError(t, err)
	indexed, _ = m.ZMembers(s.IndexKey("t"))
	assert.Equal(t, live, indexed, "after Purge the index is exactly the live keys")
}

// Per-write conditions in Batch: each write is checked and applied
// atomically on its own; failed conditions are reported as ErrConflict at
// their index and the other writes apply.
func TestBatchConditions(t *testing.T) {
	s, _, clock := fake(t)
	ctx := t.Context()
	va, err := s.Put(ctx, "t", store.Item{Key: "a", Value: []byte("a1")}, store.Always)
	require.NoError(t, err)
	vb, err := s.Put(ctx, "t", store.Item{Key: "b", Value: []byte("b1")}, store.Always)
	require.NoError(t, err)
	_, err = s.Put(ctx, "t", store.Item{Key: "e", Value: []byte("old"), ExpiresAt: clock.Now().Add(time.Second)}, store.Always)
	require.NoError(t, err)
	clock.Advance(time.Second)

	writes := []store.Write{
		{Item: store.Item{Key: "a", Value: []byte("a2")}, Cond: store.IfVersion(va)}, // 0 ok
		{Item: store.Item{Key: "a", Value: []byte("a3")}, Cond: store.IfVersion(va)}, // 1 stale: a2 replaced va
		{Item: store.Item{Key: "b", Value: []byte("b2")}, Cond: store.IfAbsent},      // 2 conflict
		{Item: store.Item{Key: "b"}, Delete: true, Cond: store.IfVersion(vb + 1000)}, // 3 conflict
		{Item: store.Item{Key: "c", Value: []byte("c1")}, Cond: store.IfAbsent},      // 4 ok
		{Item: store.Item{Key: "e", Value: []byte("new")}, Cond: store.IfAbsent},     // 5 ok over expired
		{Item: store.Item{Key: "z"}, Delete: true, Cond: store.IfVersion(1)},         // 6 conflict: absent
		{Item: store.Item{Key: ""}, Cond: store.IfAbsent},                            // 7 invalid
		{Item: store.Item{Key: "d", Value: []byte("d1")}},                            // 8 ok, Always
		{Item: store.Item{Key: "b"}, Delete: true, Cond: store.IfVersion(vb)},        // 9 ok
	}
	err = s.Batch(ctx, "t", writes)
	var be *store.BatchError
	require.ErrorAs(t, err, &be)
	var idx []int
	for _, f := range be.Failed {
		idx = append(idx, f.Index)
		assert.Equal(t, writes[f.Index].Item.Key, f.Key)
		if f.Index == 7 {
			assert.ErrorIs(t, f.Err, store.ErrInvalid)
		} else {
			assert.ErrorIs(t, f.Err, store.ErrConflict, "write #%d", f.Index)
		}
	}
	assert.Equal(t, []int{1, 2, 3, 6, 7}, idx)
	p, err := s.Scan(ctx, "t", store.Range{})
	require.NoError(t, err)
	got := map[string]string{}
	for _, it := range p.Items {
		got[it.Key] = string(it.Value)
	}
	assert.Equal(t, map[string]string{"a": "a2", "c": "c1", "d": "d1", "e": "new"}, got)
}

// Concurrent conditional batches: every key is created by exactly one of
// them, and compare-and-swap through batches loses no increment.
func TestBatchConditionsRace(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"fake", func(t *testing.T) store.Store { return redistest.Open(t, nil) }},
		{"real", func(t *testing.T) store.Store { return redistest.OpenReal(t, nil) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := t.Context()
			const n, nkeys = 8, 50
			wins := make([][]int, n)
			var wg sync.WaitGroup
			for g := range n {
				wg.Go(func() {
					var writes []store.Write
					for k := range nkeys {
						writes = append(writes, store.Write{Item: store.Item{Key: fmt.Sprint("k", k), Value: []byte(fmt.Sprint(g))}, Cond: store.IfAbsent})
					}
					err := s.Batch(ctx, "t", writes)
					lost := map[int]bool{}
					var be *store.BatchError
					if errors.As(err, &be) {
						for _, f := range be.Failed {
							if !errors.Is(f.Err, store.ErrConflict) {
								t.Errorf("goroutine %d: %v", g, f.Err)
							}
							lost[f.Index] = true
						}
					} else if err != nil {
						t.Errorf("goroutine %d: %v", g, err)
					}
					for k := range nkeys {
						if !lost[k] {
							wins[g] = append(wins[g], k)
						}
					}
				})
			}
			wg.Wait()
			owner := map[int]int{}
			for g, ks := range wins {
				for _, k := range ks {
					if prev, ok := owner[k]; ok {
						t.Fatalf("key %d created by goroutines %d and %d", k, prev, g)
					}
					owner[k] = g
				}
			}
			require.Len(t, owner, nkeys)
			for k, g := range owner {
				it, err := s.Get(ctx, "t", fmt.Sprint("k", k))
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprint(g), string(it.Value))
			}

			// Increments through single-row conditional batches.
			_, err := s.Put(ctx, "t", store.Item{Key: "counter", Value: []byte("0")}, store.Always)
			require.NoError(t, err)
			const each = 10
			for range n {
				wg.Go(func() {
					for range each {
						for {
							it, err := s.Get(ctx, "t", "counter")
							if err != nil {
								t.Error(err)
								return
							}
							c, _ := strconv.Atoi(string(it.Value))
							err = s.Batch(ctx, "t", []store.Write{{Item: store.Item{Key: "counter", Value: []byte(strconv.Itoa(c + 1))}, Cond: store.IfVersion(it.Version)}})
							if err == nil {
								break
							}
							if !errors.Is(err, store.ErrConflict) {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			it, err := s.Get(ctx, "t", "counter")
			require.NoError(t, err)
			assert.Equal(t, strconv.Itoa(n*each), string(it.Value))
		})
	}
}

// A key of the wrong type fails its own write only.
func TestBatchRowFailureIsolated(t *testing.T) {
	s, m, _ := fake(t)
	ctx := t.Context()
	require.NoError(t, m.Set(s.RowKey("t", "b"), "not a hash"))
	err := s.Batch(ctx, "t", []store.Write{
		{Item: store.Item{Key: "a", Value: []byte("1")}},
		{Item: store.Item{Key: "b", Value: []byte("2")}, Cond: store.IfAbsent},
		{Item: store.Item{Key: "c", Value: []byte("3")}},
	})
	var be *store.BatchError
	require.ErrorAs(t, err, &be)
	require.Len(t, be.Failed, 1)
	assert.Equal(t, 1, be.Failed[0].Index)
	assert.NotErrorIs(t, be.Failed[0].Err, store.ErrConflict, "a backend failure is not a conflict")
	assert.Contains(t, be.Failed[0].Err.Error(), "WRONGTYPE")
	for _, k := range []string{"a", "c"} {
		_, err := s.Get(ctx, "t", k)
		assert.NoError(t, err, k)
	}
}

// Two deployments with different prefixes on one Redis share the tables
// named shared and nothing else, like otsstore.
func TestSharedTables(t *testing.T) {
	m := redistest.NewServer(t)
	prod := redistest.OpenOn(t, m, nil, redisstore.WithTablePrefix("dingfn_prod_"), redisstore.WithSharedTables("tokens"))
	staging := redistest.OpenOn(t, m, nil, redisstore.WithTablePrefix("dingfn_staging_"), redisstore.WithSharedTables("tokens"))
	assert.Equal(t, "dingfn_tokens", prod.TableName("tokens"))
	assert.Equal(t, "dingfn_prod_events", prod.TableName("events"))

	ctx := t.Context()
	_, err := prod.Put(ctx, "tokens", store.Item{Key: "access_token/app", Value: []byte(`{"v":1}`)}, store.IfAbsent)
	require.NoError(t, err)
	got, err := staging.Get(ctx, "tokens", "access_token/app")
	require.NoError(t, err, "staging reads the token production wrote")
	assert.Equal(t, `{"v":1}`, string(got.Value))
	_, err = staging.Put(ctx, "tokens", store.Item{Key: "access_token/app", Value: []byte(`{"v":2}`)}, store.IfAbsent)
	assert.ErrorIs(t, err, store.ErrConflict, "one copy: staging cannot create a second token")

	_, err = prod.Put(ctx, "events", store.Item{Key: "e1", Value: []byte(`{}`)}, store.Always)
	require.NoError(t, err)
	_, err = staging.Get(ctx, "events", "e1")
	assert.ErrorIs(t, err, store.ErrNotFound, "other tables stay per deployment")
}

func TestClosedStoreFails(t *testing.T) {
	s, _, _ := fake(t)
	require.NoError(t, s.Close())
	_, err := s.Get(t.Context(), "t", "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, store.ErrNotFound)
	_, err = s.Put(t.Context(), "t", store.Item{Key: "k"}, store.IfAbsent)
	require.Error(t, err)
	assert.NotErrorIs(t, err, store.ErrConflict)
}

func keys(items []store.Item) []string {
	var ks []string
	for _, it := range items {
		ks = append(ks, it.Key)
	}
	return ks
}

// Versions pass through Lua, whose numbers are doubles: they stay exact
// (no exponent notation, no rounding) up to 2^53.
func TestLargeVersionsStayExact(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) (*redisstore.Store, *redis.Client)
	}{
		{"fake", func(t *testing.T) (*redisstore.Store, *redis.Client) {
			m := redistest.NewServer(t)
			return redistest.OpenOn(t, m, nil), redis.NewClient(&redis.Options{Addr: m.Addr()})
		}},
		{"real", func(t *testing.T) (*redisstore.Store, *redis.Client) {
			s := redistest.OpenReal(t, nil)
			o, err := redisstore.ParseURL(redistest.RealURL(t), "")
			require.NoError(t, err)
			return s, redis.NewClient(o)
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			s, raw := b.open(t)
			defer raw.Close()
			ctx := t.Context()
			v0, err := s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("v")}, store.Always)
			require.NoError(t, err)
			const big = int64(1)<<53 - 10
			require.NoError(t, raw.Set(ctx, s.CounterKey("t"), big, 0).Err())
			v, err := s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("w")}, store.IfVersion(v0))
			require.NoError(t, err)
			assert.Equal(t, big+1, v)
			it, err := s.Get(ctx, "t", "k")
			require.NoError(t, err)
			assert.Equal(t, big+1, it.Version)
			_, err = s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("x")}, store.IfVersion(big+1))
			require.NoError(t, err, "the stored version compares equal to the one returned")
		})
	}
}
