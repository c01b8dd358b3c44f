//go:build !dingfn.fc

package platform

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

const lambdaLinked = true

// startLambda runs the Lambda Runtime API loop. Build with -tags
// lambda.norpc: otherwise aws-lambda-go links its net/rpc mode for the
// retired go1.x runtime, which provided.al2023 never uses.
func startLambda(invoke invokeFunc) {
	lambda.StartWithOptions(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		return invoke(ctx, event)
	})
}
