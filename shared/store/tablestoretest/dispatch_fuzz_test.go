package tablestoretest

import (
	"net/http"
	"slices"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
)

// Whatever the body, an operation answers with a response or a 4xx error:
// never a panic and never a 500, which would mean the emulator rather than
// the request is at fault.
func FuzzDispatch(f *testing.F) {
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("pk", "k")
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk}
	put.AddColumn("v", int64(1))
	upd := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: pk}
	upd.IncrementColumn("v", 1)
	upd.DeleteColumn("w")
	cond := tablestore.NewSingleColumnCondition("v", tablestore.CT_EQUAL, int64(1))
	filter := cond.Serialize()
	ignore := &otsprotocol.Condition{RowExistence: otsprotocol.RowExistenceExpectation_IGNORE.Enum(), ColumnCondition: filter}
	max := new(tablestore.PrimaryKey)
	max.AddPrimaryKeyColumnWithMaxValue("pk")
	ops := slices.Sorted(func(yield func(string) bool) {
		for op := range handlers {
			if !yield(op) {
				return
			}
		}
	})
	seeds := map[string]proto.Message{
		"PutRow":    &otsprotocol.PutRowRequest{TableName: proto.String("t"), Row: put.Serialize(), Condition: ignore},
		"UpdateRow": &otsprotocol.UpdateRowRequest{TableName: proto.String("t"), RowChange: upd.Serialize(), Condition: ignore},
		"DeleteRow": &otsprotocol.DeleteRowRequest{TableName: proto.String("t"), PrimaryKey: pk.Build(true), Condition: ignore},
		"GetRow":    &otsprotocol.GetRowRequest{TableName: proto.String("t"), PrimaryKey: pk.Build(false), MaxVersions: proto.Int32(1), Filter: filter},
		"GetRange": &otsprotocol.GetRangeRequest{TableName: proto.String("t"), Direction: otsprotocol.Direction_FORWARD.Enum(),
			MaxVersions: proto.Int32(1), InclusiveStartPrimaryKey: pk.Build(false), ExclusiveEndPrimaryKey: max.Build(false)},
		"BatchWriteRow": &otsprotocol.BatchWriteRowRequest{Tables: []*otsprotocol.TableInBatchWriteRowRequest{{
			TableName: proto.String("t"),
			Rows: []*otsprotocol.RowInBatchWriteRowRequest{
				{Type: otsprotocol.OperationType_PUT.Enum(), RowChange: put.Serialize(), Condition: ignore},
				{Type: otsprotocol.OperationType_UPDATE.Enum(), RowChange: upd.Serialize(), Condition: ignore},
			},
		}}},
		"BatchGetRow": &otsprotocol.BatchGetRowRequest{Tables: []*otsprotocol.TableInBatchGetRowRequest{{
			TableName: proto.String("t"), PrimaryKey: [][]byte{pk.Build(false)}, MaxVersions: proto.Int32(1),
		}}},
		"DescribeTable": &otsprotocol.DescribeTableRequest{TableName: proto.String("t")},
	}
	for i, op := range ops {
		if m, ok := seeds[op]; ok {
			b, err := proto.Marshal(m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), b)
		}
	}
	e, err := newConfiguredEmulator(nil)
	if err != nil {
		f.Fatal(err)
	}
	create, _ := proto.Marshal(&otsprotocol.CreateTableRequest{
		TableMeta: &otsprotocol.TableMeta{TableName: proto.String("t"), PrimaryKey: []*otsprotocol.PrimaryKeySchema{
			{Name: proto.String("pk"), Type: otsprotocol.PrimaryKeyType_STRING.Enum()},
		}},
		ReservedThroughput: &otsprotocol.ReservedThroughput{CapacityUnit: &otsprotocol.CapacityUnit{}},
	})
	if _, oerr := e.dispatch("CreateTable", "inst", create); oerr != nil {
		f.Fatal(oerr)
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		op := ops[int(opIndex)%len(ops)]
		if op == "DeleteTable" {
			return // would only make every later input miss the table
		}
		resp, oerr := e.dispatch(op, "inst", body)
		if oerr != nil {
			if oerr.status >= http.StatusInternalServerError {
				t.Fatalf("%s: %d %s", op, oerr.status, oerr)
			}
			return
		}
		if _, err := proto.Marshal(resp); err != nil {
			t.Fatalf("%s: response does not encode: %v", op, err)
		}
	})
}
