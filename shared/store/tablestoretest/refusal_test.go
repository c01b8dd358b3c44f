package tablestoretest

import (
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
)

// The checks every operation makes before touching a row come in a fixed
// order with fixed codes and messages: a request that breaks two rules is
// told about the first. The table "missing" does not exist, so a check that
// still answers ahead of OTSObjectNotExist is made before the table lookup.
func TestRequestRefusalOrder(t *testing.T) {
	e, err := newConfiguredEmulator(nil)
	if err != nil {
		t.Fatal(err)
	}
	tx := proto.String("")
	missing := proto.String("missing")
	getRows := func(tables ...*otsprotocol.TableInBatchGetRowRequest) *otsprotocol.BatchGetRowRequest {
		return &otsprotocol.BatchGetRowRequest{Tables: tables}
	}
	getTable := func(name string, keys int, token bool) *otsprotocol.TableInBatchGetRowRequest {
		tr := &otsprotocol.TableInBatchGetRowRequest{TableName: proto.String(name), PrimaryKey: make([][]byte, keys)}
		if token {
			tr.Token = [][]byte{{1}}
		}
		return tr
	}
	ignore := &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum()}
	writeTable := func(name string, rows int) *otsprotocol.TableInBatchWriteRowRequest {
		tr := &otsprotocol.TableInBatchWriteRowRequest{TableName: proto.String(name)}
		for range rows {
			tr.Rows = append(tr.Rows, &otsprotocol.RowInBatchWriteRowRequest{Type: otsprotocol.OperationType_PUT.Enum(), RowChange: []byte{}, Condition: ignore})
		}
		return tr
	}
	put := func(tx *string) *otsprotocol.PutRowRequest {
		return &otsprotocol.PutRowRequest{TableName: missing, Row: []byte{}, Condition: ignore, TransactionId: tx}
	}
	update := func(tx *string) *otsprotocol.UpdateRowRequest {
		return &otsprotocol.UpdateRowRequest{TableName: missing, RowChange: []byte{}, Condition: ignore, TransactionId: tx}
	}
	del := func(tx *string) *otsprotocol.DeleteRowRequest {
		return &otsprotocol.DeleteRowRequest{TableName: missing, PrimaryKey: []byte{}, Condition: ignore, TransactionId: tx}
	}
	getRange := func(tx *string) *otsprotocol.GetRangeRequest {
		return &otsprotocol.GetRangeRequest{TableName: missing, Direction: otsprotocol.Direction_FORWARD.Enum(),
			InclusiveStartPrimaryKey: []byte{}, ExclusiveEndPrimaryKey: []byte{}, Token: []byte{1}, TransactionId: tx}
	}
	const (
		txMsg    = "Local transactions are not supported by the emulator."
		tokenMsg = "Wide-row tokens are not supported by the emulator."
		dupMsg   = "Duplicated table name: 'a'."
	)
	for _, tc := range []struct {
		name, op string
		req      proto.Message
		code     string
		message  string
	}{
		{"put transaction", "PutRow", put(tx), "OTSUnsupportOperation", txMsg},
		{"update transaction", "UpdateRow", update(tx), "OTSUnsupportOperation", txMsg},
		{"delete transaction", "DeleteRow", del(tx), "OTSUnsupportOperation", txMsg},
		{"get transaction", "GetRow", &otsprotocol.GetRowRequest{TableName: missing, PrimaryKey: []byte{}, TransactionId: tx}, "OTSUnsupportOperation", txMsg},
		{"range transaction", "GetRange", getRange(tx), "OTSUnsupportOperation", txMsg},
		{"range token", "GetRange", getRange(nil), "OTSUnsupportOperation", tokenMsg},
		{"batch write transaction", "BatchWriteRow", &otsprotocol.BatchWriteRowRequest{TransactionId: tx, IsAtomic: proto.Bool(true)}, "OTSUnsupportOperation", txMsg},
		{"put missing table", "PutRow", put(nil), "OTSObjectNotExist", "Requested table does not exist."},
		{"update missing table", "UpdateRow", update(nil), "OTSObjectNotExist", "Requested table does not exist."},
		{"delete missing table", "DeleteRow", del(nil), "OTSObjectNotExist", "Requested table does not exist."},
		{"batch get duplicate before token", "BatchGetRow", getRows(getTable("a", 1, false), getTable("a", 1, true)), "OTSParameterInvalid", dupMsg},
		{"batch get token before duplicate", "BatchGetRow", getRows(getTable("a", 1, true), getTable("a", 1, false)), "OTSUnsupportOperation", tokenMsg},
		{"batch get token before no rows", "BatchGetRow", getRows(getTable("a", 0, true)), "OTSUnsupportOperation", tokenMsg},
		{"batch get no tables", "BatchGetRow", getRows(), "OTSParameterInvalid", "No row specified in the request of BatchGetRow."},
		{"batch get too many rows", "BatchGetRow", getRows(getTable("a", 60, false), getTable("b", 41, false)), "OTSParameterInvalid", "Rows count exceeds the upper limit: 100."},
		{"batch write duplicate", "BatchWriteRow", &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{writeTable("a", 0), writeTable("a", 1)}}, "OTSParameterInvalid", dupMsg},
		{"batch write no tables", "BatchWriteRow", &otsprotocol.BatchWriteRowRequest{}, "OTSParameterInvalid", "No row is specified in BatchWriteRow."},
		{"batch write table without rows", "BatchWriteRow", &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{writeTable("a", 1), writeTable("b", 0)}}, "OTSParameterInvalid", "No operation is specified for table: 'b'."},
		{"batch write too many rows", "BatchWriteRow", &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{writeTable("a", 150), writeTable("b", 51)}}, "OTSParameterInvalid", "Rows count exceeds the upper limit: 200."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := proto.Marshal(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			_, oerr := e.dispatch(tc.op, "inst", body)
			if oerr == nil {
				t.Fatalf("%s accepted", tc.op)
			}
			if oerr.code != tc.code || oerr.message != tc.message {
				t.Errorf("%s: got %s %q, want %s %q", tc.op, oerr.code, oerr.message, tc.code, tc.message)
			}
		})
	}
}
