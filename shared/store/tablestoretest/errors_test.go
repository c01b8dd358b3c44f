package tablestoretest_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// The emulator's error answers, pinned request by request. Each code,
// HTTP status and message is the service's, as its error-code reference
// (https://help.aliyun.com/document_detail/27300.html) and the official
// SDKs' function tests against the service record them:
// aliyun-tablestore-java-sdk functiontest/{DataOperationTest,
// ParameterLegalityTest, RestrictedItemTest}.java and
// model/UnifiedFilterRestrictionAndParamCheckingTest.java, and
// aliyun-tablestore-python-sdk tests/{row_op_test,table_operation_test,
// filter_and_condition_update_unitttest}.py. Requests that check only what
// the emulator leaves out (transactions, wide-row tokens, indexes) answer
// OTSUnsupportOperation with the emulator's own words; refusal_test.go
// pins those.

// wantOTS is an expected error answer.
type wantOTS struct {
	status  int
	code    string
	message string
}

func checkOTS(t *testing.T, err error, want wantOTS) {
	t.Helper()
	var oe *tablestore.OtsError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want %s %q", err, want.code, want.message)
	}
	if oe.HttpStatusCode != want.status || oe.Code != want.code || oe.Message != want.message {
		t.Errorf("got %d %s %q, want %d %s %q", oe.HttpStatusCode, oe.Code, oe.Message, want.status, want.code, want.message)
	}
}

func pkOf(cols ...any) *tablestore.PrimaryKey {
	p := new(tablestore.PrimaryKey)
	for i := 0; i+1 < len(cols); i += 2 {
		switch v := cols[i+1]; v {
		case tablestore.MIN:
			p.AddPrimaryKeyColumnWithMinValue(cols[i].(string))
		case tablestore.MAX:
			p.AddPrimaryKeyColumnWithMaxValue(cols[i].(string))
		default:
			p.AddPrimaryKeyColumn(cols[i].(string), v)
		}
	}
	return p
}

func putChange(table string, pk *tablestore.PrimaryKey, cols ...any) *tablestore.PutRowChange {
	ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: pk}
	for i := 0; i+1 < len(cols); i += 2 {
		ch.AddColumn(cols[i].(string), cols[i+1])
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	return ch
}

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t") // pk STRING
	createTable(t, c, "bin", &tablestore.PrimaryKeySchema{Name: ptr("pk"), Type: ptr(tablestore.PrimaryKeyType_BINARY)})
	createTable(t, c, "two",
		&tablestore.PrimaryKeySchema{Name: ptr("PK1"), Type: ptr(tablestore.PrimaryKeyType_STRING)},
		&tablestore.PrimaryKeySchema{Name: ptr("PK2"), Type: ptr(tablestore.PrimaryKeyType_INTEGER)})
	put(t, c, "t", "present", "v", "x")

	invalidPK := func(msg string) wantOTS { return wantOTS{http.StatusBadRequest, "OTSInvalidPK", msg} }
	invalidParam := func(msg string) wantOTS { return wantOTS{http.StatusBadRequest, "OTSParameterInvalid", msg} }

	putRow := func(table string, pk *tablestore.PrimaryKey, cols ...any) func() error {
		return func() error {
			_, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: putChange(table, pk, cols...)})
			return err
		}
	}
	getRow := func(table string, pk *tablestore.PrimaryKey, columns ...string) func() error {
		return func() error {
			_, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: table, PrimaryKey: pk, MaxVersion: 1, ColumnsToGet: columns}})
			return err
		}
	}
	updateRow := func(table string, pk *tablestore.PrimaryKey) func() error {
		return func() error {
			ch := &tablestore.UpdateRowChange{TableName: table, PrimaryKey: pk}
			ch.PutColumn("v", "y")
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			_, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch})
			return err
		}
	}
	deleteRow := func(table string, pk *tablestore.PrimaryKey, exist tablestore.RowExistenceExpectation) func() error {
		return func() error {
			ch := &tablestore.DeleteRowChange{TableName: table, PrimaryKey: pk}
			ch.SetCondition(exist)
			_, err := c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: ch})
			return err
		}
	}
	getRange := func(table string, dir tablestore.Direction, start, end *tablestore.PrimaryKey, limit int32, filter tablestore.ColumnFilter) func() error {
		return func() error {
			_, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
				TableName: table, StartPrimaryKey: start, EndPrimaryKey: end, Direction: dir, MaxVersion: 1, Limit: limit, Filter: filter}})
			return err
		}
	}
	batchWrite := func(changes ...tablestore.RowChange) func() error {
		return func() error {
			req := new(tablestore.BatchWriteRowRequest)
			for _, ch := range changes {
				req.AddRowChange(ch)
			}
			_, err := c.BatchWriteRow(req)
			return err
		}
	}
	createTableReq := func(name string, pks ...string) func() error {
		return func() error {
			meta := &tablestore.TableMeta{TableName: name}
			for _, p := range pks {
				meta.AddPrimaryKeyColumn(p, tablestore.PrimaryKeyType_STRING)
			}
			_, err := c.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}})
			return err
		}
	}
	wrongName := pkOf("other", "x")
	leaf := tablestore.NewSingleColumnCondition("v", tablestore.CT_EQUAL, "x")
	thirtyThree := tablestore.NewCompositeColumnCondition(tablestore.LO_OR)
	for range 32 {
		thirtyThree.AddFilter(leaf)
	}
	manyColumns := make([]any, 0, 2*1025)
	columnsToGet := make([]string, 0, 1025)
	for i := range 1025 {
		manyColumns = append(manyColumns, fmt.Sprintf("c%04d", i), int64(i))
		columnsToGet = append(columnsToGet, fmt.Sprintf("c%04d", i))
	}
	futureTS := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pkOf("pk", "ts")}
	futureTS.AddColumnWithTimestamp("v", "x", math.MaxInt64/1000)
	futureTS.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	expectExist := putChange("t", pkOf("pk", "absent"), "v", "x")
	expectExist.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	// Three rows of 1,398,103 + 1,398,101 + 1,398,101 data bytes: one byte
	// over the 4 MB of a BatchWriteRow.
	var bigRows []tablestore.RowChange
	for i, n := range []int{1397945, 1397943, 1397943} {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pkOf("pk", fmt.Sprintf("%s%02d", strings.Repeat("v", 96), i))}
		ch.AddColumnWithTimestamp(strings.Repeat("k", 50), strings.Repeat("a", n), time.Now().UnixMilli())
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		bigRows = append(bigRows, ch)
	}
	var tooManyWrites []tablestore.RowChange
	for i := range 201 {
		tooManyWrites = append(tooManyWrites, putChange("t", pkOf("pk", fmt.Sprint(i)), "v", "x"))
	}
	tooManyGets := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	for i := range 101 {
		tooManyGets.AddRow(pkOf("pk", fmt.Sprint(i)))
	}

	for _, tc := range []struct {
		name string
		do   func() error
		want wantOTS
	}{
		// A key that does not fit the table: OTSInvalidPK, in every operation.
		{"put: pk name", putRow("t", wrongName, "v", "x"), invalidPK("Validate PK name fail. Input: other, Meta: pk.")},
		{"get: pk name", getRow("t", wrongName), invalidPK("Validate PK name fail. Input: other, Meta: pk.")},
		{"update: pk name", updateRow("t", wrongName), invalidPK("Validate PK name fail. Input: other, Meta: pk.")},
		{"delete: pk name", deleteRow("t", wrongName, tablestore.RowExistenceExpectation_IGNORE), invalidPK("Validate PK name fail. Input: other, Meta: pk.")},
		{"range: pk name", getRange("t", tablestore.FORWARD, wrongName, pkOf("other", tablestore.MAX), 0, nil), invalidPK("Validate PK name fail. Input: other, Meta: pk.")},
		{"put: pk type", putRow("t", pkOf("pk", int64(1)), "v", "x"), invalidPK("Validate PK type fail. Input: VT_INTEGER, Meta: VT_STRING.")},
		{"get: pk type binary", getRow("bin", pkOf("pk", "s")), invalidPK("Validate PK type fail. Input: VT_STRING, Meta: VT_BLOB.")},
		{"put: pk too few", putRow("two", pkOf("PK1", "a"), "v", "x"), invalidPK("Validate PK size fail. Input: 1, Meta: 2.")},
		{"get: pk too many", getRow("two", pkOf("PK1", "a", "PK2", int64(1), "PK3", "c")), invalidPK("Validate PK size fail. Input: 3, Meta: 2.")},
		{"put: pk order", putRow("two", pkOf("PK2", int64(1), "PK1", "a"), "v", "x"), invalidPK("Validate PK name fail. Input: PK2, Meta: PK1.")},
		// A key no table could take: OTSParameterInvalid.
		{"put: five pk columns", putRow("t", pkOf("a", "1", "b", "2", "c", "3", "d", "4", "e", "5"), "v", "x"), invalidParam("The number of primary key columns must be in range: [1, 4].")},
		{"get: pk too long", getRow("t", pkOf("pk", strings.Repeat("x", 1025))), invalidParam("The length of primary key column: 'pk' exceeds the MaxLength:1024 with CurrentLength:1025.")},
		{"delete: INF_MIN key", deleteRow("t", pkOf("pk", tablestore.MIN), tablestore.RowExistenceExpectation_IGNORE), invalidParam("VT_INF_MIN is an invalid type for the primary key.")},
		// The Go SDK sends INF_MIN in a put as the AUTO_INCREMENT
		// placeholder, which only an AUTO_INCREMENT column takes. (The
		// message follows the other type checks; no SDK test records it.)
		{"put: AUTO_INCREMENT placeholder", putRow("t", pkOf("pk", tablestore.MIN), "v", "x"), invalidPK("Validate PK type fail. Input: VT_AUTO_INCREMENT, Meta: VT_STRING.")},
		{"get: INF_MAX key", getRow("t", pkOf("pk", tablestore.MAX)), invalidParam("VT_INF_MAX is an invalid type for the primary key.")},
		// Names, sizes and counts.
		{"put: table name", putRow("3t", pkOf("pk", "k"), "v", "x"), invalidParam("Invalid table name: '3t'.")},
		{"put: column name", putRow("t", pkOf("pk", "k"), "#abc", "x"), invalidParam("Invalid column name: '#abc'.")},
		{"put: cell too long", putRow("t", pkOf("pk", "k"), "v", strings.Repeat("x", 2<<20+1)), invalidParam("The length of attribute column: 'v' exceeds the MaxLength:2097152 with CurrentLength:2097153.")},
		{"put: 1025 columns", putRow("t", pkOf("pk", "k"), manyColumns...), invalidParam("The number of attribute columns exceeds the limit, limit count: 1024, column count: 1025.")},
		{"get: 1025 columns", getRow("t", pkOf("pk", "k"), columnsToGet...), invalidParam("The number of columns from the request exceeds the limit, limit count: 1024, column count: 1025.")},
		{"put: timestamp", func() error { _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: futureTS}); return err }, invalidParam("Timestamp must be in range [0, INT64_MAX/1000).")},
		{"range: 33 filters", getRange("t", tablestore.FORWARD, pkOf("pk", tablestore.MIN), pkOf("pk", tablestore.MAX), 0, thirtyThree), invalidParam("The count of filter exceeds the max: 32.")},
		// GetRange bounds and limit.
		{"range: forward start = end", getRange("t", tablestore.FORWARD, pkOf("pk", "a"), pkOf("pk", "a"), 0, nil), invalidParam("Begin key must less than end key in FORWARD")},
		{"range: forward start > end", getRange("t", tablestore.FORWARD, pkOf("pk", "b"), pkOf("pk", "a"), 0, nil), invalidParam("Begin key must less than end key in FORWARD")},
		{"range: backward start < end", getRange("t", tablestore.BACKWARD, pkOf("pk", "a"), pkOf("pk", "b"), 0, nil), invalidParam("Begin key must more than end key in BACKWARD")},
		{"range: negative limit", getRange("t", tablestore.FORWARD, pkOf("pk", "a"), pkOf("pk", "b"), -1, nil), invalidParam("The limit must be greater than 0.")},
		// Conditions and tables.
		{"put: condition", func() error { _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: expectExist}); return err }, wantOTS{http.StatusForbidden, "OTSConditionCheckFail", "Condition check failed."}},
		{"delete: condition", deleteRow("t", pkOf("pk", "absent"), tablestore.RowExistenceExpectation_EXPECT_EXIST), wantOTS{http.StatusForbidden, "OTSConditionCheckFail", "Condition check failed."}},
		{"get: missing table", getRow("missing", pkOf("pk", "k")), wantOTS{http.StatusNotFound, "OTSObjectNotExist", "Requested table does not exist."}},
		{"create: existing table", createTableReq("t", "pk"), wantOTS{http.StatusConflict, "OTSObjectAlreadyExist", "Requested table already exists."}},
		{"create: duplicate pk", createTableReq("dup", "pk", "pk"), invalidParam("Duplicated primary key name: 'pk'.")},
		{"create: five pk columns", createTableReq("five", "a", "b", "c", "d", "e"), invalidParam("The number of primary key columns must be in range: [1, 4].")},
		// Batches: what needs no table fails the whole request.
		{"batch write: 201 rows", batchWrite(tooManyWrites...), invalidParam("Rows count exceeds the upper limit: 200.")},
		{"batch write: 4 MB + 1", batchWrite(bigRows...), invalidParam("The total data size of BatchWriteRow request exceeds the limit, limit size: 4194304, data size: 4194305.")},
		{"batch write: table name", batchWrite(putChange("t", pkOf("pk", "a"), "v", "x"), putChange("3t", pkOf("pk", "a"), "v", "x")), invalidParam("Invalid table name: '3t'.")},
		{"batch write: INF_MIN key", batchWrite(putChange("t", pkOf("pk", "a"), "v", "x"), func() tablestore.RowChange {
			d := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pkOf("pk", tablestore.MIN)}
			d.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			return d
		}()), invalidParam("VT_INF_MIN is an invalid type for the primary key.")},
		{"batch write: pk too long", batchWrite(putChange("t", pkOf("pk", strings.Repeat("x", 1025)), "v", "x")), invalidParam("The length of primary key column: 'pk' exceeds the MaxLength:1024 with CurrentLength:1025.")},
		{"batch write: column name", batchWrite(putChange("t", pkOf("pk", "a"), "#", "x")), invalidParam("Invalid column name: '#'.")},
		{"batch get: 101 rows", func() error {
			_, err := c.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{tooManyGets}})
			return err
		}, invalidParam("Rows count exceeds the upper limit: 100.")},
		{"batch get: INF_MAX key", func() error {
			q := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
			q.AddRow(pkOf("pk", "a"))
			q.AddRow(pkOf("pk", tablestore.MAX))
			_, err := c.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{q}})
			return err
		}, invalidParam("VT_INF_MAX is an invalid type for the primary key.")},
	} {
		t.Run(tc.name, func(t *testing.T) { checkOTS(t, tc.do(), tc.want) })
	}

	// Column names the service accepts though table names could not be.
	for _, name := range []string{"公司", "a.b", " ", "0abc", strings.Repeat("a", 255)} {
		if err := putRow("t", pkOf("pk", "names"), name, "x")(); err != nil {
			t.Errorf("column name %q: %v", name, err)
		}
	}
}

// In a batch, what depends on a table — a key that does not fit its
// schema, the table's existence, a row's condition — fails only that row,
// with the code and message the single-row operation would answer; the
// other rows apply.
func TestBatchRowErrorAnswers(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	put(t, c, "t", "present", "v", "x")

	req := new(tablestore.BatchWriteRowRequest)
	req.AddRowChange(putChange("t", pkOf("pk", "ok"), "v", "x"))
	req.AddRowChange(putChange("t", pkOf("other", "x"), "v", "x"))
	req.AddRowChange(putChange("t", pkOf("pk", int64(1)), "v", "x"))
	notExist := putChange("t", pkOf("pk", "present"), "v", "y")
	notExist.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	req.AddRowChange(notExist)
	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pkOf("pk", "present", "extra", "e")}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	req.AddRowChange(del)
	req.AddRowChange(putChange("missing", pkOf("pk", "a"), "v", "x"))
	resp, err := c.BatchWriteRow(req)
	if err != nil {
		t.Fatalf("BatchWriteRow: %v", err)
	}
	want := []struct{ code, message string }{
		{"", ""},
		{"OTSInvalidPK", "Validate PK name fail. Input: other, Meta: pk."},
		{"OTSInvalidPK", "Validate PK type fail. Input: VT_INTEGER, Meta: VT_STRING."},
		{"OTSConditionCheckFail", "Condition check failed."},
		{"OTSInvalidPK", "Validate PK size fail. Input: 2, Meta: 1."},
	}
	rows := resp.TableToRowsResult["t"]
	if len(rows) != len(want) {
		t.Fatalf("%d results for t, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if r.IsSucceed != (want[i].code == "") || r.Error.Code != want[i].code || r.Error.Message != want[i].message {
			t.Errorf("row %d: succeeded %v, %s %q; want %q %q", i, r.IsSucceed, r.Error.Code, r.Error.Message, want[i].code, want[i].message)
		}
	}
	if m := resp.TableToRowsResult["missing"]; len(m) != 1 || m[0].Error.Code != "OTSObjectNotExist" || m[0].Error.Message != "Requested table does not exist." {
		t.Errorf("missing table row = %+v", m)
	}
	if got := get(t, c, "t", "ok"); got["v"] != "x" {
		t.Errorf("the valid row was not written: %v", got)
	}

	q := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	q.AddRow(pkOf("pk", "present"))
	q.AddRow(pkOf("pk", int64(2)))
	q.AddRow(pkOf("pk", "present")) // the service answers a repeated key twice
	gresp, err := c.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{q}})
	if err != nil {
		t.Fatalf("BatchGetRow: %v", err)
	}
	g := gresp.TableToRowsResult["t"]
	if len(g) != 3 || !g[0].IsSucceed || !g[2].IsSucceed || len(g[2].Columns) != 1 ||
		g[1].IsSucceed || g[1].Error.Code != "OTSInvalidPK" || g[1].Error.Message != "Validate PK type fail. Input: VT_INTEGER, Meta: VT_STRING." {
		t.Errorf("BatchGetRow results = %+v", g)
	}
}

// BatchWriteRow takes one row condition per row, evaluated for that row
// alone: existence expectations and column conditions on some rows, none
// on others, puts and deletes. A row whose condition fails answers
// OTSConditionCheckFail and changes nothing; the others apply.
func TestBatchWriteRowPerRowConditions(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	for k, v := range map[string]int64{"a": 1, "b": 1, "c": 1, "d": 1} {
		put(t, c, "t", k, "version", v)
	}
	versionIs := func(v int64) tablestore.ColumnFilter {
		f := tablestore.NewSingleColumnCondition("version", tablestore.CT_EQUAL, v)
		f.FilterIfMissing = true
		return f
	}
	cas := func(k string, expect, next int64) *tablestore.PutRowChange {
		ch := putChange("t", pkOf("pk", k), "version", next)
		ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
		ch.SetColumnCondition(versionIs(expect))
		return ch
	}
	ifAbsent := func(k string) *tablestore.PutRowChange {
		ch := putChange("t", pkOf("pk", k), "version", int64(1))
		ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
		return ch
	}
	delIf := func(k string, expect int64) *tablestore.DeleteRowChange {
		ch := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: pkOf("pk", k)}
		ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
		ch.SetColumnCondition(versionIs(expect))
		return ch
	}
	req := new(tablestore.BatchWriteRowRequest)
	for _, ch := range []tablestore.RowChange{
		cas("a", 1, 2),  // passes
		cas("b", 7, 2),  // stale version: fails
		ifAbsent("new"), // passes
		ifAbsent("c"),   // present: fails
		delIf("d", 1),   // passes
		putChange("t", pkOf("pk", "plain"), "version", int64(1)), // no condition
		cas("absent", 1, 2), // absent row: fails
	} {
		req.AddRowChange(ch)
	}
	resp, err := c.BatchWriteRow(req)
	if err != nil {
		t.Fatalf("BatchWriteRow: %v", err)
	}
	wantFail := map[int]bool{1: true, 3: true, 6: true}
	for i, r := range resp.TableToRowsResult["t"] {
		if r.IsSucceed == wantFail[i] {
			t.Errorf("row %d: succeeded %v (%+v), want %v", i, r.IsSucceed, r.Error, !wantFail[i])
		}
		if wantFail[i] && (r.Error.Code != "OTSConditionCheckFail" || r.Error.Message != "Condition check failed.") {
			t.Errorf("row %d: %+v, want OTSConditionCheckFail", i, r.Error)
		}
	}
	for k, want := range map[string]any{"a": int64(2), "b": int64(1), "new": int64(1), "c": int64(1), "plain": int64(1)} {
		if got := get(t, c, "t", k); got["version"] != want {
			t.Errorf("%s = %v, want version %v", k, got, want)
		}
	}
	for _, k := range []string{"d", "absent"} {
		if got := get(t, c, "t", k); got != nil {
			t.Errorf("%s = %v, want no row", k, got)
		}
	}
}
