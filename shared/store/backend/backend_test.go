package backend_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/backend"
	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// roundTrip writes through one opened store and reads back through the
// raw backend where it can, proving Open wired the right one.
func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Put(ctx, "tokens", store.Item{Key: "k", Value: []byte("v")}, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	it, err := s.Get(ctx, "tokens", "k")
	if err != nil || string(it.Value) != "v" {
		t.Fatalf("Get = %+v, %v", it, err)
	}
}

func TestOpen(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		s, err := backend.Open(t.Context(), backend.Spec{Kind: backend.Memory})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		roundTrip(t, s)
	})
	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ".dingfn", "dingfn.db")
		s, err := backend.Open(t.Context(), backend.Spec{Kind: backend.Bolt, Path: path, TablePrefix: "dev_"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		roundTrip(t, s)
	})
	t.Run("tablestore", func(t *testing.T) {
		// The emulator checks the request signature, so a spec whose
		// credentials were not passed through would fail here.
		srv := tablestoretest.NewServer(tablestoretest.WithAccessKey("test-id", "test-secret"))
		defer srv.Close()
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		s, err := backend.Open(t.Context(), backend.Spec{
			Kind: backend.Tablestore, Endpoint: srv.URL, Instance: "inst",
			AccessKeyID: "test-id", AccessKeySecret: "test-secret", SecurityToken: "test-sts",
			TablePrefix: "stage_", Clock: func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		roundTrip(t, s)
		// The table carries the prefix, on the instance named in the spec.
		raw := tablestore.NewClient(srv.URL, "inst", "test-id", "test-secret")
		list, err := raw.ListTable()
		if err != nil || len(list.TableNames) != 1 || list.TableNames[0] != "stage_tokens" {
			t.Fatalf("tables on the instance = %v, %v; want [stage_tokens]", list, err)
		}
	})
	t.Run("redis", func(t *testing.T) {
		// The fake checks the password, so a spec whose password was not
		// passed through would fail here.
		m := redistest.NewServer(t)
		m.RequireAuth("test-redis-password")
		s, err := backend.Open(t.Context(), backend.Spec{
			Kind: backend.Redis, URL: "redis://" + m.Addr() + "/2", Password: "test-redis-password",
			TablePrefix: "stage_", SharedTables: []string{"tokens"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		roundTrip(t, s)
		if _, err := s.Put(t.Context(), "events", store.Item{Key: "e", Value: []byte("v")}, store.Always); err != nil {
			t.Fatal(err)
		}
		// The shared token table keeps the default prefix, the others
		// carry the deployment's, in the database the URL names.
		m.Select(2)
		for _, k := range []string{"{dingfn_tokens}:row:k", "{stage_events}:row:e"} {
			if !m.Exists(k) {
				t.Errorf("key %s missing; keys in db 2: %q", k, m.Keys())
			}
		}
	})
}

func TestOpenRejectsBadSpecs(t *testing.T) {
	for _, c := range []struct {
		name string
		spec backend.Spec
	}{
		{"unknown kind", backend.Spec{Kind: "mongodb"}},
		{"redis without URL", backend.Spec{Kind: backend.Redis}},
		{"redis with a bad URL", backend.Spec{Kind: backend.Redis, URL: "redis://h:1/0?colour=blue"}},
		{"redis with two passwords", backend.Spec{Kind: backend.Redis, URL: "redis://:a@h:1/0", Password: "b"}},
		{"empty kind", backend.Spec{}},
		{"bolt without path", backend.Spec{Kind: backend.Bolt}},
		{"bad prefix", backend.Spec{Kind: backend.Memory, TablePrefix: "my-app"}},
		{"tablestore without endpoint", backend.Spec{Kind: backend.Tablestore, Instance: "i", AccessKeyID: "a", AccessKeySecret: "s"}},
		{"tablestore without credentials", backend.Spec{Kind: backend.Tablestore, Endpoint: "https://i.cn-hangzhou.ots.aliyuncs.com", Instance: "i"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := backend.Open(t.Context(), c.spec)
			if !errors.Is(err, store.ErrInvalid) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open(%v) = %v, want ErrInvalid", c.spec, err)
			}
		})
	}
}

func TestSpecStringHidesSecrets(t *testing.T) {
	for _, spec := range []backend.Spec{
		{Kind: backend.Tablestore, Endpoint: "https://i.ots.aliyuncs.com", Instance: "i", AccessKeyID: "id", AccessKeySecret: "very-secret", SecurityToken: "sts-secret"},
		{Kind: backend.Redis, URL: "redis://user:very-secret@h:6379/0"},
		{Kind: backend.Redis, URL: "redis://user@h:6379/0", Password: "very-secret"},
	} {
		for _, s := range []string{spec.String(), fmt.Sprint(spec), fmt.Sprintf("%+v", spec), fmt.Sprintf("%#v", spec)} {
			if strings.Contains(s, "very-secret") || strings.Contains(s, "sts-secret") {
				t.Fatalf("Spec prints a secret: %s", s)
			}
		}
	}
	if s := (backend.Spec{Kind: backend.Redis, URL: "redis://user:very-secret@h:6379/0"}).String(); !strings.Contains(s, "redis://user:xxxxx@h:6379/0") {
		t.Errorf("Spec = %s, want the redacted URL", s)
	}
}

func TestOpenTablestoreWithWrongSecretFails(t *testing.T) {
	srv := tablestoretest.NewServer(tablestoretest.WithAccessKey("test-id", "test-secret"))
	defer srv.Close()
	s, err := backend.Open(t.Context(), backend.Spec{Kind: backend.Tablestore, Endpoint: srv.URL, Instance: "inst", AccessKeyID: "test-id", AccessKeySecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(t.Context(), "tokens", "k"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get with a wrong secret = %v, want an authentication error", err)
	}
}
