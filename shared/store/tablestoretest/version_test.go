package tablestoretest_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// putVersions writes values as versions of column "v" of row "k" of table
// "t", the i-th stamped base+i.
func putVersions(t *testing.T, c *tablestore.TableStoreClient, base int64, values ...any) {
	t.Helper()
	ch := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
	for i, v := range values {
		ch.PutColumnWithTimestamp("v", v, base+int64(i))
	}
	ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch}); err != nil {
		t.Fatalf("UpdateRow: %v", err)
	}
}

func TestVersionsAndTimeRanges(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTableWith(t, c, "t", tablestore.TableOption{TimeToAlive: -1, MaxVersion: 3})
	base := time.Now().UnixMilli() - 10_000
	putVersions(t, c, base, "v0", "v1", "v2", "v3")
	read := func(q *tablestore.SingleRowQueryCriteria) []string {
		t.Helper()
		q.TableName, q.PrimaryKey = "t", key("k")
		resp, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: q})
		if err != nil {
			t.Fatalf("GetRow: %v", err)
		}
		var out []string
		for _, col := range resp.Columns {
			out = append(out, fmt.Sprintf("%v@%d", col.Value, col.Timestamp-base))
		}
		return out
	}
	if got := fmt.Sprint(read(&tablestore.SingleRowQueryCriteria{MaxVersion: 10})); got != "[v3@3 v2@2 v1@1]" {
		t.Errorf("all versions = %s, want the newest 3 of 4, newest first", got)
	}
	if got := fmt.Sprint(read(&tablestore.SingleRowQueryCriteria{MaxVersion: 2})); got != "[v3@3 v2@2]" {
		t.Errorf("MaxVersion 2 = %s", got)
	}
	if got := fmt.Sprint(read(&tablestore.SingleRowQueryCriteria{TimeRange: &tablestore.TimeRange{Specific: base + 2}})); got != "[v2@2]" {
		t.Errorf("specific time = %s", got)
	}
	if got := fmt.Sprint(read(&tablestore.SingleRowQueryCriteria{TimeRange: &tablestore.TimeRange{Start: base + 1, End: base + 3}})); got != "[v2@2 v1@1]" {
		t.Errorf("time range [1,3) = %s", got)
	}

	// latest_version_only decides whether older versions can satisfy a condition.
	old := tablestore.NewSingleColumnCondition("v", tablestore.CT_EQUAL, "v1")
	old.FilterIfMissing = true
	if got := read(&tablestore.SingleRowQueryCriteria{MaxVersion: 10, Filter: old}); len(got) == 0 {
		t.Error("filter on an old version without latest_version_only dropped the row")
	}
	old.LatestVersionOnly = true
	if got := read(&tablestore.SingleRowQueryCriteria{MaxVersion: 10, Filter: old}); len(got) != 0 {
		t.Errorf("filter on an old version with latest_version_only returned %v", got)
	}

	del := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
	del.DeleteColumnWithTimestamp("v", base+2)
	del.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
	if _, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: del}); err != nil {
		t.Fatalf("delete one version: %v", err)
	}
	if got := fmt.Sprint(read(&tablestore.SingleRowQueryCriteria{MaxVersion: 10})); got != "[v3@3 v1@1]" {
		t.Errorf("after deleting version 2 = %s", got)
	}

	// A timestamp too far from now is rejected, as by the service.
	far := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
	far.PutColumnWithTimestamp("v", "x", base-2*86400*1000)
	far.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: far}); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("timestamp two days old: got %v, want OTSParameterInvalid", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTTLFollowsClock(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	s := tablestoretest.NewServer(tablestoretest.WithClock(func() time.Time { return time.UnixMilli(now.Load()) }))
	defer s.Close()
	c := s.NewClient("inst")
	createTableWith(t, c, "t", tablestore.TableOption{TimeToAlive: 86400, MaxVersion: 1})
	put(t, c, "t", "old", "v", "x")
	now.Add(86400*1000 - 1)
	put(t, c, "t", "young", "v", "y")
	if get(t, c, "t", "old") == nil {
		t.Fatal("row expired before its TTL")
	}
	now.Add(1)
	if got := get(t, c, "t", "old"); got != nil {
		t.Errorf("row past its TTL = %v, want absent", got)
	}
	if err := condPut(c, "old", tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST, nil, "v", "again"); err != nil {
		t.Errorf("EXPECT_NOT_EXIST over an expired row: %v", err)
	}
	if get(t, c, "t", "young") == nil {
		t.Error("younger row expired too")
	}
}

// Conditional updates are atomic: concurrent compare-and-swap loops never
// lose an increment.
func TestConcurrentCompareAndSwap(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTable(t, c, "t")
	put(t, c, "t", "ctr", "n", int64(0))
	const workers, each = 3, 15
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	for range workers {
		wg.Go(func() {
			for done := 0; done < each; {
				n := get(t, c, "t", "ctr")["n"].(int64)
				ch := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("ctr")}
				ch.PutColumn("n", n+1)
				ch.SetCondition(tablestore.RowExistenceExpectation_EXPECT_EXIST)
				ch.SetColumnCondition(single("n", tablestore.CT_EQUAL, n, true))
				_, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch})
				switch otsCode(err) {
				case "":
					done++
				case "OTSConditionCheckFail":
					conflicts.Add(1)
				default:
					t.Errorf("UpdateRow: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := get(t, c, "t", "ctr")["n"]; got != int64(workers*each) {
		t.Errorf("counter = %v, want %d (conflicts seen: %d)", got, workers*each, conflicts.Load())
	}
}

func TestHangTimesOutAndSDKRetries(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	createTable(t, c, "t")
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.DefaultRetryInterval = 2 * time.Millisecond
	cfg.MaxRetryInterval = 8 * time.Millisecond
	cfg.HTTPTimeout.RequestTimeout = 100 * time.Millisecond
	short := tablestore.NewClientWithConfig(s.URL, "inst", "id", "secret", "", cfg)
	s.FailNext("GetRow", 1, tablestoretest.Hang)
	if err := getErr(short, "k"); err != nil {
		t.Fatalf("GetRow after a hung attempt: %v", err)
	}
	if got := s.Requests("GetRow"); got != 2 {
		t.Errorf("GetRow requests = %d, want 2", got)
	}
}

func TestSignatureVerification(t *testing.T) {
	t.Parallel()
	s := tablestoretest.NewServer(tablestoretest.WithAccessKey("the-id", "the-secret"))
	defer s.Close()
	good := tablestore.NewClient(s.URL, "inst", "the-id", "the-secret")
	if _, err := good.ListTable(); err != nil {
		t.Errorf("correctly signed request: %v", err)
	}
	if _, err := s.NewClient("inst").ListTable(); err != nil {
		t.Errorf("NewClient with the configured key: %v", err)
	}
	for name, c := range map[string]*tablestore.TableStoreClient{
		"wrong secret": tablestore.NewClient(s.URL, "inst", "the-id", "other-secret"),
		"wrong id":     tablestore.NewClient(s.URL, "inst", "other-id", "the-secret"),
	} {
		if _, err := c.ListTable(); otsCode(err) != "OTSAuthFailed" {
			t.Errorf("%s: got %v, want OTSAuthFailed", name, err)
		}
	}
}

func TestDataFileLocked(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/ots.db"
	s := tablestoretest.NewServer(tablestoretest.WithDataFile(path))
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := tablestoretest.Serve(context.Background(), ln, tablestoretest.WithDataFile(path)); err == nil {
		t.Error("a second emulator opened a data file in use")
	}
}

func TestUpdateTable(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	createTableWith(t, c, "t", tablestore.TableOption{TimeToAlive: -1, MaxVersion: 3})
	putVersions(t, c, time.Now().UnixMilli()-1000, int64(0), int64(1), int64(2))
	versions := func() int {
		resp, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: key("k"), MaxVersion: 10}})
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Columns)
	}
	update := func(opt tablestore.TableOption) error {
		_, err := c.UpdateTable(&tablestore.UpdateTableRequest{TableName: "t", TableOption: &opt})
		return err
	}
	if err := update(tablestore.TableOption{TimeToAlive: 86400 * 30, MaxVersion: 1}); err != nil {
		t.Fatalf("UpdateTable: %v", err)
	}
	if got := versions(); got != 1 {
		t.Errorf("versions after lowering MaxVersions = %d, want 1", got)
	}
	if err := update(tablestore.TableOption{TimeToAlive: 86400 * 30, MaxVersion: 3}); err != nil {
		t.Fatalf("UpdateTable: %v", err)
	}
	if got := versions(); got != 1 {
		t.Errorf("versions after raising MaxVersions again = %d, want the dropped ones to stay dropped", got)
	}
	d, err := c.DescribeTable(&tablestore.DescribeTableRequest{TableName: "t"})
	if err != nil || d.TableOption.TimeToAlive != 86400*30 || d.TableOption.MaxVersion != 3 {
		t.Errorf("DescribeTable after UpdateTable = %+v, %v", d.TableOption, err)
	}
	if err := update(tablestore.TableOption{TimeToAlive: 10, MaxVersion: 1}); otsCode(err) != "OTSParameterInvalid" {
		t.Errorf("TTL 10s: got %v, want OTSParameterInvalid", err)
	}
}
