// Command hellofc is the yardstick of the functions' start-up, memory and
// size on Function Compute: the hello world of fc-runtime-go-sdk (FC's
// fork of aws-lambda-go), built with the flags of the FC artifacts.
package main

import (
	"context"
	"encoding/json"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
)

func main() {
	fc.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
