package tablestoretest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

func setup(t *testing.T) (*tablestoretest.Server, *tablestore.TableStoreClient) {
	t.Helper()
	s := tablestoretest.NewServer()
	t.Cleanup(s.Close)
	return s, s.NewClient("inst")
}

// createTable makes a table keyed by (pk STRING) or the given schema,
// keeping one version for ever.
func createTable(t *testing.T, c *tablestore.TableStoreClient, name string, schema ...*tablestore.PrimaryKeySchema) {
	t.Helper()
	createTableWith(t, c, name, tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, schema...)
}

// createTableWith is createTable with the given time to live and versions.
func createTableWith(t *testing.T, c *tablestore.TableStoreClient, name string, opt tablestore.TableOption, schema ...*tablestore.PrimaryKeySchema) {
	t.Helper()
	meta := &tablestore.TableMeta{TableName: name}
	if len(schema) == 0 {
		meta.AddPrimaryKeyColumn("pk", tablestore.PrimaryKeyType_STRING)
	} else {
		meta.SchemaEntry = schema
	}
	_, err := c.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &opt,
		ReservedThroughput: &tablestore.ReservedThroughput{},
	})
	if err != nil {
		t.Fatalf("CreateTable(%s): %v", name, err)
	}
}

func key(v any) *tablestore.PrimaryKey {
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("pk", v)
	return pk
}

func put(t *testing.T, c *tablestore.TableStoreClient, table, k string, cols ...any) {
	t.Helper()
	ch := &tablestore.PutRowChange{TableName: table, PrimaryKey: key(k)}
	for i := 0; i+1 < len(cols); i += 2 {
		ch.AddColumn(cols[i].(string), cols[i+1])
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
		t.Fatalf("PutRow(%s): %v", k, err)
	}
}

// get returns the row's columns as name→value, nil when absent.
func get(t *testing.T, c *tablestore.TableStoreClient, table, k string) map[string]any {
	t.Helper()
	return getRow(t, c, &tablestore.SingleRowQueryCriteria{TableName: table, PrimaryKey: key(k), MaxVersion: 1})
}

// getRow reads one row as name→value, nil when no row comes back.
func getRow(t *testing.T, c *tablestore.TableStoreClient, q *tablestore.SingleRowQueryCriteria) map[string]any {
	t.Helper()
	resp, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: q})
	if err != nil {
		t.Fatalf("GetRow(%s): %v", q.TableName, err)
	}
	if len(resp.PrimaryKey.PrimaryKeys) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, col := range resp.Columns {
		out[col.ColumnName] = col.Value
	}
	return out
}

func otsCode(err error) string {
	var oe *tablestore.OtsError
	if errors.As(err, &oe) {
		return oe.Code
	}
	if err == nil {
		return ""
	}
	return "not an OtsError: " + err.Error()
}

func TestTableLifecycle(t *testing.T) {
	t.Parallel()
	s, c := setup(t)

	meta := &tablestore.TableMeta{TableName: "users"}
	meta.AddPrimaryKeyColumn("dept", tablestore.PrimaryKeyType_INTEGER)
	meta.AddPrimaryKeyColumn("uid", tablestore.PrimaryKeyType_STRING)
	meta.AddPrimaryKeyColumnOption("seq", tablestore.PrimaryKeyType_INTEGER, tablestore.AUTO_INCREMENT)
	req := &tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: 86400 * 7, MaxVersion: 3},
		ReservedThroughput: &tablestore.ReservedThroughput{Readcap: 1, Writecap: 2},
	}
	if _, err := c.CreateTable(req); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if _, err := c.CreateTable(req); otsCode(err) != "OTSObjectAlreadyExist" {
		t.Errorf("second CreateTable: got %v, want OTSObjectAlreadyExist", err)
	}

	d, err := c.DescribeTable(&tablestore.DescribeTableRequest{TableName: "users"})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	if d.TableMeta.TableName != "users" || len(d.TableMeta.SchemaEntry) != 3 ||
		*d.TableMeta.SchemaEntry[1].Name != "uid" || *d.TableMeta.SchemaEntry[1].Type != tablestore.PrimaryKeyType_STRING ||
		d.TableMeta.SchemaEntry[2].Option == nil || *d.TableMeta.SchemaEntry[2].Option != tablestore.AUTO_INCREMENT {
		t.Errorf("DescribeTable meta = %+v", d.TableMeta)
	}
	if d.TableOption.TimeToAlive != 86400*7 || d.TableOption.MaxVersion != 3 || d.TableOption.DeviationCellVersionInSec != 86400 {
		t.Errorf("DescribeTable options = %+v", d.TableOption)
	}
	if d.ReservedThroughput.Readcap != 1 || d.ReservedThroughput.Writecap != 2 || d.StreamDetails.EnableStream {
		t.Errorf("DescribeTable throughput = %+v, stream = %+v", d.ReservedThroughput, d.StreamDetails)
	}

	createTable(t, c, "alpha")
	l, err := c.ListTable()
	if err != nil {
		t.Fatalf("ListTable: %v", err)
	}
	if want := []string{"alpha", "users"}; !slices.Equal(l.TableNames, want) {
		t.Errorf("ListTable = %v, want %v", l.TableNames, want)
	}
	// Tables are per instance.
	other := s.NewClient("other-inst")
	if l, err := other.ListTable(); err != nil || len(l.TableNames) != 0 {
		t.Errorf("ListTable of another instance = %v, %v; want empty", l, err)
	}

	if _, err := c.DeleteTable(&tablestore.DeleteTableRequest{TableName: "users"}); err != nil {
		t.Fatalf("DeleteTable: %v", err)
	}
	if _, err := c.DescribeTable(&tablestore.DescribeTableRequest{TableName: "users"}); otsCode(err) != "OTSObjectNotExist" {
		t.Errorf("DescribeTable after delete: got %v, want OTSObjectNotExist", err)
	}
	if _, err := c.DeleteTable(&tablestore.DeleteTableRequest{TableName: "users"}); otsCode(err) != "OTSObjectNotExist" {
		t.Errorf("second DeleteTable: got %v, want OTSObjectNotExist", err)
	}
}

func TestCreateTableValidation(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	pk := func(name string, typ tablestore.PrimaryKeyType) *tablestore.PrimaryKeySchema {
		return &tablestore.PrimaryKeySchema{Name: &name, Type: &typ}
	}
	tests := []struct {
		name   string
		table  string
		schema []*tablestore.PrimaryKeySchema
		opt    tablestore.TableOption
	}{
		{"bad table name", "1users", []*tablestore.PrimaryKeySchema{pk("a", tablestore.PrimaryKeyType_STRING)}, tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}},
		{"too many primary keys", "t", []*tablestore.PrimaryKeySchema{
			pk("a", tablestore.PrimaryKeyType_STRING), pk("b", tablestore.PrimaryKeyType_STRING),
			pk("c", tablestore.PrimaryKeyType_STRING), pk("d", tablestore.PrimaryKeyType_STRING), pk("e", tablestore.PrimaryKeyType_STRING),
		}, tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}},
		{"duplicate primary key", "t", []*tablestore.PrimaryKeySchema{pk("a", tablestore.PrimaryKeyType_STRING), pk("a", tablestore.PrimaryKeyType_INTEGER)}, tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}},
		{"short ttl", "t", []*tablestore.PrimaryKeySchema{pk("a", tablestore.PrimaryKeyType_STRING)}, tablestore.TableOption{TimeToAlive: 60, MaxVersion: 1}},
		{"zero versions", "t", []*tablestore.PrimaryKeySchema{pk("a", tablestore.PrimaryKeyType_STRING)}, tablestore.TableOption{TimeToAlive: -1, MaxVersion: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			_, err := c.CreateTable(&tablestore.CreateTableRequest{
				TableMeta:          &tablestore.TableMeta{TableName: tt.table, SchemaEntry: tt.schema},
				TableOption:        &opt,
				ReservedThroughput: &tablestore.ReservedThroughput{},
			})
			if otsCode(err) != "OTSParameterInvalid" {
				t.Errorf("got %v, want OTSParameterInvalid", err)
			}
		})
	}
	if l, _ := c.ListTable(); len(l.TableNames) != 0 {
		t.Errorf("invalid CreateTable calls created %v", l.TableNames)
	}
}

func TestPutGetDeleteRow(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")

	if got := get(t, c, "t", "nobody"); got != nil {
		t.Fatalf("GetRow of absent row = %v, want nil", got)
	}
	put(t, c, "t", "k1", "s", "héllo", "i", int64(-42), "f", 2.5, "b", true, "bin", []byte{0, 1, 255},
		"empty", "", "emptybin", []byte{}, "no", false, "min", int64(-1<<63))
	got := get(t, c, "t", "k1")
	want := map[string]any{"s": "héllo", "i": int64(-42), "f": 2.5, "b": true, "bin": []byte{0, 1, 255},
		"empty": "", "emptybin": []byte{}, "no": false, "min": int64(-1 << 63)}
	if len(got) != len(want) {
		t.Fatalf("GetRow = %v, want %v", got, want)
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("column %s = %#v, want %#v", k, got[k], v)
		}
	}

	// PutRow replaces the whole row.
	put(t, c, "t", "k1", "s", "new")
	if got := get(t, c, "t", "k1"); len(got) != 1 || got["s"] != "new" {
		t.Errorf("after overwrite = %v, want only s=new", got)
	}

	// Columns come back sorted by name, with the cell timestamps set.
	put(t, c, "t", "k2", "zeta", "z", "alpha", "a")
	resp, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: key("k2"), MaxVersion: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Columns) != 2 || resp.Columns[0].ColumnName != "alpha" || resp.Columns[1].ColumnName != "zeta" || resp.Columns[0].Timestamp <= 0 {
		t.Errorf("columns = %+v, want alpha then zeta with timestamps", resp.Columns)
	}
	if resp.PrimaryKey.PrimaryKeys[0].Value != "k2" || resp.ConsumedCapacityUnit.Read < 1 {
		t.Errorf("primary key = %+v, consumed = %+v", resp.PrimaryKey.PrimaryKeys[0], resp.ConsumedCapacityUnit)
	}

	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: key("k1")}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Fatalf("DeleteRow: %v", err)
	}
	if got := get(t, c, "t", "k1"); got != nil {
		t.Errorf("after DeleteRow = %v, want nil", got)
	}
	// Deleting an absent row with IGNORE succeeds.
	if _, err := c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Errorf("DeleteRow of absent row: %v", err)
	}
}

func TestRowOpsOnMissingTable(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	ch := &tablestore.PutRowChange{TableName: "missing", PrimaryKey: key("k")}
	ch.AddColumn("a", "b")
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); otsCode(err) != "OTSObjectNotExist" {
		t.Errorf("PutRow: got %v, want OTSObjectNotExist", err)
	}
	_, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "missing", PrimaryKey: key("k"), MaxVersion: 1}})
	if otsCode(err) != "OTSObjectNotExist" {
		t.Errorf("GetRow: got %v, want OTSObjectNotExist", err)
	}
}

// A primary key that does not fit the table's schema is OTSInvalidPK, as
// on the service; one that no table could take (too long) is
// OTSParameterInvalid. errors_test.go pins every message.
func TestPrimaryKeyValidation(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	tests := []struct {
		name string
		pk   *tablestore.PrimaryKey
		code string
	}{
		{"wrong type", key(int64(1)), "OTSInvalidPK"},
		{"wrong name", func() *tablestore.PrimaryKey {
			p := new(tablestore.PrimaryKey)
			p.AddPrimaryKeyColumn("other", "x")
			return p
		}(), "OTSInvalidPK"},
		{"too many columns", func() *tablestore.PrimaryKey {
			p := key("x")
			p.AddPrimaryKeyColumn("extra", "y")
			return p
		}(), "OTSInvalidPK"},
		{"too long", key(strings.Repeat("x", 1025)), "OTSParameterInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: tt.pk}
			ch.AddColumn("a", "b")
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			if _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); otsCode(err) != tt.code {
				t.Errorf("got %v, want %s", err, tt.code)
			}
		})
	}
}

func TestValueSizeLimit(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	write := func(v any, marker string) error {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key("k")}
		ch.AddColumn("v", v)
		ch.AddColumn("marker", marker)
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		_, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
		return err
	}
	limit := bytes.Repeat([]byte("x"), 2<<20)
	if err := write(limit, "accepted"); err != nil {
		t.Fatalf("PutRow of a 2 MB cell: %v", err)
	}
	if err := write(string(limit)+"y", "rejected"); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("PutRow of a 2 MB + 1 cell: got %v, want OTSParameterInvalid", err)
	}
	resp, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "t", PrimaryKey: key("k"), MaxVersion: 1, ColumnsToGet: []string{"marker"}}})
	if err != nil || len(resp.Columns) != 1 || resp.Columns[0].Value != "accepted" {
		t.Errorf("after the rejected put: %+v, %v; want marker=accepted", resp, err)
	}
}

func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]tablestoretest.Option{
		"nil clock":       tablestoretest.WithClock(nil),
		"nil logger":      tablestoretest.WithLogger(nil),
		"empty data file": tablestoretest.WithDataFile(""),
		"empty key":       tablestoretest.WithAccessKey("", "secret"),
	} {
		if err := tablestoretest.ListenAndServe(context.Background(), "127.0.0.1:0", opt); err == nil {
			t.Errorf("%s: tablestoretest.ListenAndServe accepted it", name)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: tablestoretest.NewServer did not panic", name)
				}
			}()
			tablestoretest.NewServer(opt).Close()
		}()
	}
}
