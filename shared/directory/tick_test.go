package directory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func (e *env) runner(holder string, allowMassDelete bool) *schedule.Runner {
	e.t.Helper()
	r, err := schedule.New(e.st, []schedule.Step{e.s.Step(allowMassDelete)},
		schedule.WithClock(e.clock.Now), schedule.WithLeaseOptions(lease.WithHolder(holder)))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// Two ticks overlap (a platform retry, a manual run while the timer
// fires): one walks, the other reports the step skipped with the holder.
func TestConcurrentTicksWalkOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		waiting, release := make(chan struct{}), make(chan struct{})
		e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Times: 1, Waiting: waiting, Release: release})
		a, bb := e.runner("tick-a", false), e.runner("tick-b", false)
		ctx := context.Background()
		done := make(chan error, 1)
		go func() {
			_, err := a.Tick(ctx)
			done <- err
		}()
		<-waiting // tick a is inside the walk
		rep, err := bb.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := rep.Steps[0]; s.Status != schedule.StatusSkipped || s.Holder != "tick-a" || s.LeaseUntil.IsZero() {
			t.Errorf("second tick's directory step = %+v, want skipped, held by tick-a", s)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		e.wantMirrorsFake()
		org := e.fake.Org()
		if got := e.fake.CallCount(directory.APIDeptGet); got != len(org.Departments) {
			t.Errorf("department/get requests = %d, want %d: one walk", got, len(org.Departments))
		}
	})
}

// The timer's view: a complete walk is not due again until the interval
// has passed, so the ticks in between cost one read; an unfinished walk
// continues at the next tick.
func TestTicksFollowTheInterval(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(orgSpec))
	e.rebuild(directory.WithInterval(30 * time.Minute))
	r := e.runner("timer", false)
	ctx := context.Background()
	rep, err := r.Tick(ctx)
	if err != nil || rep.Steps[0].Status != schedule.StatusDone {
		t.Fatalf("first tick = %+v, %v", rep, err)
	}
	for range 29 {
		e.clock.Advance(time.Minute)
		e.st.Reset()
		rep, err := r.Tick(ctx)
		if err != nil || rep.Steps[0].Status != schedule.StatusNotDue {
			t.Fatalf("tick = %+v, %v", rep, err)
		}
		if n := e.st.Reads(); n != 1 || len(e.st.Writes()) != 0 {
			t.Fatalf("a tick with nothing due: %d reads, writes %v", n, e.st.Writes())
		}
	}
	e.clock.Advance(time.Minute)
	rep, err = r.Tick(ctx)
	if err != nil || rep.Steps[0].Status != schedule.StatusDone {
		t.Fatalf("tick after 30 minutes = %+v, %v", rep, err)
	}
	if dr, ok := rep.Steps[0].Report.(*directory.Report); !ok || !dr.Complete || dr.Resumed {
		t.Errorf("directory report = %#v", rep.Steps[0].Report)
	}
}

// A tripped guard fails the tick so the operator sees it, and the walk
// waits for the interval rather than hammering DingTalk every minute.
func TestGuardFailsTheTick(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(orgSpec))
	ctx := context.Background()
	r := e.runner("timer", false)
	if _, err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultEmptyList})
	e.clock.Advance(directory.DefaultInterval)
	rep, err := r.Tick(ctx)
	if !errors.Is(err, directory.ErrGuardTripped) || rep.OK || rep.Steps[0].Status != schedule.StatusFailed {
		t.Fatalf("tick = %+v, %v; want it failed by the guard", rep, err)
	}
	e.clock.Advance(time.Minute)
	if rep, err := r.Tick(ctx); err != nil || rep.Steps[0].Status != schedule.StatusNotDue {
		t.Errorf("next tick = %+v, %v; want not due", rep, err)
	}
	// `dingfn sync --allow-mass-delete`: a manual run of the step with the
	// option confirms the deletions.
	rep, err = e.runner("operator", true).RunNow(ctx, directory.StepName)
	if err != nil || !rep.OK {
		t.Fatalf("confirmed run = %+v, %v", rep, err)
	}
	if dr := rep.Steps[0].Report.(*directory.Report); dr.Users.Deleted != len(e.fake.Org().Users) {
		t.Errorf("confirmed run removed %d users", dr.Users.Deleted)
	}
}
