//go:build (dingfn.fc || dingfn.lambda) && !dingfn.bolt

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
)

const boltBuilt = false

func openBolt(ctx context.Context, spec Spec) (store.Store, error) { return absent(ctx, spec) }
