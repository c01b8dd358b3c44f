package directory

import (
	"context"
	"errors"

	"github.com/dingfn/dingfn/shared/store"
)

// rowWrite is one conditional write of a sync batch.
type rowWrite struct {
	table string
	item  store.Item
	del   bool
	cond  store.Cond
}

// writeRows applies ws, grouped by table in conditional batches, and
// returns for each write nil, an error matching store.ErrConflict when its
// condition failed (another writer got there first), or another error. A
// failure of the whole call is returned as err.
func writeRows(ctx context.Context, st store.Store, ws []rowWrite) (rowErrs []error, err error) {
	rowErrs = make([]error, len(ws))
	byTable := map[string][]int{}
	var order []string
	for i, w := range ws {
		if _, ok := byTable[w.table]; !ok {
			order = append(order, w.table)
		}
		byTable[w.table] = append(byTable[w.table], i)
	}
	for _, table := range order {
		idx := byTable[table]
		batch := make([]store.Write, len(idx))
		for j, i := range idx {
			batch[j] = store.Write{Item: ws[i].item, Delete: ws[i].del, Cond: ws[i].cond}
		}
		err := st.Batch(ctx, table, batch)
		var be *store.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			for _, f := range be.Failed {
				rowErrs[idx[f.Index]] = f.Err
			}
		default:
			return nil, err
		}
	}
	return rowErrs, nil
}
