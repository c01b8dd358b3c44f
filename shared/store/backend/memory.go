//go:build !(dingfn.fc || dingfn.lambda) || dingfn.memory

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

const memoryBuilt = true

func openMemory(_ context.Context, spec Spec) (store.Store, error) {
	opts := []memstore.Option{memstore.WithTablePrefix(spec.prefix())}
	if spec.Clock != nil {
		opts = append(opts, memstore.WithClock(spec.Clock))
	}
	return memstore.New(opts...)
}
