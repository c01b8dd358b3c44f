package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/wait"
)

// DefaultInterval is DINGFN_SYNC_INTERVAL's default: a complete walk every
// 30 minutes.
const DefaultInterval = 30 * time.Minute

// Defaults of a Syncer.
const (
	// DefaultCheckpointEvery is how often a long walk saves its place even
	// when its deadline is far, so that a run the platform kills loses at
	// most this much work.
	DefaultCheckpointEvery = time.Minute
	// defaultPrefetch is how many departments the tree lane (department
	// details and sub-department ids) may run ahead of the member lane.
	defaultPrefetch = 16
	// Rate-limit back-off of the walk itself, once the client's own
	// retries of a 90018 gave up: the walk waits and continues rather
	// than failing, until its deadline.
	defaultBackoff    = 2 * time.Second
	defaultMaxBackoff = 30 * time.Second
	// saveTimeout bounds the final checkpoint of a run whose context ended.
	saveTimeout = 10 * time.Second
)

// Syncer walks DingTalk's directory into the mirror: breadth first from the
// root over every department and every page of its members, writing only
// what changed through the Writer, checkpointing so a walk can span any
// number of ticks, and removing what a complete walk did not see within the
// deletion guard. It is the sync function's directory step (see Step).
type Syncer struct {
	w               *Writer
	interval        time.Duration
	maxDelete       DeleteLimit
	checkpointEvery time.Duration
	prefetch        int
	backoff         time.Duration
	maxBackoff      time.Duration
	sleep           func(ctx context.Context, d time.Duration) error
	progress        func(Report)
}

// SyncOption configures a Syncer.
type SyncOption func(*Syncer) error

// WithInterval sets how long after a complete walk the next one starts
// (DINGFN_SYNC_INTERVAL; default 30 minutes). Any positive value is
// honoured: one shorter than the tick period walks on every tick.
func WithInterval(d time.Duration) SyncOption {
	return func(s *Syncer) error {
		if d <= 0 {
			return fmt.Errorf("directory: WithInterval: %v is not positive", d)
		}
		s.interval = d
		return nil
	}
}

// WithMaxDelete sets the deletion guard (DINGFN_SYNC_MAX_DELETE; default
// 10%).
func WithMaxDelete(l DeleteLimit) SyncOption {
	return func(s *Syncer) error {
		if l.Count < 0 || l.Percent < 0 || l.Percent > 100 {
			return fmt.Errorf("directory: WithMaxDelete: bad limit %+v", l)
		}
		s.maxDelete = l
		return nil
	}
}

// WithCheckpointEvery sets how often a walk saves its place while far from
// its deadline (default one minute).
func WithCheckpointEvery(d time.Duration) SyncOption {
	return func(s *Syncer) error {
		if d <= 0 {
			return fmt.Errorf("directory: WithCheckpointEvery: %v is not positive", d)
		}
		s.checkpointEvery = d
		return nil
	}
}

// WithProgress makes every run call f with its report so far (the
// walk's counts, this run's API calls and duration) after each department
// it finishes, from the run's goroutine; f must return quickly. `dingfn
// sync` draws its progress bar from it.
func WithProgress(f func(Report)) SyncOption {
	return func(s *Syncer) error {
		if f == nil {
			return errors.New("directory: WithProgress: nil function")
		}
		s.progress = f
		return nil
	}
}

// NewSyncer returns the directory sync writing through w.
func NewSyncer(w *Writer, opts ...SyncOption) (*Syncer, error) {
	if w == nil {
		return nil, errors.New("directory: NewSyncer: nil Writer")
	}
	s := &Syncer{
		w: w, interval: DefaultInterval, maxDelete: DefaultDeleteLimit,
		checkpointEvery: DefaultCheckpointEvery, prefetch: defaultPrefetch,
		backoff: defaultBackoff, maxBackoff: defaultMaxBackoff, sleep: wait.Sleep,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Interval returns how long after a complete walk the next one is due.
func (s *Syncer) Interval() time.Duration { return s.interval }

// RunOptions shape one run of the walk.
type RunOptions struct {
	// Deadline is when the run stops starting DingTalk calls, saves its
	// place and reports partial; zero means no deadline.
	Deadline time.Time
	// Fence is the fencing token of the lease the run holds (see package
	// lease); the run refuses to write the sync status over one written
	// under a later lease. Zero skips the check, for callers that hold no
	// lease because nothing else writes the store.
	Fence int64
	// AllowMassDelete lets a complete walk remove more records than the
	// deletion guard allows (`dingfn sync --allow-mass-delete`).
	AllowMassDelete bool
}

// Report is the JSON report of one run. The record counts are for the
// walk so far, over all its ticks; api_calls, store_writes and duration_ms
// are this run's own.
type Report struct {
	OK bool `json:"ok"`
	// Complete means the walk reached every department in this run;
	// Partial that it saved its place for the next one.
	Complete bool `json:"complete"`
	Partial  bool `json:"partial"`
	// Resumed means this run continued a walk an earlier run started.
	Resumed       bool      `json:"resumed"`
	WalkStartedAt time.Time `json:"walk_started_at"`
	Ticks         int       `json:"ticks"`

	DepartmentsSeen int    `json:"departments_seen"`
	UsersSeen       int    `json:"users_seen"`
	Created         int    `json:"created"`
	Updated         int    `json:"updated"`
	Deleted         int    `json:"deleted"`
	Unchanged       int    `json:"unchanged"`
	Users           Counts `json:"users"`
	Departments     Counts `json:"departments"`

	APICalls      int            `json:"api_calls"`
	APICallsByAPI map[string]int `json:"api_calls_by_api,omitempty"`
	// StoreWrites counts every row this run wrote; StateWrites the part of
	// them that were the sync's own status and checkpoint rows.
	StoreWrites int `json:"store_writes"`
	StateWrites int `json:"state_writes"`
	// Conflicts counts conditional writes another writer won (the newer
	// row was kept); RateLimitWaits the walk's own waits after DingTalk's
	// rate limit outlasted the client's retries.
	Conflicts      int `json:"conflicts,omitempty"`
	RateLimitWaits int `json:"rate_limit_waits,omitempty"`
	// OutOfScope counts the departments this run skipped because they lie
	// outside the app's contact scope (50004); their sub-departments are
	// still walked.
	OutOfScope int   `json:"departments_out_of_scope,omitempty"`
	DurationMS int64 `json:"duration_ms"`
	// Guard is the deletion guard's verdict, on a complete walk.
	Guard *Guard `json:"guard,omitempty"`
	// DryRun marks the report of a dry run (Syncer.Diff): it wrote
	// nothing, and its counts are what a run would change. WouldWrite is
	// the number of mirror rows (users, departments, members, unionids)
	// the run would write, besides its own status.
	DryRun     bool   `json:"dry_run,omitempty"`
	WouldWrite int    `json:"would_write,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Run walks until the walk is complete or opts.Deadline passes. A
// complete walk removes the records it did not see (within the guard)
// and records itself as the mirror's last complete walk; otherwise the
// run saves its place and the next Run continues. The report comes with
// the error too.
func (s *Syncer) Run(ctx context.Context, opts RunOptions) (*Report, error) {
	started := s.w.now()
	r, err := s.begin(ctx, opts, started)
	if err != nil {
		rep := &Report{Error: err.Error(), DurationMS: s.w.now().Sub(started).Milliseconds()}
		return rep, err
	}
	done, walkErr := r.walk(ctx)
	if !done {
		// Save the place even when ctx ended: that is when it matters.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		saveErr := r.sink.save(sctx, r)
		cancel()
		err := errors.Join(walkErr, saveErr)
		rep := r.report(started, err)
		rep.Partial = true
		s.w.log.LogAttrs(ctx, slog.LevelInfo, "directory walk paused",
			slog.String("walk", r.cp.ID), slog.Int("queue", len(r.cp.Queue)), slog.Int("users_seen", rep.UsersSeen))
		return rep, err
	}
	err = r.finish(ctx, opts.AllowMassDelete)
	rep := r.report(started, err)
	rep.Complete = err == nil || errors.Is(err, ErrGuardTripped)
	rep.Guard = r.guard
	return rep, err
}

// begin loads the walk in progress, or starts one, and the index.
func (s *Syncer) begin(ctx context.Context, opts RunOptions, started time.Time) (*run, error) {
	status, err := readStatus(ctx, s.w.st)
	if err != nil {
		return nil, err
	}
	if opts.Fence != 0 && status.Fence > opts.Fence {
		return nil, fmt.Errorf("directory: a run under a later lease (fence %d) wrote the sync status; this one (fence %d) lost its lease", status.Fence, opts.Fence)
	}
	r := s.newRun(opts, started, storeSink{})
	if status.Walk != nil {
		r.cp, r.resumed = status.Walk, true
		if err := loadSeen(ctx, s.w.st, r.cp.ID, r.seenUsers, r.seenDepts); err != nil {
			return nil, err
		}
	}
	r.cp.Ticks++
	r.tot = r.cp.Totals
	if r.idx, err = loadIndex(ctx, s.w.st); err != nil {
		return nil, err
	}
	return r, nil
}

// newRun prepares a run of a new walk from the root whose decisions go to
// sk.
func (s *Syncer) newRun(opts RunOptions, started time.Time, sk sink) *run {
	return &run{
		s: s, w: s.w, st: s.w.st, opts: opts, sink: sk, runStart: started, lastSave: started,
		cp:        &Checkpoint{ID: walkIDOf(started), StartedAt: started.UTC(), Queue: []int64{dingtalk.RootDepartmentID}},
		seenUsers: map[string]struct{}{}, seenDepts: map[int64]struct{}{},
		multi: map[string]map[int64]deptFact{}, written: map[string]bool{},
		calls: map[string]int{},
	}
}

// report builds the run's report.
func (r *run) report(started time.Time, err error) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tot
	t.Users.Seen, t.Departments.Seen = len(r.seenUsers), len(r.seenDepts)
	for _, c := range []*Counts{&t.Users, &t.Departments} {
		c.Unchanged = max(0, c.Seen-c.Created-c.Updated)
	}
	rep := &Report{
		OK: err == nil, Resumed: r.resumed, WalkStartedAt: r.cp.StartedAt, Ticks: r.cp.Ticks,
		DepartmentsSeen: t.Departments.Seen, UsersSeen: t.Users.Seen,
		Created:   t.Users.Created + t.Departments.Created,
		Updated:   t.Users.Updated + t.Departments.Updated,
		Deleted:   t.Users.Deleted + t.Departments.Deleted,
		Unchanged: t.Users.Unchanged + t.Departments.Unchanged,
		Users:     t.Users, Departments: t.Departments,
		APICalls: r.apiCalls, StoreWrites: r.storeWrites, StateWrites: r.stateWrites,
		Conflicts: r.conflicts, RateLimitWaits: r.rateWaits, OutOfScope: r.hidden,
		DryRun: r.sink.dry(), WouldWrite: r.wouldWrite,
		DurationMS: r.s.w.now().Sub(started).Milliseconds(),
	}
	if len(r.calls) > 0 {
		rep.APICallsByAPI = make(map[string]int, len(r.calls))
		for k, v := range r.calls {
			rep.APICallsByAPI[k] = v
		}
	}
	if err != nil {
		rep.Error = err.Error()
	}
	return rep
}

// finish ends a complete walk: it removes what the walk did not see,
// within the deletion guard, and records the walk as the last complete one.
func (r *run) finish(ctx context.Context, allowMassDelete bool) error {
	plan := r.deletions()
	r.removal = plan
	g := Guard{
		Users: len(plan.users), Departments: len(plan.depts),
		Mirror: r.mirrorBefore, Setting: r.s.maxDelete.String(),
	}
	g.Limit = r.s.maxDelete.Max(g.Mirror)
	removing := g.Users + g.Departments
	var guardErr error
	if removing > g.Limit {
		if allowMassDelete {
			g.Allowed = true
		} else {
			g.Tripped = true
			guardErr = &GuardError{Guard: g}
		}
	}
	r.guard = &g
	if guardErr == nil {
		if err := r.sink.remove(ctx, r, plan); err != nil {
			return err
		}
	}
	summary := &WalkSummary{
		StartedAt: r.cp.StartedAt, CompletedAt: r.w.now().UTC(), Ticks: r.cp.Ticks,
		Users: len(r.seenUsers), Departments: len(r.seenDepts), Guard: g,
	}
	r.mu.Lock()
	summary.Totals = r.tot
	r.mu.Unlock()
	summary.Totals.Users.Seen, summary.Totals.Departments.Seen = len(r.seenUsers), len(r.seenDepts)
	if guardErr != nil {
		// The records the walk did not see are still in the mirror.
		summary.Users += g.Users
		summary.Departments += g.Departments
	}
	if err := r.sink.complete(ctx, r, summary); err != nil {
		return err
	}
	level := slog.LevelInfo
	if guardErr != nil {
		level = slog.LevelError
	}
	r.w.log.LogAttrs(ctx, level, "directory walk complete",
		slog.String("walk", r.cp.ID), slog.Bool("dry_run", r.sink.dry()),
		slog.Int("users", summary.Users), slog.Int("departments", summary.Departments),
		slog.Int("would_remove", removing), slog.Int("limit", g.Limit), slog.Bool("guard_tripped", g.Tripped))
	return guardErr
}

// markComplete records a complete walk as the mirror's last one and drops
// its seen-set.
func (r *run) markComplete(ctx context.Context, summary *WalkSummary) error {
	if err := saveStatus(ctx, r.st, r.opts.Fence, func(s *Status) {
		s.LastComplete, s.Walk = summary, nil
	}); err != nil {
		return err
	}
	r.stateWrites++
	r.storeWrites++
	n, err := dropSeen(ctx, r.st, r.cp.ID)
	r.stateWrites += n
	r.storeWrites += n
	return err
}

// deletionPlan lists what a complete walk did not see.
type deletionPlan struct {
	users   []string
	depts   []int64
	members []int64  // members rows of departments not seen
	unions  []string // unionid rows that name no current user
}

// deletions compares the index with the walk's seen-set. A record written
// after the walk started is kept: whoever wrote it (a contact event) saw
// DingTalk after the walk did.
func (r *run) deletions() deletionPlan {
	var p deletionPlan
	start := r.cp.StartedAt.UnixMilli()
	for id, u := range r.idx.users {
		if _, seen := r.seenUsers[id]; !seen && !u.left && u.changed < start {
			p.users = append(p.users, id)
		}
	}
	for id, d := range r.idx.depts {
		if _, seen := r.seenDepts[id]; !seen && d.changed < start {
			p.depts = append(p.depts, id)
		}
	}
	for id := range r.idx.members {
		if _, seen := r.seenDepts[id]; !seen {
			p.members = append(p.members, id)
		}
	}
	for union, x := range r.idx.unions {
		u, ok := r.idx.users[x.userID]
		_, seen := r.seenUsers[x.userID]
		if !ok || !seen || u.left || u.unionID != union {
			p.unions = append(p.unions, union)
		}
	}
	return p
}

// remove applies a deletion plan: users become tombstones (kept for the
// retention), departments, orphaned members rows and stale unionid rows
// go.
func (r *run) remove(ctx context.Context, p deletionPlan) error {
	for _, id := range p.users {
		_, changed, err := r.w.tombstone(ctx, id, r.cp.StartedAt)
		if err != nil {
			return err
		}
		if changed {
			r.count(func(t *Totals) { t.Users.Deleted++ })
			r.storeWrites++
			u := r.idx.users[id]
			u.left = true
			r.idx.users[id] = u
		}
	}
	var ws []rowWrite
	var kinds []string
	del := func(kind, table, key string, version int64) error {
		cond, err := r.condFor(ctx, table, key, true, version)
		if err != nil {
			return err
		}
		ws = append(ws, rowWrite{table: table, item: store.Item{Key: key}, del: true, cond: cond})
		kinds = append(kinds, kind)
		return nil
	}
	for _, id := range p.depts {
		if err := del("dept", DepartmentsTable, DeptKey(id), r.idx.depts[id].version); err != nil {
			return err
		}
	}
	for _, id := range p.members {
		if err := del("members", MembersTable, DeptKey(id), r.idx.members[id].version); err != nil {
			return err
		}
	}
	for _, union := range p.unions {
		if err := del("union", UnionIDsTable, union, r.idx.unions[union].version); err != nil {
			return err
		}
	}
	if len(ws) == 0 {
		return nil
	}
	errs, err := writeRows(ctx, r.st, ws)
	if err != nil {
		return fmt.Errorf("directory: remove: %w", err)
	}
	for i, e := range errs {
		switch {
		case e == nil:
			r.storeWrites++
			if kinds[i] == "dept" {
				r.count(func(t *Totals) { t.Departments.Deleted++ })
			}
		case errors.Is(e, store.ErrConflict):
			r.conflicts++ // rewritten since the index was read: keep it
		default:
			return fmt.Errorf("directory: remove %s %s: %w", ws[i].table, ws[i].item.Key, e)
		}
	}
	return nil
}

// StepName is the directory walk's name in the sync tick, its schedule
// entry and its lease (schedule.LeaseKey).
const StepName = "directory"

// Step returns the directory walk as a step of the sync function's tick:
// due Interval after a complete walk, and at every tick while a walk is
// unfinished. allowMassDelete is what `dingfn sync --allow-mass-delete`
// sets; the timer never does.
func (s *Syncer) Step(allowMassDelete bool) schedule.Step {
	return schedule.Step{
		Name:  StepName,
		Every: s.interval,
		Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
			opts := RunOptions{Deadline: slot.Deadline, AllowMassDelete: allowMassDelete}
			if slot.Lease != nil {
				opts.Fence = slot.Lease.Fence()
			}
			rep, err := s.Run(ctx, opts)
			return schedule.Outcome{Report: rep, Done: rep.Complete}, err
		},
	}
}
