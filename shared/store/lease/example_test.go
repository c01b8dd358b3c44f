package lease_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// A scheduled job runs on one instance at a time: the instance that finds
// the lease held reports who holds it and skips.
func ExampleRun() {
	ctx := context.Background()
	st, _ := memstore.New()
	job := func(ctx context.Context, l *lease.Lease) error {
		// A second instance, started while the first runs, skips.
		err := lease.Run(ctx, st, "sync", "lease/directory", time.Minute, func(context.Context, *lease.Lease) error {
			return errors.New("never runs")
		}, lease.WithHolder("instance-b"))
		if held, ok := errors.AsType[*lease.HeldError](err); ok {
			fmt.Println("instance-b skipped: held by", held.Holder)
		}
		fmt.Println("instance-a syncing with fence", l.Fence())
		return nil
	}
	if err := lease.Run(ctx, st, "sync", "lease/directory", time.Minute, job, lease.WithHolder("instance-a")); err != nil {
		fmt.Println(err)
	}
	// Released: the next run takes it at once.
	l, err := lease.Acquire(ctx, st, "sync", "lease/directory", time.Minute)
	fmt.Println(err == nil && l.Fence() > 1)
	// Output:
	// instance-b skipped: held by instance-a
	// instance-a syncing with fence 1
	// true
}
