// Command hellolambda is the yardstick of the functions' start-up, memory
// and size on Lambda: aws-lambda-go's hello world, built with the flags of
// the Lambda artifacts.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello", nil })
}
