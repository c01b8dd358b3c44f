// Package redistest opens redisstore stores for tests: on an in-process
// Redis fake (miniredis), and on a real Redis when DINGFN_TEST_REDIS_URL
// names one (.ci/run starts one on loopback).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore"
)

// EnvURL names the real Redis the tests may use, as a redis:// URL. Tests
// only create and delete keys under their own random dingfntest_ prefix.
const EnvURL = "DINGFN_TEST_REDIS_URL"

// NewServer starts an in-process Redis fake that t closes.
func NewServer(t testing.TB) *miniredis.Miniredis { return miniredis.RunT(t) }

// Open returns a store on a fresh fake, closed when t ends.
func Open(t testing.TB, clock store.Clock, opts ...redisstore.Option) *redisstore.Store {
	return OpenOn(t, NewServer(t), clock, opts...)
}

// OpenOn returns a store on the fake m, closed when t ends; stores opened
// on one fake share its data like functions sharing one Redis.
func OpenOn(t testing.TB, m *miniredis.Miniredis, clock store.Clock, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	return open(t, "redis://"+m.Addr()+"/0", clock, opts...)
}

func open(t testing.TB, url string, clock store.Clock, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	o, err := redisstore.ParseURL(url, "")
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		opts = append(opts, redisstore.WithClock(clock))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, o, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// RealURL returns the URL in DINGFN_TEST_REDIS_URL, or skips t saying
// how to run it.
func RealURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skipf("real Redis not configured: set %s=redis://127.0.0.1:PORT/0 to run this against a real server (.ci/run starts one); the in-process fake ran the same tests", EnvURL)
	}
	return u
}

// OpenReal returns a store on the real Redis in DINGFN_TEST_REDIS_URL
// (skipping t when unset) with its own random table prefix; the keys under
// that prefix are deleted when t ends.
func OpenReal(t testing.TB, clock store.Clock, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	url := RealURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "dingfntest_" + hex.EncodeToString(b[:]) + "_"
	o, err := redisstore.ParseURL(url, "")
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the store's own cleanup, so it runs after the
	// store is closed.
	t.Cleanup(func() {
		c := redis.NewClient(o)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, "{"+prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("listing test keys {%s*: %v", prefix, err)
			return
		}
		for i := 0; i < len(keys); i += 1000 {
			if err := c.Unlink(ctx, keys[i:min(i+1000, len(keys))]...).Err(); err != nil {
				t.Errorf("deleting test keys {%s*: %v", prefix, err)
				return
			}
		}
	})
	return open(t, url, clock, append([]redisstore.Option{redisstore.WithTablePrefix(prefix)}, opts...)...)
}
