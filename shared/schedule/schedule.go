package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/store/record"
)

// DefaultTable is the store table of the schedule row and the step leases.
const DefaultTable = "schedule"

// stateKey is the row holding every step's state.
const stateKey = "steps"

// LeaseKey is the store key of a step's lease.
func LeaseKey(step string) string { return "lease/" + step }

// Defaults of a Runner.
const (
	// DefaultLeaseTTL is a step lease's lifetime; the runner renews it
	// every third of that while the step runs, so a crashed runner blocks
	// the step for at most this long.
	DefaultLeaseTTL = 2 * time.Minute
	// DefaultMargin is how long before the platform's deadline a step's
	// context ends, leaving the runner time to record the outcome and
	// release the lease.
	DefaultMargin = 5 * time.Second
	// DefaultReserve is how long before its context ends a step is asked
	// to stop (Slot.Deadline), for the call in flight and its checkpoint.
	DefaultReserve = 20 * time.Second
)

// Step is one job of the tick.
type Step struct {
	// Name identifies the step in the schedule row, its lease and the
	// report: lower case letters, digits, '-' and '_'.
	Name string
	// Every is how long after the step finished its work it is due again;
	// zero means at every tick.
	Every time.Duration
	// Run does the step's work, or the part of it that fits before
	// slot.Deadline.
	Run func(ctx context.Context, slot Slot) (Outcome, error)
}

// Slot is the share of a tick a step runs in.
type Slot struct {
	// Deadline is when the step should stop starting work and save its
	// place; zero when the tick has no deadline (local runs).
	Deadline time.Time
	// Lease is the step's lease, held while Run runs; its Fence guards the
	// step's own state against a runner that lost the lease.
	Lease *lease.Lease
}

// Outcome is what a step run reports.
type Outcome struct {
	// Report is the step's JSON report; its fields appear in the step's
	// entry of the tick report.
	Report any
	// Done says the step finished its work, so it is due again Every from
	// now; otherwise it is due at the next tick.
	Done bool
}

// Runner runs the due steps of each tick.
type Runner struct {
	st       store.Store
	table    string
	steps    []Step
	now      func() time.Time
	leaseTTL time.Duration
	margin   time.Duration
	reserve  time.Duration
	log      *slog.Logger
	leaseOpt []lease.Option
}

// Option configures a Runner.
type Option func(*Runner) error

// WithTable sets the store table (default DefaultTable).
func WithTable(table string) Option {
	return func(r *Runner) error {
		if err := store.CheckTable(table); err != nil {
			return err
		}
		r.table = table
		return nil
	}
}

// WithClock sets the clock for due times, deadlines and lease expiry.
func WithClock(now func() time.Time) Option {
	return func(r *Runner) error {
		if now == nil {
			return errors.New("schedule: WithClock: nil clock")
		}
		r.now = now
		return nil
	}
}

// WithLeaseTTL sets the step leases' lifetime (default DefaultLeaseTTL).
func WithLeaseTTL(d time.Duration) Option {
	return func(r *Runner) error {
		if d < time.Second {
			return fmt.Errorf("schedule: WithLeaseTTL: %v is shorter than a second", d)
		}
		r.leaseTTL = d
		return nil
	}
}

// WithMargins sets how long before the platform's deadline a step's
// context ends (margin) and how much earlier its Slot.Deadline is
// (reserve). Defaults DefaultMargin and DefaultReserve.
func WithMargins(margin, reserve time.Duration) Option {
	return func(r *Runner) error {
		if margin < 0 || reserve < 0 {
			return fmt.Errorf("schedule: WithMargins: %v, %v: must not be negative", margin, reserve)
		}
		r.margin, r.reserve = margin, reserve
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(r *Runner) error {
		if l == nil {
			return errors.New("schedule: WithLogger: nil logger")
		}
		r.log = l
		return nil
	}
}

// WithLeaseOptions passes options to every step lease (a holder id, say).
func WithLeaseOptions(opts ...lease.Option) Option {
	return func(r *Runner) error {
		r.leaseOpt = append(r.leaseOpt, opts...)
		return nil
	}
}

// isStepName reports whether s matches [a-z0-9][a-z0-9_-]{0,62}; written
// out, since a package-level regexp is compiled at every cold start.
func isStepName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// New returns a runner of steps, in the order given, on st.
func New(st store.Store, steps []Step, opts ...Option) (*Runner, error) {
	if st == nil {
		return nil, errors.New("schedule: nil store")
	}
	r := &Runner{
		st: st, table: DefaultTable, now: time.Now, leaseTTL: DefaultLeaseTTL,
		margin: DefaultMargin, reserve: DefaultReserve, log: slog.New(slog.DiscardHandler),
	}
	seen := map[string]bool{}
	for _, s := range steps {
		switch {
		case !isStepName(s.Name):
			return nil, fmt.Errorf("schedule: step name %q: use lower case letters, digits, '-' and '_'", s.Name)
		case seen[s.Name]:
			return nil, fmt.Errorf("schedule: step %q registered twice", s.Name)
		case s.Run == nil:
			return nil, fmt.Errorf("schedule: step %q has no Run", s.Name)
		case s.Every < 0:
			return nil, fmt.Errorf("schedule: step %q: negative period", s.Name)
		}
		seen[s.Name] = true
	}
	r.steps = slices.Clone(steps)
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	r.leaseOpt = append([]lease.Option{lease.WithClock(r.now)}, r.leaseOpt...)
	return r, nil
}

// stepState is one step's entry in the schedule row.
type stepState struct {
	// DoneAt is when the step last finished its work.
	DoneAt time.Time `json:"done_at,omitzero"`
	// Pending means its last run did not finish (it continues at the next
	// tick).
	Pending   bool      `json:"pending,omitempty"`
	LastRunAt time.Time `json:"last_run_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// state is the schedule row: every step's state, so one read tells which
// are due.
type state struct {
	Steps map[string]stepState `json:"steps"`
}

// due reports whether s is due at now and, if not, when it will be.
func (st stepState) due(s Step, now time.Time) (bool, time.Time) {
	if st.Pending || st.DoneAt.IsZero() {
		return true, time.Time{}
	}
	next := st.DoneAt.Add(s.Every)
	return !now.Before(next), next
}

// Step statuses in a report.
const (
	StatusNotDue     = "not_due"    // not due at this tick
	StatusSkipped    = "skipped"    // due, but another runner holds its lease
	StatusDone       = "done"       // ran and finished its work
	StatusUnfinished = "unfinished" // ran and continues at the next tick
	StatusFailed     = "failed"     // ran and failed; runs again at the next tick
)

// Report is a tick's report.
type Report struct {
	OK    bool         `json:"ok"`
	Steps []StepReport `json:"steps"`
}

// StepReport is one step's entry in a tick's report. Its JSON carries the
// fields of the step's own report next to the runner's.
type StepReport struct {
	Step   string
	Status string
	OK     bool
	// Holder and LeaseUntil name the lease holder of a skipped step.
	Holder     string
	LeaseUntil time.Time
	// NextAt is when a step that is not due will be.
	NextAt time.Time
	Error  string
	// Report is the step's own report.
	Report any
}

// MarshalJSON flattens the step's report into the entry.
func (s StepReport) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if s.Report != nil {
		b, err := json.Marshal(s.Report)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &m); err != nil || m == nil {
			m = map[string]any{"report": json.RawMessage(b)}
		}
	}
	m["step"], m["status"], m["ok"], m["skipped"] = s.Step, s.Status, s.OK, s.Status == StatusSkipped
	if s.Holder != "" {
		m["holder"] = s.Holder
	}
	if !s.LeaseUntil.IsZero() {
		m["lease_until"] = s.LeaseUntil.UTC()
	}
	if !s.NextAt.IsZero() {
		m["next_at"] = s.NextAt.UTC()
	}
	if s.Error != "" {
		m["error"] = s.Error
	}
	return json.Marshal(m)
}

// Tick runs every step that is due, concurrently, and returns the report
// and, if any step failed, the steps' errors joined. A tick with nothing
// due reads one row and writes nothing.
func (r *Runner) Tick(ctx context.Context) (*Report, error) {
	cur, err := r.read(ctx)
	if err != nil {
		return &Report{}, err
	}
	now := r.now()
	var due []string
	reports := make([]StepReport, len(r.steps))
	for i, s := range r.steps {
		isDue, next := cur.Steps[s.Name].due(s, now)
		if isDue {
			due = append(due, s.Name)
			continue
		}
		reports[i] = StepReport{Step: s.Name, Status: StatusNotDue, OK: true, NextAt: next}
	}
	return r.run(ctx, due, reports)
}

// RunNow runs the named steps now, due or not, under their leases (a
// manual `dingfn sync`). With no names it runs every step.
func (r *Runner) RunNow(ctx context.Context, names ...string) (*Report, error) {
	if len(names) == 0 {
		for _, s := range r.steps {
			names = append(names, s.Name)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(r.steps, func(s Step) bool { return s.Name == n }) {
			return &Report{}, fmt.Errorf("schedule: no step %q", n)
		}
	}
	return r.run(ctx, names, make([]StepReport, len(r.steps)))
}

func (r *Runner) read(ctx context.Context) (state, error) {
	rec, err := record.Get[state](ctx, r.st, r.table, stateKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return state{}, nil
	case errors.Is(err, record.ErrMalformed):
		r.log.WarnContext(ctx, "schedule: unreadable schedule row; every step is due", "err", err)
		return state{}, nil
	case err != nil:
		return state{}, fmt.Errorf("schedule: read the schedule: %w", err)
	}
	return rec.Value, nil
}

// run runs the named steps concurrently and records their outcomes.
func (r *Runner) run(ctx context.Context, names []string, reports []StepReport) (*Report, error) {
	hard, soft, cancel := r.deadlines(ctx)
	defer cancel()
	type result struct {
		rep StepReport
		ran bool
		out Outcome
		err error
	}
	results := make([]result, len(r.steps))
	var wg sync.WaitGroup
	for i, s := range r.steps {
		if !slices.Contains(names, s.Name) {
			continue
		}
		wg.Go(func() {
			rep, ran, out, err := r.runStep(hard, s, soft)
			results[i] = result{rep, ran, out, err}
		})
	}
	wg.Wait()

	var errs []error
	ran := map[string]stepState{}
	now := r.now()
	for i, res := range results {
		if !slices.Contains(names, r.steps[i].Name) {
			continue
		}
		reports[i] = res.rep
		if res.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.steps[i].Name, res.err))
		}
		if res.ran {
			st := stepState{LastRunAt: now, Pending: !res.out.Done}
			if res.err != nil {
				st.LastError = res.rep.Error
			}
			ran[r.steps[i].Name] = st
		}
	}
	if len(ran) > 0 {
		// Record the outcomes even when the tick's context has ended.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.margin+time.Second)
		err := r.record(wctx, ran, now)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	rep := &Report{OK: len(errs) == 0}
	for _, s := range reports {
		if s.Step != "" {
			rep.Steps = append(rep.Steps, s)
		}
	}
	return rep, errors.Join(errs...)
}

// deadlines derives the steps' context (ending Margin before the
// platform's deadline) and their Slot.Deadline (Reserve before that, on
// the runner's clock).
func (r *Runner) deadlines(ctx context.Context) (context.Context, time.Time, context.CancelFunc) {
	end, ok := ctx.Deadline()
	if !ok {
		return ctx, time.Time{}, func() {}
	}
	hard, cancel := context.WithDeadline(ctx, end.Add(-r.margin))
	return hard, r.now().Add(time.Until(end) - r.margin - r.reserve), cancel
}

// runStep runs one step under its lease. ran is false when the step did
// not start (its lease was held, or could not be taken).
func (r *Runner) runStep(ctx context.Context, s Step, deadline time.Time) (rep StepReport, ran bool, out Outcome, err error) {
	rep = StepReport{Step: s.Name}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
			r.log.ErrorContext(ctx, "schedule: step panicked", "step", s.Name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			rep.Status, rep.OK, rep.Error, ran = StatusFailed, false, err.Error(), true
		}
	}()
	err = lease.Run(ctx, r.st, r.table, LeaseKey(s.Name), r.leaseTTL, func(ctx context.Context, l *lease.Lease) error {
		ran = true
		var rerr error
		out, rerr = s.Run(ctx, Slot{Deadline: deadline, Lease: l})
		return rerr
	}, r.leaseOpt...)
	rep.Report = out.Report
	var held *lease.HeldError
	switch {
	case errors.As(err, &held):
		rep.Status, rep.OK, rep.Holder, rep.LeaseUntil = StatusSkipped, true, held.Holder, held.ExpiresAt
		r.log.InfoContext(ctx, "schedule: step skipped, another runner holds it", "step", s.Name, "holder", held.Holder, "until", held.ExpiresAt)
		return rep, false, out, nil
	case err != nil:
		rep.Status, rep.OK, rep.Error = StatusFailed, false, err.Error()
		return rep, ran, out, err
	case out.Done:
		rep.Status, rep.OK = StatusDone, true
	default:
		rep.Status, rep.OK = StatusUnfinished, true
	}
	return rep, true, out, nil
}

// record writes the outcomes of the steps that ran into the schedule row.
func (r *Runner) record(ctx context.Context, ran map[string]stepState, now time.Time) error {
	_, err := record.Update(ctx, r.st, r.table, stateKey, func(cur state, _ bool) (state, error) {
		if cur.Steps == nil {
			cur.Steps = map[string]stepState{}
		}
		for name, st := range ran {
			prev := cur.Steps[name]
			st.DoneAt = prev.DoneAt
			if !st.Pending {
				st.DoneAt = now
			}
			cur.Steps[name] = st
		}
		return cur, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return fmt.Errorf("schedule: record the steps' outcomes: %w", err)
	}
	return nil
}
