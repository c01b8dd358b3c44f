package tablestoretest_test

import (
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

func condPut(c *tablestore.TableStoreClient, k string, exist tablestore.RowExistenceExpectation, cond tablestore.ColumnFilter, cols ...any) error {
	ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(k)}
	for i := 0; i+1 < len(cols); i += 2 {
		ch.AddColumn(cols[i].(string), cols[i+1])
	}
	ch.SetCondition(exist)
	if cond != nil {
		ch.SetColumnCondition(cond)
	}
	_, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
	return err
}

func TestRowExistenceExpectation(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	put(t, c, "t", "present", "v", "old")

	tests := []struct {
		name  string
		op    string
		key   string
		exist tablestore.RowExistenceExpectation
		want  string
	}{
		{"put ignore on absent", "put", "a1", tablestore.RowExistenceExpectation_IGNORE, ""},
		{"put expect-not-exist on absent", "put", "a2", tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST, ""},
		{"put expect-not-exist on present", "put", "present", tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST, "OTSConditionCheckFail"},
		{"put expect-exist on absent", "put", "a3", tablestore.RowExistenceExpectation_EXPECT_EXIST, "OTSConditionCheckFail"},
		{"put expect-exist on present", "put", "present", tablestore.RowExistenceExpectation_EXPECT_EXIST, ""},
		{"update expect-exist on absent", "update", "a4", tablestore.RowExistenceExpectation_EXPECT_EXIST, "OTSConditionCheckFail"},
		{"update expect-not-exist on present", "update", "present", tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST, "OTSConditionCheckFail"},
		{"update ignore on absent creates", "update", "a5", tablestore.RowExistenceExpectation_IGNORE, ""},
		{"delete expect-exist on absent", "delete", "a6", tablestore.RowExistenceExpectation_EXPECT_EXIST, "OTSConditionCheckFail"},
		{"delete expect-not-exist is invalid", "delete", "present", tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST, "OTSParameterInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := get(t, c, "t", tt.key)
			var err error
			switch tt.op {
			case "put":
				err = condPut(c, tt.key, tt.exist, nil, "v", "new")
			case "update":
				ch := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key(tt.key)}
				ch.PutColumn("v", "new")
				ch.SetCondition(tt.exist)
				_, err = c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch})
			case "delete":
				ch := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: key(tt.key)}
				ch.SetCondition(tt.exist)
				_, err = c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: ch})
			}
			if got := otsCode(err); got != tt.want {
				t.Fatalf("got %q (%v), want %q", got, err, tt.want)
			}
			after := get(t, c, "t", tt.key)
			if tt.want != "" && len(after) != len(before) {
				t.Errorf("failed %s changed the row: before %v, after %v", tt.op, before, after)
			}
			if tt.want == "" && tt.op != "delete" && after["v"] != "new" {
				t.Errorf("after %s: %v, want v=new", tt.op, after)
			}
		})
	}
}

func single(col string, cmp tablestore.ComparatorType, v any, filterIfMissing bool) *tablestore.SingleColumnCondition {
	c := tablestore.NewSingleColumnCondition(col, cmp, v)
	c.FilterIfMissing = filterIfMissing
	return c
}

func composite(op tablestore.LogicalOperator, subs ...tablestore.ColumnFilter) *tablestore.CompositeColumnValueFilter {
	c := tablestore.NewCompositeColumnCondition(op)
	for _, s := range subs {
		c.AddFilter(s)
	}
	return c
}

// The row under test has n=10 (INTEGER), s="m" (STRING), f=1.5, b=true and
// no column "missing".
func TestColumnConditions(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")

	tests := []struct {
		name string
		cond tablestore.ColumnFilter
		pass bool
	}{
		{"equal", single("n", tablestore.CT_EQUAL, int64(10), true), true},
		{"equal fails", single("n", tablestore.CT_EQUAL, int64(11), true), false},
		{"not equal", single("n", tablestore.CT_NOT_EQUAL, int64(11), true), true},
		{"greater than", single("n", tablestore.CT_GREATER_THAN, int64(9), true), true},
		{"greater than equal value", single("n", tablestore.CT_GREATER_THAN, int64(10), true), false},
		{"greater equal", single("n", tablestore.CT_GREATER_EQUAL, int64(10), true), true},
		{"less than", single("n", tablestore.CT_LESS_THAN, int64(10), true), false},
		{"less equal", single("n", tablestore.CT_LESS_EQUAL, int64(10), true), true},
		{"string order", single("s", tablestore.CT_GREATER_THAN, "l", true), true},
		{"double", single("f", tablestore.CT_LESS_THAN, 2.0, true), true},
		{"bool", single("b", tablestore.CT_EQUAL, true, true), true},
		{"type mismatch never matches", single("n", tablestore.CT_NOT_EQUAL, "10", true), false},
		{"missing column passes without filter_if_missing", single("missing", tablestore.CT_EQUAL, int64(1), false), true},
		{"missing column fails with filter_if_missing", single("missing", tablestore.CT_EQUAL, int64(1), true), false},
		{"and", composite(tablestore.LO_AND, single("n", tablestore.CT_EQUAL, int64(10), true), single("s", tablestore.CT_EQUAL, "m", true)), true},
		{"and fails", composite(tablestore.LO_AND, single("n", tablestore.CT_EQUAL, int64(10), true), single("s", tablestore.CT_EQUAL, "x", true)), false},
		{"or", composite(tablestore.LO_OR, single("n", tablestore.CT_EQUAL, int64(0), true), single("s", tablestore.CT_EQUAL, "m", true)), true},
		{"or fails", composite(tablestore.LO_OR, single("n", tablestore.CT_EQUAL, int64(0), true), single("s", tablestore.CT_EQUAL, "x", true)), false},
		{"not", composite(tablestore.LO_NOT, single("n", tablestore.CT_EQUAL, int64(0), true)), true},
		{"nested", composite(tablestore.LO_OR,
			composite(tablestore.LO_AND, single("n", tablestore.CT_GREATER_THAN, int64(100), true), single("b", tablestore.CT_EQUAL, true, true)),
			composite(tablestore.LO_NOT, single("missing", tablestore.CT_EQUAL, int64(1), true)),
		), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := string(rune('a' + i))
			put(t, c, "t", k, "n", int64(10), "s", "m", "f", 1.5, "b", true)
			err := condPut(c, k, tablestore.RowExistenceExpectation_IGNORE, tt.cond, "n", int64(99))
			want := ""
			if !tt.pass {
				want = "OTSConditionCheckFail"
			}
			if got := otsCode(err); got != want {
				t.Fatalf("got %q (%v), want %q", got, err, want)
			}
			wantN := int64(10)
			if tt.pass {
				wantN = 99
			}
			if got := get(t, c, "t", k)["n"]; got != wantN {
				t.Errorf("n = %v, want %v", got, wantN)
			}
		})
	}

	// A column condition on an absent row sees every column missing.
	if err := condPut(c, "absent1", tablestore.RowExistenceExpectation_IGNORE, single("v", tablestore.CT_EQUAL, int64(1), false), "v", int64(1)); err != nil {
		t.Errorf("condition without filter_if_missing on absent row: %v", err)
	}
	if err := condPut(c, "absent2", tablestore.RowExistenceExpectation_IGNORE, single("v", tablestore.CT_EQUAL, int64(1), true), "v", int64(1)); otsCode(err) != "OTSConditionCheckFail" {
		t.Errorf("condition with filter_if_missing on absent row: got %v, want OTSConditionCheckFail", err)
	}
}

func TestInvalidCompositeConditions(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	one := single("n", tablestore.CT_EQUAL, int64(1), false)
	for name, cond := range map[string]tablestore.ColumnFilter{
		"and with one": composite(tablestore.LO_AND, one),
		"not with two": composite(tablestore.LO_NOT, one, one),
		"or with none": composite(tablestore.LO_OR),
		"pagination":   &tablestore.PaginationFilter{Offset: 0, Limit: 1},
		"33 filters":   composite(tablestore.LO_AND, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one, one),
	} {
		if err := condPut(c, "k", tablestore.RowExistenceExpectation_IGNORE, cond, "n", int64(1)); otsCode(err) != "OTSParameterInvalid" {
			t.Errorf("%s: got %v, want OTSParameterInvalid", name, err)
		}
	}
	if got := get(t, c, "t", "k"); got != nil {
		t.Errorf("rejected writes created %v", got)
	}
}

func TestReadFilters(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	put(t, c, "t", "k", "a", int64(1), "b", "x", "c", true)

	read := func(filter tablestore.ColumnFilter, cols ...string) map[string]any {
		t.Helper()
		return getRow(t, c, &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: key("k"), MaxVersion: 1, Filter: filter, ColumnsToGet: cols})
	}
	if got := read(single("a", tablestore.CT_EQUAL, int64(1), true)); len(got) != 3 {
		t.Errorf("matching filter: %v, want all columns", got)
	}
	if got := read(single("a", tablestore.CT_EQUAL, int64(2), true)); got != nil {
		t.Errorf("non-matching filter: %v, want no row", got)
	}
	if got := read(nil, "b"); len(got) != 1 || got["b"] != "x" {
		t.Errorf("columns_to_get b: %v", got)
	}
	if got := read(nil, "nope"); got != nil {
		t.Errorf("columns_to_get of absent column: %v, want no row", got)
	}
	// A filter sees only the columns read: "a" is not read, so it is missing.
	if got := read(single("a", tablestore.CT_EQUAL, int64(1), true), "b"); got != nil {
		t.Errorf("filter on unread column with filter_if_missing: %v, want no row", got)
	}
	if got := read(&tablestore.PaginationFilter{Offset: 1, Limit: 1}); len(got) != 1 || got["b"] != "x" {
		t.Errorf("column pagination offset 1 limit 1: %v, want only b", got)
	}
}

func TestUpdateRow(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	put(t, c, "t", "k", "keep", "x", "drop", "y", "ctr", int64(5), "s", "str")

	ch := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
	ch.PutColumn("new", int64(1))
	ch.DeleteColumn("drop")
	ch.IncrementColumn("ctr", 3)
	ch.IncrementColumn("fresh", -2)
	ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	ch.SetReturnIncrementValue()
	ch.AppendIncrementColumnToReturn("ctr")
	ch.AppendIncrementColumnToReturn("fresh")
	resp, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch})
	if err != nil {
		t.Fatalf("UpdateRow: %v", err)
	}
	ret := map[string]any{}
	for _, col := range resp.Columns {
		ret[col.ColumnName] = col.Value
	}
	if len(ret) != 2 || ret["ctr"] != int64(8) || ret["fresh"] != int64(-2) {
		t.Errorf("returned columns = %v, want ctr=8 fresh=-2", ret)
	}
	got := get(t, c, "t", "k")
	want := map[string]any{"keep": "x", "new": int64(1), "ctr": int64(8), "fresh": int64(-2), "s": "str"}
	if len(got) != len(want) {
		t.Fatalf("row = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}

	// Incrementing a string column is rejected and changes nothing.
	bad := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
	bad.PutColumn("keep", "changed")
	bad.IncrementColumn("s", 1)
	bad.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: bad}); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("increment of string: got %v, want OTSParameterInvalid", err)
	}
	if got := get(t, c, "t", "k")["keep"]; got != "x" {
		t.Errorf("rejected update changed keep to %v", got)
	}

	// Conditional update: compare-and-swap on a version column.
	cas := func(expect, next int64) error {
		ch := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
		ch.PutColumn("ctr", next)
		ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
		ch.SetColumnCondition(single("ctr", tablestore.CT_EQUAL, expect, true))
		_, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch})
		return err
	}
	if err := cas(8, 9); err != nil {
		t.Errorf("CAS 8→9: %v", err)
	}
	if err := cas(8, 10); otsCode(err) != "OTSConditionCheckFail" {
		t.Errorf("stale CAS: got %v, want OTSConditionCheckFail", err)
	}

	// An update of only deletes on an absent row creates nothing.
	del := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("ghost")}
	del.DeleteColumn("x")
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: del}); err != nil {
		t.Fatalf("delete-only update: %v", err)
	}
	if got := get(t, c, "t", "ghost"); got != nil {
		t.Errorf("delete-only update created %v", got)
	}
}

func TestPutReturnPKAutoIncrement(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	pkName, seqName := "pk", "seq"
	str, integer, auto := tablestore.PrimaryKeyType_STRING, tablestore.PrimaryKeyType_INTEGER, tablestore.AUTO_INCREMENT
	createTable(t, c, "t", &tablestore.PrimaryKeySchema{Name: &pkName, Type: &str}, &tablestore.PrimaryKeySchema{Name: &seqName, Type: &integer, Option: &auto})

	var seqs []int64
	for range 3 {
		pk := key("p")
		pk.AddPrimaryKeyColumnWithAutoIncrement("seq")
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: pk}
		ch.AddColumn("v", "x")
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		ch.SetReturnPk()
		resp, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch})
		if err != nil {
			t.Fatalf("PutRow: %v", err)
		}
		if len(resp.PrimaryKey.PrimaryKeys) != 2 {
			t.Fatalf("returned primary key = %+v", resp.PrimaryKey)
		}
		seqs = append(seqs, resp.PrimaryKey.PrimaryKeys[1].Value.(int64))
	}
	if !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
		t.Errorf("auto-increment values %v are not increasing", seqs)
	}
}
