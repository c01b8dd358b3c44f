package tablestoretest_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"
	"github.com/golang/protobuf/proto"
	bolt "go.etcd.io/bbolt"

	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

func getErr(c *tablestore.TableStoreClient, k string) error {
	_, err := c.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: key(k), MaxVersion: 1}})
	return err
}

func putErr(c *tablestore.TableStoreClient, k string, exist tablestore.RowExistenceExpectation) error {
	return condPut(c, k, exist, nil, "v", "x")
}

// The SDK retries what the service says is retryable, and only that: these
// cases pin down both the emulator's fault codes and the SDK's policy.
func TestFaultsAndSDKRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		op           string
		n            int
		fault        tablestoretest.Fault
		call         func(c *tablestore.TableStoreClient) error
		wantCode     string
		wantRequests int
	}{
		{"server busy on read is retried", "GetRow", 2, tablestoretest.ServerBusy, func(c *tablestore.TableStoreClient) error { return getErr(c, "k") }, "", 3},
		{"server busy on write is retried", "PutRow", 2, tablestoretest.ServerBusy, func(c *tablestore.TableStoreClient) error {
			return putErr(c, "k", tablestore.RowExistenceExpectation_IGNORE)
		}, "", 3},
		{"timeout on read is retried", "GetRow", 1, tablestoretest.Timeout, func(c *tablestore.TableStoreClient) error { return getErr(c, "k") }, "", 2},
		{"timeout on write is not retried", "PutRow", 1, tablestoretest.Timeout, func(c *tablestore.TableStoreClient) error {
			return putErr(c, "k", tablestore.RowExistenceExpectation_IGNORE)
		}, "OTSTimeout", 1},
		{"internal error on write is not retried", "UpdateRow", 1, tablestoretest.InternalError, func(c *tablestore.TableStoreClient) error {
			ch := &tablestore.UpdateRowChange{TableName: "t", PrimaryKey: key("k")}
			ch.PutColumn("v", "y")
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			_, err := c.UpdateRow(&tablestore.UpdateRowRequest{UpdateRowChange: ch})
			return err
		}, "OTSInternalServerError", 1},
		{"internal error on range is retried", "GetRange", 1, tablestoretest.InternalError, func(c *tablestore.TableStoreClient) error {
			_, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
				TableName: "t", StartPrimaryKey: bound(tablestore.MIN), EndPrimaryKey: bound(tablestore.MAX), MaxVersion: 1}})
			return err
		}, "", 2},
		{"row conflict is retried", "DeleteRow", 1, tablestoretest.RowConflict, func(c *tablestore.TableStoreClient) error {
			ch := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: key("k")}
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			_, err := c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: ch})
			return err
		}, "", 2},
		{"table not ready is retried", "PutRow", 1, tablestoretest.TableNotReady, func(c *tablestore.TableStoreClient) error {
			return putErr(c, "k", tablestore.RowExistenceExpectation_IGNORE)
		}, "", 2},
		{"partition unavailable is retried", "BatchWriteRow", 1, tablestoretest.PartitionDown, func(c *tablestore.TableStoreClient) error {
			req := new(tablestore.BatchWriteRowRequest)
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key("k")}
			ch.AddColumn("v", "x")
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
			_, err := c.BatchWriteRow(req)
			return err
		}, "", 2},
		{"not enough capacity is retried", "GetRow", 1, tablestoretest.NotEnoughCapacity, func(c *tablestore.TableStoreClient) error { return getErr(c, "k") }, "", 2},
		{"too frequent table operations is retried", "DescribeTable", 1, tablestoretest.QuotaExhausted, func(c *tablestore.TableStoreClient) error {
			_, err := c.DescribeTable(&tablestore.DescribeTableRequest{TableName: "t"})
			return err
		}, "", 2},
		{"server unavailable on write is not retried", "PutRow", 1, tablestoretest.ServerUnavailable, func(c *tablestore.TableStoreClient) error {
			return putErr(c, "k", tablestore.RowExistenceExpectation_IGNORE)
		}, "OTSServerUnavailable", 1},
		{"dropped connection on write is retried", "PutRow", 1, tablestoretest.DropConnection, func(c *tablestore.TableStoreClient) error {
			return putErr(c, "k", tablestore.RowExistenceExpectation_IGNORE)
		}, "", 2},
		{"raw 502 from a proxy on read is retried", "GetRow", 1, tablestoretest.BadGateway, func(c *tablestore.TableStoreClient) error { return getErr(c, "k") }, "", 2},
		{"persistent busy exhausts the retries", "GetRow", 100, tablestoretest.ServerBusy, func(c *tablestore.TableStoreClient) error { return getErr(c, "k") }, "OTSServerBusy", 11},
		// The write happened but its response was lost: the retry then
		// meets its own row, which a caller must be ready for.
		{"lost response of a conditional put", "PutRow", 1, tablestoretest.Fault{Drop: true, AfterApply: true}, func(c *tablestore.TableStoreClient) error {
			return putErr(c, "new", tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
		}, "OTSConditionCheckFail", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := setup(t)
			createTable(t, c, "t")
			s.FailNext(tt.op, tt.n, tt.fault)
			err := tt.call(c)
			if got := otsCode(err); got != tt.wantCode {
				t.Errorf("got %q (%v), want %q", got, err, tt.wantCode)
			}
			if got := s.Requests(tt.op); got != tt.wantRequests {
				t.Errorf("%s requests = %d, want %d", tt.op, got, tt.wantRequests)
			}
		})
	}
}

func TestFailNextRowsBatchWriteRetriesFailedRows(t *testing.T) {
	t.Parallel()
	s, c := setup(t)
	createTable(t, c, "t")
	s.FailNextRows("BatchWriteRow", 2, tablestoretest.ServerBusy)
	req := new(tablestore.BatchWriteRowRequest)
	for i := range 5 {
		ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(fmt.Sprintf("r%d", i))}
		ch.AddColumn("v", int64(i))
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		req.AddRowChange(ch)
	}
	resp, err := c.BatchWriteRow(req)
	if err != nil {
		t.Fatalf("BatchWriteRow: %v", err)
	}
	for _, r := range resp.TableToRowsResult["t"] {
		if !r.IsSucceed {
			t.Errorf("row %d failed after retry: %+v", r.Index, r.Error)
		}
	}
	if got := s.Requests("BatchWriteRow"); got != 2 {
		t.Errorf("BatchWriteRow requests = %d, want 2 (one retry of the failed rows)", got)
	}
	for i := range 5 {
		if get(t, c, "t", fmt.Sprintf("r%d", i)) == nil {
			t.Errorf("row r%d missing", i)
		}
	}

	// A row error the SDK does not retry is reported per row.
	s.ResetRequests()
	s.FailNextRows("BatchGetRow", 1, tablestoretest.Fault{Code: "OTSParameterInvalid", Message: "injected"})
	crit := &tablestore.MultiRowQueryCriteria{TableName: "t", MaxVersion: 1}
	crit.AddRow(key("r0"))
	crit.AddRow(key("r1"))
	gresp, err := c.BatchGetRow(&tablestore.BatchGetRowRequest{MultiRowQueryCriteria: []*tablestore.MultiRowQueryCriteria{crit}})
	if err != nil {
		t.Fatalf("BatchGetRow: %v", err)
	}
	rows := gresp.TableToRowsResult["t"]
	if len(rows) != 2 || rows[0].IsSucceed || rows[0].Error.Code != "OTSParameterInvalid" || !rows[1].IsSucceed {
		t.Errorf("results = %+v, want row 0 failed, row 1 ok", rows)
	}
	if got := s.Requests("BatchGetRow"); got != 1 {
		t.Errorf("BatchGetRow requests = %d, want 1", got)
	}
}

// rawHeaders are the headers the emulator wants with body, dated date.
// The signature is checked only when the emulator has an access key.
func rawHeaders(body []byte, date string) map[string]string {
	sum := md5.Sum(body)
	return map[string]string{
		"x-ots-date": date, "x-ots-apiversion": "2015-12-31", "x-ots-accesskeyid": "id",
		"x-ots-contentmd5": base64.StdEncoding.EncodeToString(sum[:]), "x-ots-instancename": "inst", "x-ots-signature": "sig",
	}
}

// postRaw posts body to url with headers h, bypassing the SDK. It returns
// the status and, for an error status, the error the body carries.
func postRaw(t *testing.T, url string, body []byte, h map[string]string) (int, *otsprotocol.Error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-ots-requestid") == "" {
		t.Error("response without x-ots-requestid")
	}
	var perr otsprotocol.Error
	if resp.StatusCode != http.StatusOK {
		if err := proto.Unmarshal(b, &perr); err != nil {
			t.Fatalf("error body is not an otsprotocol.Error: %v", err)
		}
	}
	return resp.StatusCode, &perr
}

func TestRequestHeadersChecked(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	body, _ := proto.Marshal(&otsprotocol.ListTableRequest{})
	post := func(h map[string]string) (int, string) {
		t.Helper()
		status, perr := postRaw(t, s.URL+"/ListTable", body, h)
		return status, perr.GetCode()
	}
	good := rawHeaders(body, "2026-01-01T00:00:00.000Z")
	if status, code := post(good); status != http.StatusOK {
		t.Fatalf("good request: %d %s", status, code)
	}
	for _, h := range []string{"x-ots-date", "x-ots-instancename", "x-ots-signature", "x-ots-contentmd5"} {
		bad := maps.Clone(good)
		delete(bad, h)
		if status, code := post(bad); status != http.StatusBadRequest || code != "OTSParameterInvalid" {
			t.Errorf("without %s: %d %s, want 400 OTSParameterInvalid", h, status, code)
		}
	}
	for name, tc := range map[string]struct {
		header, value string
		status        int
		code          string
	}{
		"bad date":        {"x-ots-date", "yesterday", http.StatusBadRequest, "OTSParameterInvalid"},
		"bad api version": {"x-ots-apiversion", "2014-08-08", http.StatusBadRequest, "OTSParameterInvalid"},
		"wrong MD5":       {"x-ots-contentmd5", base64.StdEncoding.EncodeToString(make([]byte, 16)), http.StatusForbidden, "OTSAuthFailed"},
	} {
		bad := maps.Clone(good)
		bad[tc.header] = tc.value
		if status, code := post(bad); status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", name, status, code, tc.status, tc.code)
		}
	}
	if status, _ := postRaw(t, s.URL+"/NoSuchOperation", body, good); status != http.StatusBadRequest {
		t.Errorf("unknown operation: %v, want 400", status)
	}
	resp, err := http.Get(s.URL + "/ListTable")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if got := s.Requests("ListTable"); got != 9 {
		t.Errorf("ListTable requests = %d, want 9 (rejected ones count)", got)
	}
}

func TestDateSkewCheckedWithAccessKey(t *testing.T) {
	t.Parallel()
	s := tablestoretest.NewServer(tablestoretest.WithAccessKey("id", "secret"))
	defer s.Close()
	body, _ := proto.Marshal(&otsprotocol.ListTableRequest{})
	status, perr := postRaw(t, s.URL+"/ListTable", body, rawHeaders(body, time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")))
	if status != http.StatusForbidden || perr.GetCode() != "OTSAuthFailed" || !strings.Contains(perr.GetMessage(), "system time") {
		t.Errorf("hour-old date: %d %s %q, want 403 OTSAuthFailed about the system time", status, perr.GetCode(), perr.GetMessage())
	}
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ots.db")
	s := tablestoretest.NewServer(tablestoretest.WithDataFile(path))
	c := s.NewClient("inst")
	name, typ := "n", tablestore.PrimaryKeyType_INTEGER
	createTable(t, c, "ints", &tablestore.PrimaryKeySchema{Name: &name, Type: &typ})
	createTable(t, c, "t")
	createTable(t, c, "dropped")
	for _, n := range []int64{5, -3, 0, 1 << 40, -1 << 40} {
		pk := new(tablestore.PrimaryKey)
		pk.AddPrimaryKeyColumn("n", n)
		ch := &tablestore.PutRowChange{TableName: "ints", PrimaryKey: pk}
		ch.AddColumn("v", n*2)
		ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, c, "t", "kept", "s", "v", "b", []byte{1, 2})
	put(t, c, "t", "deleted", "s", "v")
	del := &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: key("deleted")}
	del.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: del}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTable(&tablestore.DeleteTableRequest{TableName: "dropped"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = tablestoretest.NewServer(tablestoretest.WithDataFile(path))
	defer s.Close()
	c = s.NewClient("inst")
	l, err := c.ListTable()
	if err != nil || !slices.Equal(l.TableNames, []string{"ints", "t"}) {
		t.Fatalf("tables after reopen = %v, %v", l, err)
	}
	if got := get(t, c, "t", "kept"); got["s"] != "v" || !bytes.Equal(got["b"].([]byte), []byte{1, 2}) {
		t.Errorf("kept row after reopen = %v", got)
	}
	if got := get(t, c, "t", "deleted"); got != nil {
		t.Errorf("deleted row came back: %v", got)
	}
	lo, hi := new(tablestore.PrimaryKey), new(tablestore.PrimaryKey)
	lo.AddPrimaryKeyColumnWithMinValue("n")
	hi.AddPrimaryKeyColumnWithMaxValue("n")
	resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
		TableName: "ints", StartPrimaryKey: lo, EndPrimaryKey: hi, Direction: tablestore.FORWARD, MaxVersion: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range resp.Rows {
		got = append(got, r.PrimaryKey.PrimaryKeys[0].Value.(int64))
	}
	if want := []int64{-1 << 40, -3, 0, 5, 1 << 40}; !slices.Equal(got, want) {
		t.Errorf("integer keys after reopen = %v, want %v", got, want)
	}
}

func TestServeStandalone(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ots.db")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tablestoretest.Serve(ctx, ln, tablestoretest.WithDataFile(path)) }()

	// Two clients with different credentials share the store.
	endpoint := "http://" + ln.Addr().String()
	a := tablestore.NewClient(endpoint, "inst", "id-a", "secret-a")
	b := tablestore.NewClient(endpoint, "inst", "id-b", "secret-b")
	createTable(t, a, "t")
	put(t, a, "t", "k", "v", "from-a")
	if got := get(t, b, "t", "k"); got["v"] != "from-a" {
		t.Errorf("second client reads %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The data file is closed and complete: a new server opens it.
	s := tablestoretest.NewServer(tablestoretest.WithDataFile(path))
	defer s.Close()
	if got := get(t, s.NewClient("inst"), "t", "k"); got["v"] != "from-a" {
		t.Errorf("after restart: %v", got)
	}
}

func TestListenAndServeReportsBadAddress(t *testing.T) {
	t.Parallel()
	if err := tablestoretest.ListenAndServe(context.Background(), "127.0.0.1:notaport"); err == nil {
		t.Error("ListenAndServe on a bad address returned nil")
	}
}

func TestDataFileOfOtherFormatRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("format"), []byte("tablestoretest/999"))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = tablestoretest.Serve(context.Background(), ln, tablestoretest.WithDataFile(path))
	if err == nil || !strings.Contains(err.Error(), "tablestoretest/999") {
		t.Errorf("Serve on a file of another format: %v, want an error naming the format", err)
	}
}

// WithFaults answers what its function chooses, after FailNext's queue:
// busy answers the SDK retries through, and a refusal it reports.
func TestWithFaults(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	busy := 2
	s := tablestoretest.NewServer(tablestoretest.WithFaults(func(op string) (tablestoretest.Fault, bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case op == "GetRow" && busy > 0:
			busy--
			return tablestoretest.ServerBusy, true
		case op == "DeleteRow":
			return tablestoretest.Fault{Status: http.StatusBadRequest, Code: "OTSParameterInvalid", Message: "refused by the test"}, true
		}
		return tablestoretest.Fault{}, false
	}))
	t.Cleanup(s.Close)
	c := s.NewClient("inst")
	createTable(t, c, "t")
	s.FailNext("GetRow", 1, tablestoretest.ServerBusy)
	if err := getErr(c, "a"); err != nil {
		t.Fatalf("GetRow through three busy answers: %v", err)
	}
	if n := s.Requests("GetRow"); n != 4 {
		t.Errorf("%d GetRow requests, want 4 (FailNext's busy, WithFaults' two, then the answer)", n)
	}
	_, err := c.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: &tablestore.DeleteRowChange{TableName: "t", PrimaryKey: key("a"),
		Condition: &tablestore.RowCondition{RowExistenceExpectation: tablestore.RowExistenceExpectation_IGNORE}}})
	if code := otsCode(err); code != "OTSParameterInvalid" {
		t.Errorf("DeleteRow: %s, want the injected OTSParameterInvalid", code)
	}
}
