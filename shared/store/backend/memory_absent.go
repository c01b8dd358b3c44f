//go:build (dingfn.fc || dingfn.lambda) && !dingfn.memory

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
)

const memoryBuilt = false

func openMemory(ctx context.Context, spec Spec) (store.Store, error) { return absent(ctx, spec) }
