package otsstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two deployments of one app with different prefixes on one instance share
// the tables named shared and nothing else.
func TestSharedTables(t *testing.T) {
	srv := tablestoretest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.NewClient("inst")
	prod, err := otsstore.New(client, otsstore.WithTablePrefix("dingfn_prod_"), otsstore.WithSharedTables("tokens"))
	require.NoError(t, err)
	staging, err := otsstore.New(client, otsstore.WithTablePrefix("dingfn_staging_"), otsstore.WithSharedTables("tokens"))
	require.NoError(t, err)
	assert.Equal(t, "dingfn_tokens", prod.TableName("tokens"))
	assert.Equal(t, "dingfn_prod_events", prod.TableName("events"))

	ctx := context.Background()
	_, err = prod.Put(ctx, "tokens", store.Item{Key: "access_token/app", Value: []byte(`{"v":1}`)}, store.IfAbsent)
	require.NoError(t, err)
	got, err := staging.Get(ctx, "tokens", "access_token/app")
	require.NoError(t, err, "staging reads the token production wrote")
	assert.Equal(t, `{"v":1}`, string(got.Value))
	_, err = staging.Put(ctx, "tokens", store.Item{Key: "access_token/app", Value: []byte(`{"v":2}`)}, store.IfAbsent)
	assert.True(t, errors.Is(err, store.ErrConflict), "one copy: staging cannot create a second token")

	_, err = prod.Put(ctx, "events", store.Item{Key: "e1", Value: []byte(`{}`)}, store.Always)
	require.NoError(t, err)
	_, err = staging.Get(ctx, "events", "e1")
	assert.True(t, errors.Is(err, store.ErrNotFound), "other tables stay per deployment")
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	srv := tablestoretest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.NewClient("inst")
	for name, opt := range map[string]otsstore.Option{
		"nil clock":          otsstore.WithClock(nil),
		"bad prefix":         otsstore.WithTablePrefix("bad-prefix"),
		"bad shared table":   otsstore.WithSharedTables("Tokens"),
		"nil logger":         otsstore.WithLogger(nil),
		"zero ready timeout": otsstore.WithTableReadyTimeout(0),
	} {
		s, err := otsstore.New(client, opt)
		assert.ErrorIs(t, err, store.ErrInvalid, name)
		assert.Nil(t, s, name)
	}
}
