//go:build !(dingfn.fc || dingfn.lambda) || dingfn.redis

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/redisstore"
)

const redisBuilt = true

func checkRedis(spec Spec) error {
	_, err := redisstore.ParseURL(spec.URL, spec.Password)
	return err
}

func openRedis(ctx context.Context, spec Spec) (store.Store, error) {
	o, err := redisstore.ParseURL(spec.URL, spec.Password)
	if err != nil {
		return nil, err
	}
	opts := []redisstore.Option{redisstore.WithTablePrefix(spec.prefix()), redisstore.WithSharedTables(spec.SharedTables...)}
	if spec.Clock != nil {
		opts = append(opts, redisstore.WithClock(spec.Clock))
	}
	if spec.Logger != nil {
		opts = append(opts, redisstore.WithLogger(spec.Logger))
	}
	return redisstore.Open(ctx, o, opts...)
}
