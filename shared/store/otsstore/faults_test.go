package otsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

func newStore(t *testing.T, opts ...otsstore.Option) (*otsstore.Store, *tablestoretest.Server, *tablestore.TableStoreClient) {
	t.Helper()
	srv := tablestoretest.NewServer()
	t.Cleanup(srv.Close)
	client := srv.NewClient("dingfn-test")
	s, err := otsstore.New(client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, srv, client
}

func TestTableSchema(t *testing.T) {
	s, _, client := newStore(t, otsstore.WithTablePrefix("prod_"))
	if err := s.CreateTables(t.Context(), "tokens", "users"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTables(t.Context(), "tokens"); err != nil {
		t.Fatalf("CreateTables of an existing table: %v", err)
	}
	if err := s.CreateTables(t.Context(), "Bad-Name"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("CreateTables(Bad-Name) = %v, want ErrInvalid", err)
	}
	list, err := client.ListTable()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(list.TableNames)
	if !slices.Equal(list.TableNames, []string{"prod_tokens", "prod_users"}) {
		t.Fatalf("tables = %q", list.TableNames)
	}
	d, err := client.DescribeTable(&tablestore.DescribeTableRequest{TableName: "prod_tokens"})
	if err != nil {
		t.Fatal(err)
	}
	pk := d.TableMeta.SchemaEntry
	if len(pk) != 1 || *pk[0].Name != otsstore.ColKey || *pk[0].Type != tablestore.PrimaryKeyType_STRING {
		t.Fatalf("primary key schema = %+v, want one STRING column %q", pk, otsstore.ColKey)
	}
	if d.TableOption.MaxVersion != 1 || d.TableOption.TimeToAlive != -1 {
		t.Fatalf("table options = %+v, want MaxVersion 1 and no TTL", d.TableOption)
	}
}

// A row written by another tool without a version column must not pass
// IfVersion(0): the SDK's FilterIfMissing default would let it.
func TestRowWithoutVersionFailsVersionCheck(t *testing.T) {
	ctx := t.Context()
	s, _, client := newStore(t)
	if err := s.CreateTables(ctx, "mirror"); err != nil {
		t.Fatal(err)
	}
	change := &tablestore.PutRowChange{TableName: s.TableName("mirror"), PrimaryKey: &tablestore.PrimaryKey{}}
	change.PrimaryKey.AddPrimaryKeyColumn(otsstore.ColKey, "hand-written")
	change.AddColumn(otsstore.ColValue, "plain string value")
	change.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := client.PutRow(&tablestore.PutRowRequest{PutRowChange: change}); err != nil {
		t.Fatal(err)
	}
	it, err := s.Get(ctx, "mirror", "hand-written")
	if err != nil || string(it.Value) != "plain string value" || !it.ExpiresAt.IsZero() {
		t.Fatalf("Get = %+v, %v; want the value, never expiring", it, err)
	}
	for _, v := range []int64{0, it.Version} {
		if _, err := s.Put(ctx, "mirror", store.Item{Key: "hand-written", Value: []byte("x")}, store.IfVersion(v)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("IfVersion(%d) on a row without a version column = %v, want ErrConflict", v, err)
		}
		if err := s.Delete(ctx, "mirror", "hand-written", store.IfVersion(v)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Delete(IfVersion(%d)) on a row without a version column = %v, want ErrConflict", v, err)
		}
	}
	if _, err := s.Put(ctx, "mirror", store.Item{Key: "hand-written", Value: []byte("x")}, store.Always); err != nil {
		t.Fatalf("Always over a row without a version column: %v", err)
	}
}

func TestBatchSplitsRequests(t *testing.T) {
	ctx := t.Context()
	s, srv, _ := newStore(t)
	if err := s.CreateTables(ctx, "rows"); err != nil {
		t.Fatal(err)
	}
	var writes []store.Write
	for i := range 1001 {
		writes = append(writes, store.Write{Item: store.Item{Key: fmt.Sprintf("k%04d", i), Value: []byte("v")}})
	}
	if err := s.Batch(ctx, "rows", writes); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests("BatchWriteRow"); got != 6 {
		t.Errorf("BatchWriteRow requests for 1001 rows = %d, want 6 (five of 200, one of 1)", got)
	}
	srv.ResetRequests()
	big := bytes.Repeat([]byte("x"), store.MaxValueLen)
	writes = writes[:0]
	for i := range 5 {
		writes = append(writes, store.Write{Item: store.Item{Key: fmt.Sprint("big", i), Value: big}})
	}
	if err := s.Batch(ctx, "rows", writes); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests("BatchWriteRow"); got != 2 {
		t.Errorf("BatchWriteRow requests for 5 MiB = %d, want 2 (at most three 1 MiB rows per 4 MB request)", got)
	}
	// A page of GetRange stops at 4 MB of data; the scan still sees all.
	srv.ResetRequests()
	n := 0
	for it, err := range store.All(ctx, s, "rows", store.Range{Prefix: "big"}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(it.Value) != store.MaxValueLen {
			t.Fatalf("%s: %d bytes", it.Key, len(it.Value))
		}
		n++
	}
	if n != 5 || srv.Requests("GetRange") < 2 {
		t.Errorf("scan of 5 MiB returned %d items in %d GetRange requests, want 5 items in at least 2", n, srv.Requests("GetRange"))
	}
}

func TestBatchReportsRowFailures(t *testing.T) {
	ctx := t.Context()
	s, srv, _ := newStore(t)
	if err := s.CreateTables(ctx, "rows"); err != nil {
		t.Fatal(err)
	}
	var writes []store.Write
	for i := range 450 {
		writes = append(writes, store.Write{Item: store.Item{Key: fmt.Sprintf("k%04d", i), Value: []byte("v")}})
	}
	rowFault := tablestoretest.Fault{Code: "OTSQuotaExhausted", Message: "Row quota exhausted (injected)."}
	srv.FailNextRows("BatchWriteRow", 3, rowFault)
	err := s.Batch(ctx, "rows", writes)
	var be *store.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 3 {
		t.Fatalf("Batch with 3 injected row failures = %v, want a BatchError of 3 rows", err)
	}
	failed := map[string]bool{}
	for _, f := range be.Failed {
		var oe *tablestore.OtsError
		if !errors.As(f.Err, &oe) || oe.Code != "OTSQuotaExhausted" || writes[f.Index].Item.Key != f.Key {
			t.Errorf("row failure %+v: want the service's OTSQuotaExhausted for key %q", f, writes[f.Index].Item.Key)
		}
		failed[f.Key] = true
	}
	n := 0
	for it, err := range store.All(ctx, s, "rows", store.Range{}) {
		if err != nil {
			t.Fatal(err)
		}
		if failed[it.Key] {
			t.Errorf("failed row %q was written", it.Key)
		}
		n++
	}
	if n != 447 {
		t.Fatalf("%d rows written, want 447", n)
	}

	// A request that fails as a whole fails its rows, not the others.
	srv.FailNext("BatchWriteRow", 1, tablestoretest.Fault{Status: http.StatusForbidden, Code: "OTSAuthFailed", Message: "injected"})
	err = s.Batch(ctx, "rows", writes[:10])
	if !errors.As(err, &be) || len(be.Failed) != 10 {
		t.Fatalf("Batch with a failed request = %v, want 10 failed rows", err)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	ctx := t.Context()
	s, srv, _ := newStore(t)
	if _, err := s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("v")}, store.Always); err != nil {
		t.Fatal(err)
	}
	srv.FailNext("GetRow", 2, tablestoretest.ServerBusy)
	if _, err := s.Get(ctx, "t", "k"); err != nil {
		t.Fatalf("Get after two busy answers: %v", err)
	}
	srv.FailNext("PutRow", 1, tablestoretest.RowConflict)
	if _, err := s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("w")}, store.IfAbsent); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("IfAbsent over a live item after a retried row conflict = %v, want ErrConflict", err)
	}
}

// A backend failure is an error, never a miss or a conflict.
func TestFailuresAreNotMissesOrConflicts(t *testing.T) {
	ctx := t.Context()
	s, srv, _ := newStore(t)
	denied := tablestoretest.Fault{Status: http.StatusForbidden, Code: "OTSAuthFailed", Message: "injected"}
	srv.FailNext("GetRow", 1, denied)
	if _, err := s.Get(ctx, "t", "k"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get with a failing service = %v, want an error that is not ErrNotFound", err)
	}
	srv.FailNext("PutRow", 1, denied)
	srv.FailNext("GetRow", 1, denied)
	if _, err := s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("v")}, store.IfAbsent); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("Put with a failing service = %v, want an error that is not ErrConflict", err)
	}
	srv.FailNext("GetRange", 1, denied)
	if _, err := s.Scan(ctx, "t", store.Range{}); err == nil {
		t.Fatal("Scan with a failing service succeeded")
	}
	srv.FailNext("DeleteRow", 1, denied)
	if err := s.Delete(ctx, "t", "k", store.Always); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("Delete with a failing service = %v, want an error that is not ErrConflict", err)
	}
}

// When the service applies a write but the response is lost, the store
// must not report a conflict with its own write.
// TestWriterClockBehind stores a version an hour ahead of this writer's
// clock: Put and Batch still write, above it, and a batch row costs one
// read and one PutRow more, not a blind write first.
func TestWriterClockBehind(t *testing.T) {
	ctx := t.Context()
	s, srv, client := newStore(t)
	if err := s.CreateTables(ctx, "mirror"); err != nil {
		t.Fatal(err)
	}
	ahead := time.Now().Add(time.Hour).UnixNano()
	for _, key := range []string{"put", "batch"} {
		change := &tablestore.PutRowChange{TableName: s.TableName("mirror"), PrimaryKey: &tablestore.PrimaryKey{}}
		change.PrimaryKey.AddPrimaryKeyColumn(otsstore.ColKey, key)
		change.AddColumn(otsstore.ColValue, []byte("old"))
		change.AddColumn(otsstore.ColVersion, ahead)
		change.AddColumn(otsstore.ColExpiresAt, int64(math.MaxInt64))
		change.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
		if _, err := client.PutRow(&tablestore.PutRowRequest{PutRowChange: change}); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Put(ctx, "mirror", store.Item{Key: "put", Value: []byte("new")}, store.Always); err != nil || v <= ahead {
		t.Fatalf("Put over a version ahead = %d, %v; want a version above %d", v, err, ahead)
	}
	srv.ResetRequests()
	if err := s.Batch(ctx, "mirror", []store.Write{{Item: store.Item{Key: "batch", Value: []byte("new")}}}); err != nil {
		t.Fatal(err)
	}
	if g, p := srv.Requests("GetRow"), srv.Requests("PutRow"); g != 1 || p != 1 {
		t.Errorf("batch row over a version ahead: %d GetRow and %d PutRow, want 1 and 1", g, p)
	}
	it, err := s.Get(ctx, "mirror", "batch")
	if err != nil || string(it.Value) != "new" || it.Version <= ahead {
		t.Fatalf("Get = %+v, %v; want the new value above version %d", it, err, ahead)
	}
}

func TestLostResponse(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault tablestoretest.Fault
	}{
		{"retried by the SDK", withAfterApply(tablestoretest.ServerBusy)},
		{"not retried by the SDK", withAfterApply(tablestoretest.InternalError)},
		{"connection dropped", withAfterApply(tablestoretest.DropConnection)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			s, srv, _ := newStore(t)
			if err := s.CreateTables(ctx, "leases"); err != nil {
				t.Fatal(err)
			}
			srv.FailNext("PutRow", 1, c.fault)
			v, err := s.Put(ctx, "leases", store.Item{Key: "lease", Value: []byte("me")}, store.IfAbsent)
			if err != nil {
				t.Fatalf("IfAbsent whose response was lost: %v, want success", err)
			}
			it, err := s.Get(ctx, "leases", "lease")
			if err != nil || it.Version != v || string(it.Value) != "me" {
				t.Fatalf("Get = %+v, %v; want version %d", it, err, v)
			}
			srv.FailNext("PutRow", 1, c.fault)
			v2, err := s.Put(ctx, "leases", store.Item{Key: "lease", Value: []byte("me again")}, store.IfVersion(v))
			if err != nil || v2 <= v {
				t.Fatalf("IfVersion whose response was lost = %d, %v; want success", v2, err)
			}
		})
	}
}

func withAfterApply(f tablestoretest.Fault) tablestoretest.Fault {
	f.AfterApply = true
	return f
}

func TestConcurrentFirstWritesShareTableCreation(t *testing.T) {
	ctx := t.Context()
	s, srv, _ := newStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	start := make(chan struct{})
	for i := range errs {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Put(ctx, "fresh", store.Item{Key: fmt.Sprint(i), Value: []byte("v")}, store.IfAbsent)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	// Racing creators may each send CreateTable (singleflight only joins
	// overlapping calls); the losers' OTSObjectAlreadyExist is success.
	if got := srv.Requests("CreateTable"); got < 1 || got > len(errs) {
		t.Fatalf("CreateTable requests = %d, want 1 to %d", got, len(errs))
	}
	n := 0
	for _, err := range store.All(ctx, s, "fresh", store.Range{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(errs) {
		t.Fatalf("table holds %d items, want %d", n, len(errs))
	}
}

func TestNewClientValidates(t *testing.T) {
	cred := otsstore.Credentials{AccessKeyID: "id", AccessKeySecret: "secret-value"}
	for _, c := range []struct {
		name, endpoint, instance string
		cred                     otsstore.Credentials
	}{
		{"no scheme", "inst.cn-hangzhou.ots.aliyuncs.com", "inst", cred},
		{"empty endpoint", "", "inst", cred},
		{"no instance", "https://inst.cn-hangzhou.ots.aliyuncs.com", "", cred},
		{"no secret", "https://inst.cn-hangzhou.ots.aliyuncs.com", "inst", otsstore.Credentials{AccessKeyID: "id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := otsstore.NewClient(c.endpoint, c.instance, c.cred); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("NewClient = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := otsstore.NewClient("https://inst.cn-hangzhou.ots.aliyuncs.com", "inst", cred); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(cred); strings.Contains(s, "secret-value") {
		t.Fatalf("Credentials print their secret: %s", s)
	}
}

// The SDK takes no context; a call the service never answers must still
// end when the caller's context does.
func TestContextEndsHungCalls(t *testing.T) {
	s, srv, _ := newStore(t)
	if _, err := s.Put(t.Context(), "t", store.Item{Key: "k", Value: []byte("v")}, store.Always); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		op string
		do func(context.Context) error
	}{
		{"GetRow", func(ctx context.Context) error { _, err := s.Get(ctx, "t", "k"); return err }},
		{"PutRow", func(ctx context.Context) error {
			_, err := s.Put(ctx, "t", store.Item{Key: "k", Value: []byte("w")}, store.IfAbsent)
			return err
		}},
		{"DeleteRow", func(ctx context.Context) error { return s.Delete(ctx, "t", "k", store.Always) }},
		{"GetRange", func(ctx context.Context) error { _, err := s.Scan(ctx, "t", store.Range{}); return err }},
		{"BatchWriteRow", func(ctx context.Context) error {
			return s.Batch(ctx, "t", []store.Write{{Item: store.Item{Key: "k"}, Delete: true}})
		}},
	} {
		t.Run(c.op, func(t *testing.T) {
			srv.FailNext(c.op, 1, tablestoretest.Hang)
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			if err := c.do(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s against a hung service = %v, want context.DeadlineExceeded", c.op, err)
			}
		})
	}
}

// GetRange's Limit counts the rows the service reads, expired or not, so a
// page can come back empty with a cursor; the scan must go on.
func TestScanEmptyPages(t *testing.T) {
	ctx := t.Context()
	clock := storetest.NewClock(storetest.Epoch)
	s, _, _ := newStore(t, otsstore.WithClock(clock.Now))
	var writes []store.Write
	for i := range 40 {
		it := store.Item{Key: fmt.Sprintf("k%02d", i), Value: []byte("v")}
		if i >= 5 && i < 35 {
			it.ExpiresAt = storetest.Epoch.Add(time.Second)
		}
		writes = append(writes, store.Write{Item: it})
	}
	if err := s.Batch(ctx, "t", writes); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	r := store.Range{Limit: 5}
	var got []string
	empty := 0
	for {
		p, err := s.Scan(ctx, "t", r)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) == 0 && p.Next != "" {
			empty++
		}
		for _, it := range p.Items {
			got = append(got, it.Key)
		}
		if p.Next == "" {
			break
		}
		r.Cursor = p.Next
	}
	if empty == 0 || len(got) != 10 || got[4] != "k04" || got[5] != "k35" {
		t.Fatalf("scan returned %q with %d empty pages; want the 10 live keys and some empty pages", got, empty)
	}
}

// A conditional batch whose response is lost is retried by the SDK; its
// rows then fail their own conditions, and the store must recognise its
// writes rather than report conflicts.
func TestBatchLostResponseConditional(t *testing.T) {
	for _, c := range []struct {
		name    string
		fault   tablestoretest.Fault
		retried bool
	}{
		{"retried by the SDK", withAfterApply(tablestoretest.ServerBusy), true},
		{"not retried by the SDK", withAfterApply(tablestoretest.InternalError), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			s, srv, _ := newStore(t)
			v, err := s.Put(ctx, "mirror", store.Item{Key: "cas", Value: []byte("old")}, store.Always)
			if err != nil {
				t.Fatal(err)
			}
			srv.FailNext("BatchWriteRow", 1, c.fault)
			err = s.Batch(ctx, "mirror", []store.Write{
				{Item: store.Item{Key: "new", Value: []byte("new")}, Cond: store.IfAbsent},
				{Item: store.Item{Key: "cas", Value: []byte("new")}, Cond: store.IfVersion(v)},
				{Item: store.Item{Key: "plain", Value: []byte("new")}},
			})
			// Unless the SDK retried, the unconditional row reports the
			// service error, though it was applied; the conditional rows
			// are read back and recognised.
			failed := map[string]error{}
			var be *store.BatchError
			if errors.As(err, &be) {
				for _, f := range be.Failed {
					failed[f.Key] = f.Err
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if failed["new"] != nil || failed["cas"] != nil || (c.retried && failed["plain"] != nil) {
				t.Fatalf("Batch whose response was lost: %v", err)
			}
			for _, k := range []string{"new", "cas", "plain"} {
				if it, err := s.Get(ctx, "mirror", k); err != nil || string(it.Value) != "new" {
					t.Fatalf("Get(%q) = %+v, %v; want the batch's value", k, it, err)
				}
			}
		})
	}
}

// An IfVersion-only batch into a table never written reports conflicts and
// does not create the table.
func TestBatchIfVersionMissingTable(t *testing.T) {
	ctx := t.Context()
	s, srv, client := newStore(t)
	err := s.Batch(ctx, "fresh", []store.Write{
		{Item: store.Item{Key: "a", Value: []byte("x")}, Cond: store.IfVersion(1)},
		{Item: store.Item{Key: "b"}, Delete: true, Cond: store.IfVersion(2)},
	})
	var be *store.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 2 || !errors.Is(be.Failed[0].Err, store.ErrConflict) || !errors.Is(be.Failed[1].Err, store.ErrConflict) {
		t.Fatalf("Batch = %v; want two conflicts", err)
	}
	if n := srv.Requests("CreateTable"); n != 0 {
		t.Fatalf("CreateTable requests = %d, want 0", n)
	}
	if list, err := client.ListTable(); err != nil || len(list.TableNames) != 0 {
		t.Fatalf("tables = %v, %v; want none", list, err)
	}
}
