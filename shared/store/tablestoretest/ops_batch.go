package tablestoretest

import (
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"

	pb "github.com/dingfn/dingfn/shared/store/tablestoretest/internal/plainbuf"
)

// maxBatchWriteBytes is the service's limit on the data of one
// BatchWriteRow: primary-key names and values, cell names and values, and
// 8 bytes of timestamp per cell.
const maxBatchWriteBytes = 4 << 20

// batchWriteRow applies each row on its own: a row whose condition fails
// reports OTSConditionCheckFail and the others are still written. Results
// come back per table and per row in request order. As on the service,
// what can be checked without the tables (names, primary-key and cell
// formats, sizes) fails the whole request; what depends on a table (its
// existence, its primary-key schema, conditions) fails only the row.
func (e *emulator) batchWriteRow(instance string, body []byte) (proto.Message, *otsError) {
	var req otsprotocol.BatchWriteRowRequest
	if oerr := unmarshal(body, &req); oerr != nil {
		return nil, oerr
	}
	if oerr := noTransaction(req.TransactionId); oerr != nil {
		return nil, oerr
	}
	if req.GetIsAtomic() {
		return nil, unsupported("Atomic BatchWriteRow is not supported by the emulator.")
	}
	if len(req.GetTables()) == 0 {
		return nil, invalid("No row is specified in BatchWriteRow.")
	}
	if oerr := checkBatchTables(req.GetTables(), maxBatchWriteRows, func(tr *otsprotocol.TableInBatchWriteRowRequest) (int, *otsError) {
		return len(tr.GetRows()), nil
	}); oerr != nil {
		return nil, oerr
	}
	for _, tr := range req.GetTables() {
		if len(tr.GetRows()) == 0 {
			return nil, invalid("No operation is specified for table: '%s'.", tr.GetTableName())
		}
		if oerr := checkTableName(tr.GetTableName()); oerr != nil {
			return nil, oerr
		}
	}
	size := 0
	for _, tr := range req.GetTables() {
		for _, rr := range tr.GetRows() {
			n, oerr := checkBatchRowFormat(rr)
			if oerr != nil {
				return nil, oerr
			}
			size += n
		}
	}
	if size > maxBatchWriteBytes {
		return nil, invalid("The total data size of BatchWriteRow request exceeds the limit, limit size: %d, data size: %d.", maxBatchWriteBytes, size)
	}

	// Plan every row against the state before the batch, reject the whole
	// request if two rows share a primary key (as the service does), then
	// commit the rows that passed in one go.
	type slot struct {
		p    planned
		oerr *otsError
	}
	results := make([][]slot, len(req.GetTables()))
	var ok []planned
	for ti, tr := range req.GetTables() {
		results[ti] = make([]slot, len(tr.GetRows()))
		t, toerr := e.table(instance, tr.GetTableName())
		keys := map[string]bool{}
		for ri, rr := range tr.GetRows() {
			s := &results[ti][ri]
			if toerr != nil {
				s.oerr = toerr
				continue
			}
			if key, kerr := batchRowKey(t, rr); kerr == nil && key != "" {
				if keys[key] {
					return nil, invalid("Duplicated primary key in table '%s'.", t.name)
				}
				keys[key] = true
			}
			if f, faulted := e.faults.next(rowFaultKey("BatchWriteRow")); faulted {
				s.oerr = &otsError{code: f.Code, message: f.Message}
				continue
			}
			switch rr.GetType() {
			case otsprotocol.OperationType_PUT:
				s.p, s.oerr = e.planPut(t, rr.GetRowChange(), rr.GetCondition(), rr.GetReturnContent())
			case otsprotocol.OperationType_UPDATE:
				s.p, s.oerr = e.planUpdate(t, rr.GetRowChange(), rr.GetCondition(), rr.GetReturnContent())
			case otsprotocol.OperationType_DELETE:
				s.p, s.oerr = e.planDelete(t, rr.GetRowChange(), rr.GetCondition(), rr.GetReturnContent())
			default:
				s.oerr = invalid("Invalid operation type %d.", rr.GetType())
			}
			if s.oerr == nil {
				ok = append(ok, s.p)
			}
		}
	}
	if oerr := e.apply(ok...); oerr != nil {
		return nil, oerr
	}

	resp := &otsprotocol.BatchWriteRowResponse{}
	for ti, tr := range req.GetTables() {
		out := &otsprotocol.TableInBatchWriteRowResponse{TableName: proto.String(tr.GetTableName())}
		for _, s := range results[ti] {
			if s.oerr != nil {
				out.Rows = append(out.Rows, &otsprotocol.RowInBatchWriteRowResponse{
					IsOk:  proto.Bool(false),
					Error: &otsprotocol.Error{Code: proto.String(s.oerr.code), Message: proto.String(s.oerr.message)},
				})
				continue
			}
			out.Rows = append(out.Rows, &otsprotocol.RowInBatchWriteRowResponse{
				IsOk:     proto.Bool(true),
				Consumed: consumed(0, s.p.writeCU),
				Row:      s.p.ret,
			})
		}
		resp.Tables = append(resp.Tables, out)
	}
	return resp, nil
}

// checkBatchTables checks the tables of a batch request in order: each
// named once, rows (which also refuses what the operation cannot do with a
// table) counting its rows, and the rows of all tables together at most
// limit.
func checkBatchTables[T interface{ GetTableName() string }](tables []T, limit int, rows func(T) (int, *otsError)) *otsError {
	total := 0
	seen := map[string]bool{}
	for _, tr := range tables {
		if seen[tr.GetTableName()] {
			return invalid("Duplicated table name: '%s'.", tr.GetTableName())
		}
		seen[tr.GetTableName()] = true
		n, oerr := rows(tr)
		if oerr != nil {
			return oerr
		}
		total += n
	}
	if total > limit {
		return invalid("Rows count exceeds the upper limit: %d.", limit)
	}
	return nil
}

// checkBatchRowFormat decodes a row of a BatchWriteRow and checks what does
// not depend on its table, returning the bytes it counts towards
// maxBatchWriteBytes.
func checkBatchRowFormat(rr *otsprotocol.RowInBatchWriteRowRequest) (int, *otsError) {
	r, err := pb.DecodeRow(rr.GetRowChange())
	if err != nil {
		return 0, invalid("Invalid row change: %v.", err)
	}
	mode := pkExact
	if rr.GetType() == otsprotocol.OperationType_PUT {
		mode = pkPut
	}
	if oerr := checkPKFormat(r.PrimaryKey, mode); oerr != nil {
		return 0, oerr
	}
	if oerr := checkCellsFormat(r.Cells); oerr != nil {
		return 0, oerr
	}
	n := 0
	for _, c := range r.PrimaryKey {
		n += len(c.Name) + valueBytes(*c.Value)
	}
	for _, c := range r.Cells {
		n += len(c.Name) + 8
		if c.Value != nil {
			n += valueBytes(*c.Value)
		}
	}
	return n, nil
}

// batchRowKey extracts the concrete primary key of a batch row, "" when it
// cannot (the row's own planning then reports why) or when the key is
// generated by AUTO_INCREMENT.
func batchRowKey(t *table, rr *otsprotocol.RowInBatchWriteRowRequest) (string, *otsError) {
	r, err := pb.DecodeRow(rr.GetRowChange())
	if err != nil {
		return "", invalid("%v", err)
	}
	pk, oerr := t.checkPK(r.PrimaryKey, pkPut)
	if oerr != nil {
		return "", oerr
	}
	for _, v := range pk {
		if v.Type == pb.AutoIncrement {
			return "", nil
		}
	}
	return rowKey(pk), nil
}
