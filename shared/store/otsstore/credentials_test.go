package otsstore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Function Compute rotates role credentials under a running instance; the
// client must sign with whatever the credentials function returns now.
func TestRotatedCredentialsAreFollowed(t *testing.T) {
	srv := tablestoretest.NewServer(tablestoretest.WithAccessKey("rotated-id", "rotated-secret"))
	t.Cleanup(srv.Close)
	var current atomic.Pointer[otsstore.Credentials]
	current.Store(&otsstore.Credentials{AccessKeyID: "expired-id", AccessKeySecret: "expired-secret"})
	client, err := otsstore.NewClientFunc(srv.URL, "inst", *current.Load(), func() otsstore.Credentials { return *current.Load() })
	require.NoError(t, err)
	st, err := otsstore.New(client)
	require.NoError(t, err)

	ctx := context.Background()
	_, err = st.Put(ctx, "t", store.Item{Key: "k", Value: []byte("v")}, store.Always)
	require.Error(t, err, "the emulator rejects the stale credentials")
	assert.NotContains(t, err.Error(), "expired-secret", "errors never carry the secret")

	current.Store(&otsstore.Credentials{AccessKeyID: "rotated-id", AccessKeySecret: "rotated-secret", SecurityToken: "sts"})
	_, err = st.Put(ctx, "t", store.Item{Key: "k", Value: []byte("v")}, store.Always)
	require.NoError(t, err, "the next request signs with the rotated credentials")
}
