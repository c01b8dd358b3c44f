package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store/lease"
)

// The event log's steps of the sync tick (package schedule), each run
// under its own lease.
const (
	// StepDrain runs at every tick: the events due now.
	StepDrain = "events-drain"
	// StepRecover fetches failed pushes every DINGFN_EVENT_RECOVER_EVERY.
	StepRecover = "events-recover"
	// StepPurge removes expired rows once a day.
	StepPurge = "events-purge"
)

// PurgeEvery is how often the purge step runs.
const PurgeEvery = 24 * time.Hour

// PurgeReport is what the purge step did.
type PurgeReport struct {
	Purged int `json:"purged"`
}

// Steps returns the event log's steps of the sync tick: the drain at every
// tick, the purge daily, and, when src is not nil, the recovery of failed
// pushes every recoverEvery (src is the app's *dingtalk.CallbackService,
// for a callback registered with register_call_back).
func (s *Service) Steps(src FailedResults, recoverEvery time.Duration) []schedule.Step {
	steps := []schedule.Step{{
		Name: StepDrain,
		Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
			rep, err := s.Drain(ctx, s.now(), slot.Deadline)
			return schedule.Outcome{Report: rep, Done: !rep.Partial}, err
		},
	}}
	if src != nil && recoverEvery > 0 {
		steps = append(steps, schedule.Step{
			Name:  StepRecover,
			Every: recoverEvery,
			Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
				rep, err := s.Recover(ctx, src, slot.Deadline)
				return schedule.Outcome{Report: rep, Done: !rep.Partial}, err
			},
		})
	}
	return append(steps, schedule.Step{
		Name:  StepPurge,
		Every: PurgeEvery,
		Run: func(ctx context.Context, _ schedule.Slot) (schedule.Outcome, error) {
			n, err := s.Purge(ctx)
			return schedule.Outcome{Report: PurgeReport{Purged: n}, Done: err == nil}, err
		},
	})
}

// kickLeaseTTL bounds an immediate drain's hold on the drain step's lease.
const kickLeaseTTL = time.Minute

// kickWaits is how many times an immediate drain waits for the tick's
// drain to let go of the lease before giving up to the next tick.
const kickWaits = 20

// DrainNow drains what is due within the grace (events the callback has
// just left unfinished included) under the drain step's lease (the sync
// tick's, in package schedule's table), so it never runs beside another
// drain; while another drain holds the lease it waits for it, a few
// times. `dingfn dev` calls it after a push; an operator's tool may too.
func (s *Service) DrainNow(ctx context.Context) error {
	for range kickWaits {
		err := lease.Run(ctx, s.log.st, schedule.DefaultTable, schedule.LeaseKey(StepDrain), kickLeaseTTL,
			func(ctx context.Context, _ *lease.Lease) error {
				_, err := s.Drain(ctx, s.now().Add(s.grace), time.Time{})
				return err
			}, lease.WithClock(s.now))
		var held *lease.HeldError
		if !errors.As(err, &held) {
			return err
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("events: the drain's lease stayed held; the next tick drains")
}
