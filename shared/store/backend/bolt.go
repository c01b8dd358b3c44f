//go:build !(dingfn.fc || dingfn.lambda) || dingfn.bolt

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/boltstore"
)

const boltBuilt = true

func openBolt(_ context.Context, spec Spec) (store.Store, error) {
	opts := []boltstore.Option{boltstore.WithTablePrefix(spec.prefix())}
	if spec.Clock != nil {
		opts = append(opts, boltstore.WithClock(spec.Clock))
	}
	return boltstore.Open(spec.Path, opts...)
}
