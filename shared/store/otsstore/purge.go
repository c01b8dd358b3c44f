package otsstore

import (
	"context"
	"fmt"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store"
)

var _ store.Purger = (*Store)(nil)

// Purge implements store.Purger: it reads the expires_at column of the
// whole table and deletes expired rows in BatchWriteRow requests whose row
// condition is "expires_at <= now", so a row renewed since it was read
// survives. Tablestore's own TTL cannot do this: it is at least a day and
// counts from the last write, not from the item's expiry.
func (s *Store) Purge(ctx context.Context, table string) (int, error) {
	if err := store.CheckTable(table); err != nil {
		return 0, err
	}
	name := s.TableName(table)
	start := &tablestore.PrimaryKey{}
	start.AddPrimaryKeyColumnWithMinValue(ColKey)
	end := &tablestore.PrimaryKey{}
	end.AddPrimaryKeyColumnWithMaxValue(ColKey)
	purged := 0
	for start != nil {
		req := &tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
			TableName:       name,
			StartPrimaryKey: start,
			EndPrimaryKey:   end,
			ColumnsToGet:    []string{ColExpiresAt},
			MaxVersion:      1,
			Direction:       tablestore.FORWARD,
			Limit:           store.MaxLimit,
		}}
		resp, err := call(ctx, func() (*tablestore.GetRangeResponse, error) { return s.client.GetRange(req) })
		if isCode(err, codeNotExist) {
			return purged, nil
		}
		if err != nil {
			return purged, fmt.Errorf("otsstore: purge %s: %w", name, err)
		}
		// One instant for the page: the rows judged expired here are the
		// ones the delete condition below finds expired.
		now := s.clock()
		var expired []string
		for _, rw := range resp.Rows {
			key, ok := keyOf(rw.PrimaryKey)
			if ok && !store.Live(decodeColumns(rw.Columns).expires, now) {
				expired = append(expired, key)
			}
		}
		for i := 0; i < len(expired); i += maxBatchRows {
			n, err := s.deleteExpired(ctx, table, expired[i:min(i+maxBatchRows, len(expired))], now.UnixMilli())
			purged += n
			if err != nil {
				return purged, fmt.Errorf("otsstore: purge %s: %w", name, err)
			}
		}
		start = resp.NextStartPrimaryKey
	}
	return purged, nil
}

func (s *Store) deleteExpired(ctx context.Context, table string, keys []string, nowMs int64) (int, error) {
	req := &tablestore.BatchWriteRowRequest{}
	for _, k := range keys {
		d := &tablestore.DeleteRowChange{TableName: s.TableName(table), PrimaryKey: pk(k)}
		d.Condition = rowCondition(store.IfAbsent, 0, nowMs)
		req.AddRowChange(d)
	}
	resp, err := call(ctx, func() (*tablestore.BatchWriteRowResponse, error) { return s.client.BatchWriteRow(req) })
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range resp.TableToRowsResult[s.TableName(table)] {
		switch {
		case r.IsSucceed:
			n++
		case r.Error.Code == codeConditionFail:
			// Renewed since it was read: keep it.
		default:
			return n, &tablestore.OtsError{Code: r.Error.Code, Message: r.Error.Message}
		}
	}
	return n, nil
}
