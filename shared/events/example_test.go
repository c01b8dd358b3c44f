package events_test

import (
	"context"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// Registering a handler and receiving a push: the event is logged, the
// handler runs once, and DingTalk's redelivery of the same event is
// acknowledged without running it again.
func ExampleMux_HandleFunc() {
	mux := events.NewMux()
	mux.HandleFunc("user_add_org", func(ctx context.Context, ev *events.Event) error {
		u, err := ev.User() // a *events.ParseError is permanent: not retried
		if err != nil {
			return err
		}
		fmt.Println("welcome", u.UserIDs)
		return nil
	})
	st, _ := memstore.New()
	svc, _ := events.New(st, mux)

	push, _ := callback.ParseEvent([]byte(`{"EventType":"user_add_org","UserId":["u1"],"TimeStamp":"1772442000000","CorpId":"dingCorp"}`))
	_ = svc.Dispatch(context.Background(), push) // what the callback does
	_ = svc.Dispatch(context.Background(), push) // DingTalk's redelivery

	e, _ := svc.Get(context.Background(), events.FromCallback(push, time.Now()).ID)
	fmt.Println(e.Status, e.Attempts)
	// Output:
	// welcome [u1]
	// done 1
}
