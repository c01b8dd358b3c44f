package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/redact"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// Defaults of a Service; DINGFN_EVENT_RETENTION and
// DINGFN_EVENT_MAX_ATTEMPTS set the first two.
const (
	DefaultRetention   = 30 * 24 * time.Hour
	DefaultMaxAttempts = 8
	// DefaultBudget bounds Dispatch, the callback's share of DingTalk's
	// 1500 ms: logging, processing and recording the outcome.
	DefaultBudget = 1100 * time.Millisecond
	// DefaultReserve is the part of the budget kept for recording the
	// outcome: processing stops at DefaultBudget - DefaultReserve, or
	// earlier when the log write showed a slow store (the reserve is then
	// 3.5 times that write's time).
	DefaultReserve = 350 * time.Millisecond
	// DefaultGrace is how long after logging an event the drain may take
	// it: long after the callback that logged it has answered, so the two
	// never process one event at once.
	DefaultGrace = time.Minute
	// DefaultBackoff and DefaultMaxBackoff shape the retry delays: the
	// n-th failure waits DefaultBackoff·2^(n-1), at most
	// DefaultMaxBackoff, plus up to a fifth more, so 8 attempts span
	// about two hours.
	DefaultBackoff    = time.Minute
	DefaultMaxBackoff = time.Hour
	// DefaultEventTimeout bounds one event's processing in the drain.
	DefaultEventTimeout = 30 * time.Second
	// DefaultWorkers is how many events the drain processes at once.
	DefaultWorkers = 4
)

// minProcessing is the least time worth processing an event inline.
const minProcessing = 50 * time.Millisecond

// maxErrorLen bounds a stored error text.
const maxErrorLen = 1000

// Service is the event log and its processing: it logs each event once
// (Dispatch for the callback, Accept for other sources), runs the Mux's
// handlers on it within a time budget, records each handler's outcome,
// and retries what failed from the drain (Drain) until it is done or
// dead. It implements callback.Dispatcher.
type Service struct {
	log          logTable
	mux          *Mux
	now          func() time.Time
	logger       *slog.Logger
	retention    time.Duration
	maxAttempts  int
	budget       time.Duration
	reserve      time.Duration
	grace        time.Duration
	backoff      time.Duration
	maxBackoff   time.Duration
	eventTimeout time.Duration
	workers      int
	onPending    func()
	handlerCtx   []func(context.Context) context.Context

	// drainMu serialises this process's drains (the timer's and an
	// immediate one); the schedule's lease keeps other processes out.
	drainMu            sync.Mutex
	kickMu             sync.Mutex
	kicking, kickAgain bool
}

var _ callback.Dispatcher = (*Service)(nil)

// Option configures a Service.
type Option func(*Service) error

// WithClock sets the clock of received_at, next_attempt_at and expiry
// (the store's clock in tests). Time budgets run on the runtime's timers.
func WithClock(now func() time.Time) Option {
	return func(s *Service) error {
		if now == nil {
			return errors.New("events: WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithLogger sets the logger (default: discard). Log lines carry ids,
// types and counts, never payloads.
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) error {
		if l == nil {
			return errors.New("events: WithLogger: nil logger")
		}
		s.logger = l
		return nil
	}
}

// WithTable sets the log's table (default DefaultTable).
func WithTable(table string) Option {
	return func(s *Service) error {
		if err := store.CheckTable(table); err != nil {
			return err
		}
		s.log.table = table
		return nil
	}
}

// WithRetention sets how long events are kept (DINGFN_EVENT_RETENTION,
// default DefaultRetention). It must exceed the callback's timestamp
// window, so that every replay the window lets in is caught by dedupe.
func WithRetention(d time.Duration) Option {
	return func(s *Service) error {
		if d < time.Hour {
			return fmt.Errorf("events: WithRetention: %v is shorter than an hour", d)
		}
		s.retention = d
		return nil
	}
}

// WithMaxAttempts sets how many times a handler may fail before the event
// is dead (DINGFN_EVENT_MAX_ATTEMPTS, default DefaultMaxAttempts).
func WithMaxAttempts(n int) Option {
	return func(s *Service) error {
		if n < 1 {
			return fmt.Errorf("events: WithMaxAttempts: %d is less than 1", n)
		}
		s.maxAttempts = n
		return nil
	}
}

// WithBudget sets Dispatch's time budget and the part of it reserved for
// recording the outcome (defaults DefaultBudget, DefaultReserve).
func WithBudget(budget, reserve time.Duration) Option {
	return func(s *Service) error {
		if budget <= 0 || reserve < 0 || reserve >= budget {
			return fmt.Errorf("events: WithBudget(%v, %v): want 0 <= reserve < budget", budget, reserve)
		}
		s.budget, s.reserve = budget, reserve
		return nil
	}
}

// WithGrace sets how long after logging an event the drain may take it
// (default DefaultGrace); it must exceed the budget.
func WithGrace(d time.Duration) Option {
	return func(s *Service) error {
		if d < 0 {
			return fmt.Errorf("events: WithGrace: %v is negative", d)
		}
		s.grace = d
		return nil
	}
}

// WithBackoff sets the first retry delay and the longest one (defaults
// DefaultBackoff, DefaultMaxBackoff).
func WithBackoff(first, longest time.Duration) Option {
	return func(s *Service) error {
		if first <= 0 || longest < first {
			return fmt.Errorf("events: WithBackoff(%v, %v): want 0 < first <= longest", first, longest)
		}
		s.backoff, s.maxBackoff = first, longest
		return nil
	}
}

// WithDrain sets the drain's per-event timeout and concurrency (defaults
// DefaultEventTimeout, DefaultWorkers).
func WithDrain(eventTimeout time.Duration, workers int) Option {
	return func(s *Service) error {
		if eventTimeout <= 0 || workers < 1 {
			return fmt.Errorf("events: WithDrain(%v, %d): want a positive timeout and at least one worker", eventTimeout, workers)
		}
		s.eventTimeout, s.workers = eventTimeout, workers
		return nil
	}
}

// WithHandlerContext adds f to what prepares the context every handler
// runs with, inline and in the drain alike. A feature uses it to hand its
// handlers what they need beyond the event (the chatbot's reply channel,
// say) without each handler being wired to it. Options apply in order.
func WithHandlerContext(f func(context.Context) context.Context) Option {
	return func(s *Service) error {
		if f == nil {
			return errors.New("events: WithHandlerContext: nil function")
		}
		s.handlerCtx = append(s.handlerCtx, f)
		return nil
	}
}

// WithOnPending sets a function Dispatch calls (without waiting) when it
// answers with an event still unfinished; `dingfn dev` uses it to drain
// at once instead of at the next tick.
func WithOnPending(f func()) Option {
	return func(s *Service) error {
		s.onPending = f
		return nil
	}
}

// New returns the event log on st, processing with mux's handlers.
func New(st store.Store, mux *Mux, opts ...Option) (*Service, error) {
	if st == nil || mux == nil {
		return nil, errors.New("events: New needs a store and a Mux")
	}
	s := &Service{
		log: logTable{st: st, table: DefaultTable}, mux: mux, now: time.Now, logger: slog.New(slog.DiscardHandler),
		retention: DefaultRetention, maxAttempts: DefaultMaxAttempts, budget: DefaultBudget, reserve: DefaultReserve,
		grace: DefaultGrace, backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff,
		eventTimeout: DefaultEventTimeout, workers: DefaultWorkers,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Mux returns the service's handlers.
func (s *Service) Mux() *Mux { return s.mux }

// Table returns the log's table.
func (s *Service) Table() string { return s.log.table }

// expiry is when an entry's rows expire.
func (s *Service) expiry(e *Entry) time.Time { return e.ReceivedAt.Add(s.retention) }

// newEntry is the row of a newly received event: done at once when no
// handler wants it, else pending, due for the drain after the grace.
func (s *Service) newEntry(ev *Event, now time.Time) *Entry {
	e := &Entry{ID: ev.ID, Type: ev.Type, CorpID: ev.CorpID, ReceivedAt: ev.ReceivedAt.UTC(), EventTime: ev.Time.UTC(),
		Source: ev.Source, Payload: ev.Payload, Status: StatusDone, UpdatedAt: now.UTC()}
	if ev.Time.IsZero() {
		e.EventTime = time.Time{}
	}
	if s.mux.wants(ev.Type) {
		e.Status, e.NextAttemptAt = StatusPending, now.Add(s.grace).UTC()
	}
	return e
}

// Dispatch is the callback's dispatcher: Process of the decrypted push.
// An error (the event could not be logged) makes the callback answer 5xx,
// so DingTalk sends the event again.
func (s *Service) Dispatch(ctx context.Context, cev *callback.Event) error {
	_, err := s.Process(ctx, FromCallback(cev, s.now()))
	return err
}

// Processed is what Process did with an event.
type Processed struct {
	// Duplicate: the id was already logged (a redelivery or a replay);
	// nothing ran.
	Duplicate bool
	// Status is the event's status when Process returned: done, or what
	// the drain will take up (pending, failed), or dead.
	Status Status
}

// Process logs ev (from any source: the callback's push, or a feature of
// its own, such as robot messages, which sets its own ID and Type) and
// processes it within the budget. The log write is one conditional write;
// an error means the event is not logged. A duplicate is acknowledged and
// not processed again. A new event is processed until the budget's
// processing share ends and its outcome recorded; whatever is not finished
// stays in the log for the drain. It returns within the budget even when a
// handler ignores its context (such a handler may still be running when
// the drain retries it: honour ctx).
func (s *Service) Process(ctx context.Context, ev *Event) (Processed, error) {
	if err := checkEvent(ev); err != nil {
		return Processed{}, err
	}
	start := time.Now()
	// The budget bounds the store calls; its timer starts only if one of
	// them waits on it (see budgetCtx).
	parent := ctx
	bctx := withBudget(ctx, start.Add(s.budget))
	defer bctx.stop()
	ctx = bctx
	now := s.now()
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now.UTC()
	}
	e := s.newEntry(ev, now)
	// Store calls honour their context (the store contract; otsstore
	// bounds the SDK's calls itself), so the budget bounds them.
	dup, logged, payloadAt, err := s.log.insertOne(ctx, e, s.expiry(e))
	if err != nil {
		return Processed{}, fmt.Errorf("events: log %s %s: %w", ev.Type, ev.ID, err)
	}
	if dup {
		if s.logger.Enabled(ctx, slog.LevelDebug) { // no arguments built for nothing on the reply path
			s.logger.DebugContext(ctx, "event already logged; acknowledged, not processed again", "id", ev.ID, "type", ev.Type)
		}
		return Processed{Duplicate: true}, nil
	}
	if e.Status.Final() {
		if s.logger.Enabled(ctx, slog.LevelDebug) {
			s.logger.DebugContext(ctx, "event logged; no handler", "id", ev.ID, "type", ev.Type)
		}
		return Processed{Status: e.Status}, nil
	}
	// Keep enough of the budget to record the outcome (a read and a
	// write) at the pace the store has just shown; when that leaves no
	// time to process, leave the event to the drain as it is.
	reserve := max(s.reserve, time.Since(start)*7/2)
	procEnd := start.Add(s.budget - reserve)
	if time.Until(procEnd) < minProcessing {
		s.logger.InfoContext(ctx, "store too slow to process inline; left for the drain", "id", ev.ID, "type", ev.Type, "log_write", time.Since(start))
		s.kickPending()
		return Processed{Status: StatusPending}, nil
	}
	// procEnd is before the budget's end: the processing context need not
	// descend from the budget's (whose timer then need not start).
	pctx, pcancel := context.WithDeadline(parent, procEnd)
	out := s.run(pctx, e)
	pcancel()
	// No index row now: the one written with the event, due at the end of
	// the grace, already leads the drain to it.
	next, err := s.recordLogged(ctx, e, logged, payloadAt, out)
	switch {
	case err != nil:
		s.logger.WarnContext(ctx, "event outcome not recorded; the drain will process it", "id", ev.ID, "type", ev.Type, "err", err)
		s.kickPending()
		return Processed{Status: StatusPending}, nil
	case !next.Status.Final():
		s.logger.InfoContext(ctx, "event not finished inline; left for the drain", "id", ev.ID, "type", ev.Type, "status", next.Status, "err", next.LastError)
		s.kickPending()
	}
	return Processed{Status: next.Status}, nil
}

// kickPending tells WithOnPending's function, if any, that an event was
// left unfinished.
func (s *Service) kickPending() {
	if s.onPending != nil {
		go s.onPending()
	}
}

// Accept logs events from another source (recovered pushes, a feature of
// its own) without processing them: new ones are due for the drain after
// the grace. It returns, for each event, whether it was already logged.
func (s *Service) Accept(ctx context.Context, evs ...*Event) ([]bool, error) {
	const chunk = 100 // events per batch: at most 200 rows
	for _, ev := range evs {
		if err := checkEvent(ev); err != nil {
			return nil, err
		}
	}
	now := s.now()
	dup := make([]bool, 0, len(evs))
	for part := range slices.Chunk(evs, chunk) {
		entries := make([]*Entry, len(part))
		expires := make([]time.Time, len(part))
		for i, ev := range part {
			if ev.ReceivedAt.IsZero() {
				ev.ReceivedAt = now
			}
			entries[i] = s.newEntry(ev, now)
			expires[i] = s.expiry(entries[i])
		}
		d, err := s.log.insert(ctx, entries, expires)
		if err != nil {
			return dup, err
		}
		dup = append(dup, d...)
	}
	return dup, nil
}

// checkEvent refuses an event that cannot be logged: its id must be 1-128
// of [A-Za-z0-9_.-] (EventID's are), so it is a store key below "~", and
// its payload a JSON object.
func checkEvent(ev *Event) error {
	switch {
	case ev == nil:
		return errors.New("events: nil event")
	case !plainID(ev.ID):
		return fmt.Errorf("events: event id %q: want 1-128 of [A-Za-z0-9_.-]", ev.ID)
	case ev.Type == "":
		return fmt.Errorf("events: event %s has no type", ev.ID)
	case !jsonObject(ev.Payload):
		return fmt.Errorf("events: event %s: payload is not a JSON object", ev.ID)
	}
	return nil
}

// outcome is one handler run's result.
type outcome struct {
	err         error
	interrupted bool
}

// outcomes are a run's results, one per handler that ran, by route name
// in ascending order.
type outcomes []namedOutcome

type namedOutcome struct {
	name string
	outcome
}

// run calls every handler of e that has not yet succeeded (or died),
// concurrently, until they return or ctx ends; a handler still running
// then is interrupted (it is not counted as a failure).
func (s *Service) run(ctx context.Context, e *Entry) outcomes {
	var todo []*route
	for _, r := range s.mux.match(e.Type) {
		if st := e.Results[r.name].Status; st != StatusDone && st != StatusDead {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ev := e.Event()
	for _, f := range s.handlerCtx {
		ctx = f(ctx)
	}
	type returned struct {
		i   int
		err error
	}
	results := make(chan returned, len(todo))
	out := make(outcomes, len(todo))
	for i, r := range todo {
		// Until it returns, a handler counts as interrupted.
		out[i] = namedOutcome{name: r.name, outcome: outcome{interrupted: true}}
		go func() { results <- returned{i, s.call(ctx, r.name, r.h, ev)} }()
	}
	got := func(r returned) {
		out[r.i].outcome = outcome{err: r.err, interrupted: r.err != nil && ctx.Err() != nil}
	}
	for range todo {
		select {
		case r := <-results:
			got(r)
			continue
		case <-ctx.Done():
		}
		// A handler that returned in the meantime still counts; the others
		// are interrupted.
		for drained := false; !drained; {
			select {
			case r := <-results:
				got(r)
			default:
				drained = true
			}
		}
		cause := context.Cause(ctx)
		for i := range out {
			if o := &out[i]; o.interrupted && o.err == nil { // still running
				o.err = cause
			}
		}
		break
	}
	slices.SortFunc(out, func(a, b namedOutcome) int { return strings.Compare(a.name, b.name) })
	return out
}

// call runs a handler, turning a panic into an error (and a log line with
// the stack).
func (s *Service) call(ctx context.Context, name string, h Handler, ev *Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.ErrorContext(ctx, "event handler panicked", "handler", name, "id", ev.ID, "type", ev.Type, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return h.HandleEvent(ctx, ev)
}

// record merges a run's outcomes into the event's row (a handler another
// run finished stays done) and, with index, writes its index row when it
// is not final. It returns the row as stored.
func (s *Service) record(ctx context.Context, id string, out outcomes, index bool) (*Entry, error) {
	rec, err := record.Update(ctx, s.log.st, s.log.table, id, func(cur Entry, found bool) (Entry, error) {
		if !found {
			return cur, fmt.Errorf("events: %s vanished from the log (expired?)", id)
		}
		return s.apply(cur, out), nil
	}, record.WithExpiry(func(e Entry) time.Time { return s.expiry(&e) }))
	if err != nil {
		return nil, err
	}
	next := rec.Value
	if index && !next.Status.Final() {
		if err := s.log.putIndex(ctx, &next, rec.ExpiresAt); err != nil {
			return &next, err
		}
	}
	return &next, nil
}

// recordLogged is record for Process, which has just logged e as logged
// (with its payload at logged[payloadAt:]): when the row is still what
// it wrote, the row need not be decoded to merge the outcome into it.
// It is still a read and a write conditional on the version read, as in
// record, so a change by anyone else since is never overwritten; when the
// row differs, or the write loses to another, record does the merge from
// the stored row.
func (s *Service) recordLogged(ctx context.Context, e *Entry, logged []byte, payloadAt int, out outcomes) (*Entry, error) {
	if payloadAt < 0 {
		return s.record(ctx, e.ID, out, false)
	}
	it, err := s.log.st.Get(ctx, s.log.table, e.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.record(ctx, e.ID, out, false) // reports it
	case err != nil:
		return nil, fmt.Errorf("record: update %s %q: %w", s.log.table, e.ID, err)
	case !bytes.Equal(it.Value, logged):
		return s.record(ctx, e.ID, out, false)
	}
	cur := *e
	// The payload as stored, not the one the handlers were given (which a
	// handler could have scribbled on).
	cur.Payload = it.Value[payloadAt : payloadAt+len(e.Payload) : payloadAt+len(e.Payload)]
	next := s.apply(cur, out)
	v, err := next.encode()
	if err != nil {
		return nil, fmt.Errorf("events: encode %s: %w", e.ID, err)
	}
	_, err = s.log.st.Put(ctx, s.log.table, store.Item{Key: e.ID, Value: v, ExpiresAt: s.expiry(&next)}, store.IfVersion(it.Version))
	switch {
	case errors.Is(err, store.ErrConflict):
		return s.record(ctx, e.ID, out, false)
	case err != nil:
		return nil, fmt.Errorf("record: update %s %q: %w", s.log.table, e.ID, err)
	}
	return &next, nil
}

// apply computes an event's row after a run.
func (s *Service) apply(cur Entry, out outcomes) Entry {
	now := s.now().UTC()
	next := cur
	next.Results = maps.Clone(cur.Results)
	if next.Results == nil {
		next.Results = map[string]Result{}
	}
	next.Attempts++
	next.UpdatedAt = now
	var firstErr string
	for _, o := range out {
		name := o.name
		res := next.Results[name]
		if res.Status == StatusDone {
			continue
		}
		res.At = now
		switch {
		case o.err == nil:
			res.Status, res.LastError = StatusDone, ""
		case o.interrupted:
			res.Status, res.LastError = StatusPending, errorText(fmt.Errorf("interrupted: %w", o.err))
		case errors.Is(o.err, ErrPermanent):
			res.Attempts++
			res.Status, res.LastError = StatusDead, errorText(o.err)
		default:
			res.Attempts++
			res.Status, res.LastError = StatusFailed, errorText(o.err)
			if res.Attempts >= s.maxAttempts {
				res.Status = StatusDead
			}
		}
		if res.LastError != "" && firstErr == "" {
			firstErr = name + ": " + res.LastError
		}
		next.Results[name] = res
	}
	s.settle(&next, now, firstErr)
	return next
}

// settle sets an entry's status from the results of the handlers that
// match it now: pending if any has not run to an end, else failed (with a
// back-off) if any may be retried, else dead if any is dead, else done.
func (s *Service) settle(e *Entry, now time.Time, lastErr string) {
	var pending, failed, dead bool
	maxFail := 0
	for _, r := range s.mux.match(e.Type) {
		res := e.Results[r.name]
		switch res.Status {
		case StatusDone:
		case StatusDead:
			dead = true
		case StatusFailed:
			failed = true
			maxFail = max(maxFail, res.Attempts)
		default: // pending, or never ran
			pending = true
		}
	}
	switch {
	case pending:
		e.Status, e.NextAttemptAt = StatusPending, now
	case failed:
		e.Status, e.NextAttemptAt = StatusFailed, now.Add(s.delay(e.ID, maxFail))
	case dead:
		e.Status, e.NextAttemptAt = StatusDead, time.Time{}
	default:
		e.Status, e.NextAttemptAt, e.LastError = StatusDone, time.Time{}, ""
		return
	}
	if lastErr != "" {
		e.LastError = lastErr
	}
}

// delay is the wait after a handler's n-th failure: the back-off doubled
// n-1 times, capped, plus up to a fifth more, spread by the event id so
// that a burst of failures is not retried in one burst.
func (s *Service) delay(id string, n int) time.Duration {
	d := s.backoff
	for i := 1; i < n && d < s.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.maxBackoff)
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", id, n)
	return d + time.Duration(float64(d)*0.2*float64(h.Sum32()%1000)/1000)
}

// errorText is an error as stored: redacted, bounded.
func errorText(err error) string {
	t := redact.String(err.Error())
	if len(t) > maxErrorLen {
		t = t[:maxErrorLen] + "…"
	}
	return t
}
