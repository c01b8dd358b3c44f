//go:build (dingfn.fc || dingfn.lambda) && !dingfn.redis

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
)

const redisBuilt = false

func openRedis(ctx context.Context, spec Spec) (store.Store, error) { return absent(ctx, spec) }

func checkRedis(Spec) error { return nil }
