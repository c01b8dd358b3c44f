package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// countingStore counts the reads and writes that reach the store.
type countingStore struct {
	store.Store
	reads, writes atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	c.reads.Add(1)
	return c.Store.Get(ctx, table, key)
}

func (c *countingStore) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	c.reads.Add(1)
	return c.Store.Scan(ctx, table, r)
}

func (c *countingStore) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	c.writes.Add(1)
	return c.Store.Put(ctx, table, it, cond)
}

func (c *countingStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	c.writes.Add(1)
	return c.Store.Delete(ctx, table, key, cond)
}

func (c *countingStore) reset() { c.reads.Store(0); c.writes.Store(0) }

type fixture struct {
	clock *clocktest.Manual
	st    *countingStore
}

func newFixture(t *testing.T) *fixture {
	clock := clocktest.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	m, err := memstore.New(memstore.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{clock: clock, st: &countingStore{Store: m}}
}

func (f *fixture) runner(t *testing.T, steps []schedule.Step, opts ...schedule.Option) *schedule.Runner {
	t.Helper()
	r, err := schedule.New(f.st, steps, append([]schedule.Option{schedule.WithClock(f.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// scripted is a step whose outcomes a test sets.
type scripted struct {
	mu    sync.Mutex
	runs  int
	done  bool
	err   error
	slots []schedule.Slot
}

func (s *scripted) step(name string, every time.Duration) schedule.Step {
	return schedule.Step{Name: name, Every: every, Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.runs++
		s.slots = append(s.slots, slot)
		return schedule.Outcome{Report: map[string]any{"runs": s.runs}, Done: s.done}, s.err
	}}
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs
}

func statusOf(t *testing.T, rep *schedule.Report, step string) schedule.StepReport {
	t.Helper()
	for _, s := range rep.Steps {
		if s.Step == step {
			return s
		}
	}
	t.Fatalf("no %s in report %+v", step, rep)
	return schedule.StepReport{}
}

func TestDueStepsRunAndFinishedOnesWait(t *testing.T) {
	f := newFixture(t)
	walk, drain := &scripted{done: true}, &scripted{done: true}
	r := f.runner(t, []schedule.Step{walk.step("walk", 30*time.Minute), drain.step("drain", 0)})
	ctx := context.Background()

	rep, err := r.Tick(ctx)
	if err != nil || !rep.OK || walk.count() != 1 || drain.count() != 1 {
		t.Fatalf("first tick = %+v, %v; runs %d, %d", rep, err, walk.count(), drain.count())
	}
	if s := statusOf(t, rep, "walk"); s.Status != schedule.StatusDone {
		t.Errorf("walk status = %q", s.Status)
	}

	f.clock.Advance(time.Minute)
	rep, err = r.Tick(ctx)
	if err != nil || walk.count() != 1 || drain.count() != 2 {
		t.Fatalf("second tick: runs %d, %d, %v", walk.count(), drain.count(), err)
	}
	s := statusOf(t, rep, "walk")
	if s.Status != schedule.StatusNotDue || !s.NextAt.Equal(f.clock.Now().Add(29*time.Minute)) {
		t.Errorf("walk at the second tick = %+v, want not due until 29 minutes later", s)
	}

	f.clock.Advance(29 * time.Minute)
	if _, err := r.Tick(ctx); err != nil || walk.count() != 2 {
		t.Errorf("after the interval: walk ran %d times, %v", walk.count(), err)
	}
}

func TestATickWithNothingDueCostsOneRead(t *testing.T) {
	f := newFixture(t)
	walk := &scripted{done: true}
	r := f.runner(t, []schedule.Step{walk.step("walk", time.Hour)})
	if _, err := r.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.st.reset()
	f.clock.Advance(time.Minute)
	rep, err := r.Tick(context.Background())
	if err != nil || statusOf(t, rep, "walk").Status != schedule.StatusNotDue {
		t.Fatalf("tick = %+v, %v", rep, err)
	}
	if r, w := f.st.reads.Load(), f.st.writes.Load(); r != 1 || w != 0 {
		t.Errorf("a tick with nothing due: %d reads, %d writes; want 1 and 0", r, w)
	}
}

func TestUnfinishedAndFailedStepsRunAgainAtTheNextTick(t *testing.T) {
	f := newFixture(t)
	walk := &scripted{done: false}
	r := f.runner(t, []schedule.Step{walk.step("walk", time.Hour)})
	ctx := context.Background()
	rep, err := r.Tick(ctx)
	if err != nil || statusOf(t, rep, "walk").Status != schedule.StatusUnfinished {
		t.Fatalf("tick = %+v, %v", rep, err)
	}
	walk.err = errors.New("DingTalk is down")
	f.clock.Advance(time.Minute)
	rep, err = r.Tick(ctx)
	if err == nil || !strings.Contains(err.Error(), "DingTalk is down") || rep.OK {
		t.Fatalf("failing tick = %+v, %v", rep, err)
	}
	if s := statusOf(t, rep, "walk"); s.Status != schedule.StatusFailed || s.OK || s.Error == "" {
		t.Errorf("failed step report = %+v", s)
	}
	// A failure that finished its work (a deletion guard that tripped on a
	// complete walk) waits for the interval but still fails the tick.
	walk.done = true
	f.clock.Advance(time.Minute)
	if _, err := r.Tick(ctx); err == nil || walk.count() != 3 {
		t.Fatalf("third tick: %v, runs %d", err, walk.count())
	}
	f.clock.Advance(time.Minute)
	if rep, err := r.Tick(ctx); err != nil || walk.count() != 3 || statusOf(t, rep, "walk").Status != schedule.StatusNotDue {
		t.Errorf("after a finished failure: %+v, %v, runs %d", rep, err, walk.count())
	}
}

func TestOverlappingTicksRunAStepOnce(t *testing.T) {
	f := newFixture(t)
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	slow := schedule.Step{Name: "walk", Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
		runs.Add(1)
		close(started)
		<-release
		return schedule.Outcome{Done: true}, nil
	}}
	a := f.runner(t, []schedule.Step{slow}, schedule.WithLeaseOptions(lease.WithHolder("tick-a")))
	b := f.runner(t, []schedule.Step{slow}, schedule.WithLeaseOptions(lease.WithHolder("tick-b")))
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := a.Tick(ctx)
		done <- err
	}()
	<-started
	rep, err := b.Tick(ctx)
	if err != nil || !rep.OK {
		t.Fatalf("second tick = %+v, %v; a skipped step is not a failure", rep, err)
	}
	s := statusOf(t, rep, "walk")
	if s.Status != schedule.StatusSkipped || s.Holder != "tick-a" || !s.LeaseUntil.Equal(f.clock.Now().Add(schedule.DefaultLeaseTTL)) {
		t.Errorf("skipped step = %+v, want holder tick-a until the lease's expiry", s)
	}
	b2, _ := json.Marshal(s)
	if !strings.Contains(string(b2), `"skipped":true`) || !strings.Contains(string(b2), `"holder":"tick-a"`) {
		t.Errorf("skipped step JSON = %s", b2)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 {
		t.Errorf("step ran %d times, want 1", runs.Load())
	}
}

func TestStepsGetTheTicksDeadline(t *testing.T) {
	f := newFixture(t)
	walk := &scripted{done: true}
	var ctxDeadline time.Time
	probe := schedule.Step{Name: "probe", Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
		ctxDeadline, _ = ctx.Deadline()
		return schedule.Outcome{Done: true}, nil
	}}
	r := f.runner(t, []schedule.Step{walk.step("walk", 0), probe}, schedule.WithMargins(5*time.Second, 20*time.Second))
	end := time.Now().Add(10 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	if _, err := r.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := end.Sub(ctxDeadline); got < 5*time.Second || got > 6*time.Second {
		t.Errorf("step context ends %v before the platform's deadline, want 5 s", got)
	}
	// Slot.Deadline is on the runner's clock: about 10 min − 25 s ahead.
	left := walk.slots[0].Deadline.Sub(f.clock.Now())
	if left < 10*time.Minute-26*time.Second || left > 10*time.Minute-25*time.Second {
		t.Errorf("slot deadline %v ahead, want about 9m35s", left)
	}
	if walk.slots[0].Lease == nil || walk.slots[0].Lease.Fence() == 0 {
		t.Error("the step did not get its lease")
	}

	// Without a platform deadline (a local run) there is none.
	if _, err := r.RunNow(context.Background(), "walk"); err != nil {
		t.Fatal(err)
	}
	if !walk.slots[1].Deadline.IsZero() {
		t.Errorf("local run got a deadline %v", walk.slots[1].Deadline)
	}
}

func TestAPanickingStepFailsAloneAndRunNowRunsAnyStep(t *testing.T) {
	f := newFixture(t)
	ok := &scripted{done: true}
	bad := schedule.Step{Name: "bad", Run: func(context.Context, schedule.Slot) (schedule.Outcome, error) { panic("boom") }}
	r := f.runner(t, []schedule.Step{bad, ok.step("ok", time.Hour)})
	rep, err := r.Tick(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") || ok.count() != 1 {
		t.Fatalf("tick = %+v, %v; ok ran %d", rep, err, ok.count())
	}
	if s := statusOf(t, rep, "bad"); s.Status != schedule.StatusFailed {
		t.Errorf("panicking step = %+v", s)
	}
	// The lease of the panicking step was released: it runs again at once.
	if _, err := r.RunNow(context.Background(), "ok"); err != nil || ok.count() != 2 {
		t.Errorf("RunNow(ok): %v, runs %d (not due, but run now)", err, ok.count())
	}
	if _, err := r.RunNow(context.Background(), "nope"); err == nil {
		t.Error("RunNow of an unknown step succeeded")
	}
}

func TestReportJSONCarriesTheStepsFields(t *testing.T) {
	s := schedule.StepReport{Step: "directory", Status: schedule.StatusDone, OK: true, Report: map[string]any{"users_seen": 3, "complete": true}}
	b, err := json.Marshal(schedule.Report{OK: true, Steps: []schedule.StepReport{s}})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		OK    bool             `json:"ok"`
		Steps []map[string]any `json:"steps"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	st := got.Steps[0]
	if !got.OK || st["step"] != "directory" || st["status"] != "done" || st["users_seen"] != float64(3) || st["complete"] != true || st["skipped"] != false {
		t.Errorf("report JSON = %s", b)
	}
}

func TestNewRejectsBadSteps(t *testing.T) {
	f := newFixture(t)
	run := func(context.Context, schedule.Slot) (schedule.Outcome, error) { return schedule.Outcome{}, nil }
	for _, steps := range [][]schedule.Step{
		{{Name: "Bad Name", Run: run}},
		{{Name: "a", Run: run}, {Name: "a", Run: run}},
		{{Name: "a"}},
		{{Name: "a", Run: run, Every: -time.Second}},
	} {
		if _, err := schedule.New(f.st, steps); err == nil {
			t.Errorf("New(%+v) succeeded", steps)
		}
	}
}
