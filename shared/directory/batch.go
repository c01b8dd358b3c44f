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
		batch := make([]condWrite, len(idx))
		for j, i := range idx {
			batch[j] = condWrite{Item: ws[i].item, Delete: ws[i].del, Cond: ws[i].cond}
		}
		err := batchConditional(ctx, st, table, batch)
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

// condWrite is a store write with its condition.
type condWrite struct {
	Item   store.Item
	Delete bool
	Cond   store.Cond
}

// batchConditional applies writes with their conditions and reports the
// rows that failed in a *store.BatchError.
//
// TODO(g-store): store.Batch takes conditions once the groundwork lands;
// until then each row is its own conditional Put or Delete.
func batchConditional(ctx context.Context, st store.Store, table string, writes []condWrite) error {
	var be store.BatchError
	for i, w := range writes {
		var err error
		if w.Delete {
			err = st.Delete(ctx, table, w.Item.Key, w.Cond)
		} else {
			_, err = st.Put(ctx, table, w.Item, w.Cond)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			be.Failed = append(be.Failed, store.RowError{Index: i, Key: w.Item.Key, Err: err})
		}
	}
	if len(be.Failed) > 0 {
		return &be
	}
	return nil
}
