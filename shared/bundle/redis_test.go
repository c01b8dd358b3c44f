package bundle

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore/redistest"
	"github.com/dingfn/dingfn/shared/token"
)

// testRedisPassword is made up; the tests check it never appears.
const testRedisPassword = "made-up-redis-password"

func load(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	env["DINGTALK_APP_KEY"], env["DINGTALK_APP_SECRET"] = "dingtestapp", "test-app-secret"
	cfg, err := config.Load(config.TokenRefresher, func(k string) string { return env[k] })
	require.NoError(t, err)
	return cfg
}

// A Redis that does not answer stops the function at start with a
// message naming DINGFN_STORE, the server, and never the password.
func TestOpenUnreachableRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	for name, env := range map[string]map[string]string{
		"password in the URL":      {"DINGFN_STORE": "redis://:" + testRedisPassword + "@" + addr + "/0"},
		"password in the variable": {"DINGFN_STORE": "redis://" + addr + "/0", "DINGFN_REDIS_PASSWORD": testRedisPassword},
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := Open(ctx, load(t, env), slog.New(slog.NewTextHandler(&logs, nil)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "DINGFN_STORE")
			assert.Contains(t, err.Error(), addr)
			assert.NotContains(t, err.Error(), testRedisPassword)
			assert.NotContains(t, logs.String(), testRedisPassword)
		})
	}
}

func TestOpenWrongRedisPassword(t *testing.T) {
	m := redistest.NewServer(t)
	m.RequireAuth(testRedisPassword)
	_, err := Open(t.Context(), load(t, map[string]string{
		"DINGFN_STORE": "redis://" + m.Addr() + "/0", "DINGFN_REDIS_PASSWORD": "wrong-" + testRedisPassword,
	}), slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DINGFN_STORE")
	assert.NotContains(t, err.Error(), testRedisPassword)
}

// The bundle opens Redis with the deployment's prefix and keeps the token
// table shared, as on Tablestore.
func TestOpenRedis(t *testing.T) {
	m := redistest.NewServer(t)
	m.RequireAuth(testRedisPassword)
	b, err := Open(t.Context(), load(t, map[string]string{
		"DINGFN_STORE": "redis://" + m.Addr() + "/0", "DINGFN_REDIS_PASSWORD": testRedisPassword, "DINGFN_TABLE_PREFIX": "dingfn_staging_",
	}), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer b.Close()
	ctx := t.Context()
	_, err = b.Store.Put(ctx, token.DefaultTable, store.Item{Key: "k", Value: []byte("v")}, store.Always)
	require.NoError(t, err)
	_, err = b.Store.Put(ctx, "events", store.Item{Key: "k", Value: []byte("v")}, store.Always)
	require.NoError(t, err)
	var tags []string
	for _, k := range m.Keys() {
		tag, _, _ := strings.Cut(k, ":")
		tags = append(tags, tag)
	}
	assert.Contains(t, tags, "{dingfn_"+token.DefaultTable+"}")
	assert.Contains(t, tags, "{dingfn_staging_events}")
}
