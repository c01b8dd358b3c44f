package tablestoretest_test

import (
	"fmt"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/dingfn/dingfn/shared/store/tablestoretest"
)

// The SDK retries OTSServerBusy on its own; the request counter shows it.
func ExampleServer_FailNext() {
	s := tablestoretest.NewServer()
	defer s.Close()
	client := s.NewClient("my-instance")

	meta := &tablestore.TableMeta{TableName: "tokens"}
	meta.AddPrimaryKeyColumn("name", tablestore.PrimaryKeyType_STRING)
	if _, err := client.CreateTable(&tablestore.CreateTableRequest{
		TableMeta:          meta,
		TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
		ReservedThroughput: &tablestore.ReservedThroughput{},
	}); err != nil {
		fmt.Println(err)
		return
	}
	pk := new(tablestore.PrimaryKey)
	pk.AddPrimaryKeyColumn("name", "access_token")
	change := &tablestore.PutRowChange{TableName: "tokens", PrimaryKey: pk}
	change.AddColumn("value", "redacted")
	change.SetCondition(tablestore.RowExistenceExpectation_EXPECT_NOT_EXIST)
	if _, err := client.PutRow(&tablestore.PutRowRequest{PutRowChange: change}); err != nil {
		fmt.Println(err)
		return
	}

	s.FailNext("GetRow", 2, tablestoretest.ServerBusy)
	resp, err := client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName: "tokens", PrimaryKey: pk, MaxVersion: 1,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Columns[0].ColumnName, resp.Columns[0].Value, s.Requests("GetRow"))
	// Output: value redacted 3
}
