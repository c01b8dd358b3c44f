// Command timerfn is the timer function the platform tests build and run
// under a fake FC runtime API, the Lambda Runtime Interface Emulator and
// local mode. Its report echoes the trigger; the payload "fail" makes the
// tick fail with an error that carries a token the adapter must redact.
package main

import (
	"context"
	"errors"

	"github.com/dingfn/dingfn/shared/platform"
)

type report struct {
	Trigger   platform.Trigger `json:"trigger"`
	RequestID string           `json:"request_id"`
	Deadline  bool             `json:"has_deadline"`
}

func main() {
	platform.RunTimer("timerfn", func(ctx context.Context) (any, error) {
		tr, _ := platform.TriggerFrom(ctx)
		if tr.Payload == "fail" {
			return nil, errors.New("sync failed: GET https://oapi.example/gettoken?access_token=SECRET-TOKEN-VALUE")
		}
		_, hasDeadline := ctx.Deadline()
		return report{Trigger: tr, RequestID: platform.RequestID(ctx), Deadline: hasDeadline}, nil
	})
}
