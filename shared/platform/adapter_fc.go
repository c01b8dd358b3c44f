//go:build !dingfn.lambda

package platform

import (
	"context"
	"encoding/json"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
)

const fcLinked = true

// startFC runs Function Compute's invocation loop. The role's credentials
// arrive with each invocation, so each one adopts them first.
func startFC(invoke invokeFunc) {
	fc.Start(func(ctx context.Context, event []byte) (json.RawMessage, error) {
		fcRole.adopt(ctx)
		return invoke(ctx, event)
	})
}
