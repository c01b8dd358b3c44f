//go:build (dingfn.fc || dingfn.lambda) && !dingfn.tablestore

package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
)

const tablestoreBuilt = false

func openTablestore(ctx context.Context, spec Spec) (store.Store, error) { return absent(ctx, spec) }
