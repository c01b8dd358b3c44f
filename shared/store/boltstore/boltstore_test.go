package boltstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/boltstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func open(t testing.TB, clock store.Clock) store.Store {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "dingfn.db"), boltstore.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open) }

func TestReopenKeepsItemsAndVersions(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "dir", "dingfn.db")
	s, err := boltstore.Open(path, boltstore.WithTablePrefix("app1_"))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.Put(ctx, "tokens", store.Item{Key: "access_token", Value: []byte("t1")}, store.IfAbsent)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "tokens", "access_token", store.Always); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "tokens", store.Item{Key: "access_token", Value: []byte("t2")}, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "tokens", "access_token"); err == nil {
		t.Fatal("Get on a closed store succeeded")
	}

	s, err = boltstore.Open(path, boltstore.WithTablePrefix("app1_"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	it, err := s.Get(ctx, "tokens", "access_token")
	if err != nil || string(it.Value) != "t2" {
		t.Fatalf("after reopen Get = %q, %v; want t2", it.Value, err)
	}
	v3, err := s.Put(ctx, "tokens", store.Item{Key: "access_token", Value: []byte("t3")}, store.IfVersion(it.Version))
	if err != nil || v3 <= it.Version || v3 <= v1 {
		t.Fatalf("Put after reopen = version %d, %v; want > %d", v3, err, it.Version)
	}

	other, err := boltstore.Open(path, boltstore.WithTablePrefix("app1_"), boltstore.WithLockTimeout(20*time.Millisecond))
	if err == nil {
		other.Close()
		t.Fatal("a second Open of a file in use succeeded")
	}
}

func TestPrefixesSeparateDeployments(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dingfn.db")
	a, err := boltstore.Open(path, boltstore.WithTablePrefix("prod_"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(ctx, "tokens", store.Item{Key: "k", Value: []byte("prod")}, store.Always); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := boltstore.Open(path, boltstore.WithTablePrefix("test_"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Get(ctx, "tokens", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("prefix test_ sees prod_'s token: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := boltstore.Open(""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open(\"\") = %v, want ErrInvalid", err)
	}
	if _, err := boltstore.Open(filepath.Join(t.TempDir(), "x.db"), boltstore.WithTablePrefix("bad-prefix")); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open with prefix bad-prefix = %v, want ErrInvalid", err)
	}
}

// An invalid option fails Open before anything is created on disk.
func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]boltstore.Option{
		"nil clock":         boltstore.WithClock(nil),
		"bad prefix":        boltstore.WithTablePrefix("bad-prefix"),
		"zero lock timeout": boltstore.WithLockTimeout(0),
	} {
		dir := filepath.Join(t.TempDir(), "sub")
		if s, err := boltstore.Open(filepath.Join(dir, "x.db"), opt); !errors.Is(err, store.ErrInvalid) || s != nil {
			t.Errorf("%s: got %v, %v; want ErrInvalid", name, s, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the store's directory exists after a failed Open (%v)", name, err)
		}
	}
}
