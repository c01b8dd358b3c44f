// Command hellotablestore measures what the Tablestore SDK alone costs the
// functions: the hello world of the platform it is built for (dingfn.fc:
// fc-runtime-go-sdk's, otherwise aws-lambda-go's), which also opens a
// Tablestore client from the functions' variables at start and links
// the row read dingfn's store makes, built with the functions' flags. The
// benchmark's invocation carries no table, so it answers as the hello
// world does, without I/O.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// event names the row an invocation reads; the benchmark sends none.
type event struct {
	Table string `json:"table"`
	Key   string `json:"key"`
}

func main() {
	client := tablestore.NewClientWithConfig(os.Getenv("TABLESTORE_ENDPOINT"), os.Getenv("TABLESTORE_INSTANCE"),
		os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"), "",
		tablestore.NewDefaultTableStoreConfig())
	start(func(ctx context.Context, raw json.RawMessage) (string, error) {
		var ev event
		if err := json.Unmarshal(raw, &ev); err != nil || ev.Table == "" {
			return "hello", nil
		}
		pk := new(tablestore.PrimaryKey)
		pk.AddPrimaryKeyColumn("k", ev.Key)
		res, err := client.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
			TableName: ev.Table, PrimaryKey: pk, MaxVersion: 1,
		}})
		if err != nil {
			return "", err
		}
		return fmt.Sprint(len(res.Columns)), nil
	})
}
