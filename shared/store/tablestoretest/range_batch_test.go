package tablestoretest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

func rangeKeys(t *testing.T, c *tablestore.TableStoreClient, q *tablestore.RangeRowQueryCriteria) (keys []string, next *tablestore.PrimaryKey) {
	t.Helper()
	resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: q})
	if err != nil {
		t.Fatalf("GetRange: %v", err)
	}
	for _, r := range resp.Rows {
		keys = append(keys, r.PrimaryKey.PrimaryKeys[0].Value.(string))
	}
	return keys, resp.NextStartPrimaryKey
}

func bound(v any) *tablestore.PrimaryKey {
	pk := new(tablestore.PrimaryKey)
	switch v {
	case tablestore.MIN:
		pk.AddPrimaryKeyColumnWithMinValue("pk")
	case tablestore.MAX:
		pk.AddPrimaryKeyColumnWithMaxValue("pk")
	default:
		pk.AddPrimaryKeyColumn("pk", v)
	}
	return pk
}

func TestGetRange(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	var all []string
	for i := range 10 {
		k := fmt.Sprintf("k%02d", i)
		all = append(all, k)
		put(t, c, "t", k, "i", int64(i))
	}

	q := func(dir tablestore.Direction, start, end any, limit int32) *tablestore.RangeRowQueryCriteria {
		return &tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: bound(start), EndPrimaryKey: bound(end), Direction: dir, MaxVersion: 1, Limit: limit}
	}
	tests := []struct {
		name     string
		q        *tablestore.RangeRowQueryCriteria
		want     []string
		wantNext string
	}{
		{"forward all", q(tablestore.FORWARD, tablestore.MIN, tablestore.MAX, 0), all, ""},
		{"forward start inclusive end exclusive", q(tablestore.FORWARD, "k02", "k05", 0), all[2:5], ""},
		{"forward limit", q(tablestore.FORWARD, tablestore.MIN, tablestore.MAX, 3), all[:3], "k03"},
		{"forward between keys", q(tablestore.FORWARD, "k02x", "k04x", 0), all[3:5], ""},
		{"backward all", q(tablestore.BACKWARD, tablestore.MAX, tablestore.MIN, 0), reversed(all), ""},
		{"backward start inclusive end exclusive", q(tablestore.BACKWARD, "k05", "k02", 0), []string{"k05", "k04", "k03"}, ""},
		{"backward limit", q(tablestore.BACKWARD, tablestore.MAX, tablestore.MIN, 4), []string{"k09", "k08", "k07", "k06"}, "k05"},
		{"empty range", q(tablestore.FORWARD, "x", tablestore.MAX, 0), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next := rangeKeys(t, c, tt.q)
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows = %v, want %v", got, tt.want)
			}
			gotNext := ""
			if next != nil {
				gotNext = next.PrimaryKeys[0].Value.(string)
			}
			if gotNext != tt.wantNext {
				t.Errorf("next = %q, want %q", gotNext, tt.wantNext)
			}
		})
	}

	// Paging with next_start_primary_key visits every row once.
	var paged []string
	cur := q(tablestore.FORWARD, tablestore.MIN, tablestore.MAX, 4)
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		keys, next := rangeKeys(t, c, cur)
		paged = append(paged, keys...)
		if next == nil {
			break
		}
		cur.StartPrimaryKey = next
	}
	if !slices.Equal(paged, all) {
		t.Errorf("paged rows = %v, want %v", paged, all)
	}

	// Filters and columns apply to every row.
	fq := q(tablestore.FORWARD, tablestore.MIN, tablestore.MAX, 0)
	fq.Filter = single("i", tablestore.CT_GREATER_EQUAL, int64(7), true)
	if got, _ := rangeKeys(t, c, fq); !slices.Equal(got, all[7:]) {
		t.Errorf("filtered rows = %v, want %v", got, all[7:])
	}

	// Start after end is invalid.
	_, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: q(tablestore.FORWARD, "k05", "k02", 0)})
	if otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("forward range with start > end: got %v, want OTSParameterInvalid", err)
	}
}

func TestGetRangeScanLimit(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	// 5001 rows, only the last matches the filter: the first page scans 5000
	// rows, returns none, and says where to go on.
	const n = 5001
	for i := 0; i < n; i += 200 {
		req := new(tablestore.BatchWriteRowRequest)
		for j := i; j < min(i+200, n); j++ {
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(fmt.Sprintf("k%05d", j))}
			ch.AddColumn("last", j == n-1)
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
		if _, err := c.BatchWriteRow(req); err != nil {
			t.Fatalf("BatchWriteRow: %v", err)
		}
	}
	q := &tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: bound(tablestore.MIN), EndPrimaryKey: bound(tablestore.MAX),
		Direction: tablestore.FORWARD, MaxVersion: 1, Filter: single("last", tablestore.CT_EQUAL, true, true)}
	keys, next := rangeKeys(t, c, q)
	if len(keys) != 0 || next == nil || next.PrimaryKeys[0].Value != "k05000" {
		t.Fatalf("first page = %v next %v, want empty page continuing at k05000", keys, next)
	}
	q.StartPrimaryKey = next
	if keys, next := rangeKeys(t, c, q); !slices.Equal(keys, []string{"k05000"}) || next != nil {
		t.Errorf("second page = %v next %v, want [k05000] and the end", keys, next)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func TestBatchWriteRow(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	createTable(t, c, "u")
	put(t, c, "t", "exists", "v", "old")

	req := new(tablestore.BatchWriteRowRequest)
	for i := range 5 {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(fmt.Sprintf("r%d", i))}
		ch.AddColumn("v", int64(i))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if i == 2 { // fails: the row does not exist
			ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
		}
		req.AddRowChange(ch)
	}
	upd := &tablestore.UpdateRowChange{TableName: "u", PrimaryKey: key("x")}
	upd.IncrementColumn("n", 2)
	upd.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	req.AddRowChange(upd)
	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: key("exists")}
	del.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	req.AddRowChange(del)

	resp, err := c.BatchWriteRow(req)
	if err != nil {
		t.Fatalf("BatchWriteRow: %v", err)
	}
	rows := resp.TableToRowsResult["t"]
	if len(rows) != 6 {
		t.Fatalf("got %d results for t, want 6", len(rows))
	}
	for i, r := range rows {
		if r.Index != int32(i) {
			t.Errorf("result %d has index %d", i, r.Index)
		}
		wantOK := i != 2
		if r.IsSucceed != wantOK {
			t.Errorf("row %d: IsSucceed = %v (%v), want %v", i, r.IsSucceed, r.Error, wantOK)
		}
	}
	if rows[2].Error.Code != "OTSConditionCheckFail" {
		t.Errorf("row 2 error = %+v, want OTSConditionCheckFail", rows[2].Error)
	}
	if u := resp.TableToRowsResult["u"]; len(u) != 1 || !u[0].IsSucceed {
		t.Errorf("results for u = %+v", u)
	}
	for i := range 5 {
		got := get(t, c, "t", fmt.Sprintf("r%d", i))
		if (got != nil) != (i != 2) {
			t.Errorf("row r%d = %v after batch", i, got)
		}
	}
	if get(t, c, "t", "exists") != nil || get(t, c, "u", "x")["n"] != int64(2) {
		t.Errorf("delete or increment in batch not applied")
	}
}

func TestBatchWriteRowLimits(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	batch := func(n int, dup bool) error {
		req := new(tablestore.BatchWriteRowRequest)
		for i := range n {
			k := fmt.Sprintf("r%d", i)
			if dup && i == n-1 {
				k = "r0"
			}
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(k)}
			ch.AddColumn("v", int64(i))
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
		_, err := c.BatchWriteRow(req)
		return err
	}
	if err := batch(201, false); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("201 rows: got %v, want OTSParameterInvalid", err)
	}
	if err := batch(3, true); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("duplicate rows: got %v, want OTSParameterInvalid", err)
	}
	if got := get(t, c, "t", "r0"); got != nil {
		t.Errorf("rejected batches wrote %v", got)
	}
	if err := batch(200, false); err != nil {
		t.Errorf("200 rows: %v", err)
	}
}

func TestBatchWriteRowMissingTable(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	req := new(tablestore.BatchWriteRowRequest)
	ch := &tablestore.PutRowChange{TableName: "missing", PrimaryKey: key("k")}
	ch.AddColumn("v", "x")
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	req.AddRowChange(ch)
	resp, err := c.BatchWriteRow(req)
	if err != nil {
		t.Fatalf("BatchWriteRow: %v", err)
	}
	if r := resp.TableToRowsResult["missing"]; len(r) != 1 || r[0].IsSucceed || r[0].Error.Code != "OTSObjectNotExist" {
		t.Errorf("result = %+v, want one OTSObjectNotExist", r)
	}
}

func TestBatchGetRow(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	put(t, c, "t", "a", "v", "A")
	put(t, c, "t", "c", "v", "C")

	crit := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	for _, k := range []string{"c", "b", "a"} {
		crit.AddRow(key(k))
	}
	missing := &tablestore.MultiRowQueryCriteria{TableName: "missing", MaxVersion: 1}
	missing.AddRow(key("a"))
	resp, err := c.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{crit, missing}})
	if err != nil {
		t.Fatalf("BatchGetRow: %v", err)
	}
	rows := resp.TableToRowsResult["t"]
	var got []string
	for _, r := range rows {
		if !r.IsSucceed {
			t.Fatalf("row %d failed: %+v", r.Index, r.Error)
		}
		v := "-"
		if len(r.Columns) > 0 {
			v = r.Columns[0].Value.(string)
		}
		got = append(got, v)
	}
	if want := []string{"C", "-", "A"}; !slices.Equal(got, want) {
		t.Errorf("values in request order = %v, want %v", got, want)
	}
	if m := resp.TableToRowsResult["missing"]; len(m) != 1 || m[0].IsSucceed || m[0].Error.Code != "OTSObjectNotExist" {
		t.Errorf("missing table result = %+v", m)
	}

	big := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	for i := range 101 {
		big.AddRow(key(fmt.Sprint(i)))
	}
	if _, err := c.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{big}}); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("101 rows: got %v, want OTSParameterInvalid", err)
	}
}

// The usual prefix scan over a composite key: (dept, INF_MIN) to
// (dept, INF_MAX) returns exactly that department, in uid order.
func TestGetRangeCompositeKeyPrefix(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "users",
		&tablestore.PrimaryKeySchema{Name: ptr("dept"), Type: ptr(tablestore.PrimaryKeyType_INTEGER)},
		&tablestore.PrimaryKeySchema{Name: ptr("uid"), Type: ptr(tablestore.PrimaryKeyType_BINARY)})
	req := new(tablestore.BatchWriteRowRequest)
	for _, dept := range []int64{-1, 1, 2} {
		for _, uid := range []string{"b", "a", "\xff", "a\x00"} {
			pk := new(tablestore.PrimaryKey)
			pk.AddPrimaryKeyColumn("dept", dept)
			pk.AddPrimaryKeyColumn("uid", []byte(uid))
			ch := &tablestore.PutRowChange{TableName: "users", PrimaryKey: pk}
			ch.AddColumn("v", fmt.Sprintf("%d/%q", dept, uid))
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
	}
	if _, err := c.BatchWriteRow(req); err != nil {
		t.Fatal(err)
	}
	start, end := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	start.AddPrimaryKeyColumn("dept", int64(1))
	start.AddPrimaryKeyColumnWithMinValue("uid")
	end.AddPrimaryKeyColumn("dept", int64(1))
	end.AddPrimaryKeyColumnWithMaxValue("uid")
	for _, dir := range []tablestore.Direction{tablestore.FORWARD, tablestore.BACKWARD} {
		q := &tablestore.RangeRowQueryCriteria{TableName: "users", StartPrimaryKey: start, EndPrimaryKey: end, Direction: dir, MaxVersion: 1}
		if dir == tablestore.BACKWARD {
			q.StartPrimaryKey, q.EndPrimaryKey = end, start
		}
		resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: q})
		if err != nil {
			t.Fatalf("GetRange: %v", err)
		}
		var got []string
		for _, r := range resp.Rows {
			got = append(got, r.Columns[0].Value.(string))
		}
		want := []string{`1/"a"`, `1/"a\x00"`, `1/"b"`, `1/"\xff"`}
		if dir == tablestore.BACKWARD {
			want = reversed(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("direction %v: rows = %v, want %v", dir, got, want)
		}
	}
}
