package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// A compare-and-swap loop: read, change, write if nobody wrote in between.
func Example_compareAndSwap() {
	ctx := context.Background()
	s, _ := memstore.New()
	defer s.Close()
	s.Put(ctx, "counters", store.Item{Key: "sent", Value: []byte("41")}, store.Always)

	for {
		it, err := s.Get(ctx, "counters", "sent")
		if err != nil {
			panic(err)
		}
		n, _ := strconv.Atoi(string(it.Value))
		_, err = s.Put(ctx, "counters", store.Item{Key: "sent", Value: []byte(strconv.Itoa(n + 1))}, store.IfVersion(it.Version))
		if errors.Is(err, store.ErrConflict) {
			continue // someone else wrote first: read again
		}
		if err != nil {
			panic(err)
		}
		break
	}
	it, _ := s.Get(ctx, "counters", "sent")
	fmt.Println(string(it.Value))
	// Output: 42
}

// A lease: put-if-absent with an expiry. Whoever wins holds it until it
// expires or is released; an expired lease can be taken over.
func Example_lease() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, _ := memstore.New(memstore.WithClock(func() time.Time { return now }))
	defer s.Close()

	lease := store.Item{Key: "lease/sync", Value: []byte(`{"holder":"a"}`), ExpiresAt: now.Add(time.Minute)}
	v, err := s.Put(ctx, "leases", lease, store.IfAbsent)
	fmt.Println("a acquires:", err == nil)

	lease.Value = []byte(`{"holder":"b"}`)
	_, err = s.Put(ctx, "leases", lease, store.IfAbsent)
	fmt.Println("b acquires:", err == nil, errors.Is(err, store.ErrConflict))

	now = now.Add(2 * time.Minute) // a crashed; its lease expired
	lease.ExpiresAt = now.Add(time.Minute)
	_, err = s.Put(ctx, "leases", lease, store.IfAbsent)
	fmt.Println("b takes over:", err == nil)

	err = s.Delete(ctx, "leases", "lease/sync", store.IfVersion(v))
	fmt.Println("a releases a lease it lost:", errors.Is(err, store.ErrConflict))
	// Output:
	// a acquires: true
	// b acquires: false true
	// b takes over: true
	// a releases a lease it lost: true
}

// Scanning a table page by page with store.All.
func ExampleAll() {
	ctx := context.Background()
	s, _ := memstore.New()
	defer s.Close()
	s.Batch(ctx, "users", []store.Write{
		{Item: store.Item{Key: "dept/1/user/a", Value: []byte(`{"name":"张三"}`)}},
		{Item: store.Item{Key: "dept/1/user/b", Value: []byte(`{"name":"李四"}`)}},
		{Item: store.Item{Key: "dept/2/user/c", Value: []byte(`{"name":"王五"}`)}},
	})
	for it, err := range store.All(ctx, s, "users", store.Range{Prefix: "dept/1/", Limit: 1}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(it.Key, string(it.Value))
	}
	// Output:
	// dept/1/user/a {"name":"张三"}
	// dept/1/user/b {"name":"李四"}
}
