package tablestoretest_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// BenchmarkPutRow measures a PutRow round trip through the real SDK, in
// memory and with every write committed to a data file.
func BenchmarkPutRow(b *testing.B) {
	for _, persisted := range []bool{false, true} {
		b.Run(fmt.Sprintf("persisted=%v", persisted), func(b *testing.B) {
			var opts []tablestoretest.Option
			if persisted {
				opts = append(opts, tablestoretest.WithDataFile(filepath.Join(b.TempDir(), "ots.db")))
			}
			s := tablestoretest.NewServer(opts...)
			defer s.Close()
			c := s.NewClient("inst")
			benchTable(b, c)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(fmt.Sprintf("k%08d", i))}
				ch.AddColumn("v", "some value of a typical size for a token or a user record")
				ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
				if _, err := c.PutRow(&tablestore.PutRowRequest{PutRowChange: ch}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetRange pages 100 rows out of a 10 000-row table.
func BenchmarkGetRange(b *testing.B) {
	s := tablestoretest.NewServer()
	defer s.Close()
	c := s.NewClient("inst")
	benchTable(b, c)
	for i := 0; i < 10000; i += 200 {
		req := new(tablestore.BatchWriteRowRequest)
		for j := i; j < i+200; j++ {
			ch := &tablestore.PutRowChange{TableName: "t", PrimaryKey: key(fmt.Sprintf("k%08d", j))}
			ch.AddColumn("v", int64(j))
			ch.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
			req.AddRowChange(ch)
		}
		if _, err := c.BatchWriteRow(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := &tablestore.RangeRowQueryCriteria{TableName: "t", StartPrimaryKey: key(fmt.Sprintf("k%08d", (i*100)%9900)),
			EndPrimaryKey: bound(tablestore.MAX), Direction: tablestore.FORWARD, MaxVersion: 1, Limit: 100}
		resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: q})
		if err != nil || len(resp.Rows) != 100 {
			b.Fatalf("GetRange: %d rows, %v", len(resp.Rows), err)
		}
	}
}

func benchTable(b *testing.B, c *tablestore.TableStoreClient) {
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("pk", tablestore.PrimaryKeyType_STRING)
	if _, err := c.CreateTable(&tablestore.CreateTableRequest{
		TableMeta: meta, TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{},
	}); err != nil {
		b.Fatal(err)
	}
}
