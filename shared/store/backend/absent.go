package backend

import (
	"context"

	"github.com/dingfn/dingfn/shared/store"
)

// absent stands for the open function of a backend this build leaves out;
// lookup refuses such a kind before calling it.
func absent(context.Context, Spec) (store.Store, error) {
	panic("backend: opening a store this build leaves out")
}
