package events

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// drainPage is how many index rows one scan of the drain reads.
const drainPage = 200

// recordTimeout bounds recording an outcome after the drain's own
// context ended, so a run cut short by the tick's deadline still lands.
const recordTimeout = 5 * time.Second

// DrainReport is what one drain did.
type DrainReport struct {
	// Due counts the index rows read that were due.
	Due int `json:"due"`
	// Processed counts the events whose handlers ran; Done, Failed, Dead
	// and Pending split them by the status they ended in.
	Processed int `json:"processed"`
	Done      int `json:"done"`
	Failed    int `json:"failed"`
	Dead      int `json:"dead"`
	Pending   int `json:"pending"`
	// Cleaned counts index rows removed because their event was finished
	// or gone; Deferred those moved to the event's later due time.
	Cleaned  int `json:"cleaned"`
	Deferred int `json:"deferred"`
	// Partial is true when the drain stopped at its deadline with due
	// events left; the next one continues.
	Partial bool `json:"partial"`
	// Errors counts store failures (the events stay due).
	Errors int `json:"errors"`
}

// Drain processes the events due at or before until, earliest first,
// running only the handlers that have not succeeded, and records each
// outcome: done, failed with its next attempt after a back-off, or dead
// once a handler has failed the maximum number of times. It stops
// starting events at deadline (zero: none). Run it under a lease (one
// drain at a time); until is normally now, and now plus the grace in
// `dingfn dev`, to take events the callback has just left unfinished.
func (s *Service) Drain(ctx context.Context, until, deadline time.Time) (DrainReport, error) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	var (
		mu   sync.Mutex
		rep  DrainReport
		drop []string
		errs []error
	)
	seen := map[string]bool{}
	r := store.Range{Start: DuePrefix, End: DueKey(until.Add(time.Millisecond), ""), Limit: drainPage}
	for {
		page, err := s.log.st.Scan(ctx, s.log.table, r)
		if err != nil {
			return rep, fmt.Errorf("events: drain: %w", err)
		}
		sem := make(chan struct{}, s.workers)
		var wg sync.WaitGroup
		for _, it := range page.Items {
			if ctx.Err() != nil || (!deadline.IsZero() && !s.now().Before(deadline)) {
				rep.Partial = true
				break
			}
			id, _, ok := parseDueKey(it.Key)
			if !ok {
				drop = append(drop, it.Key)
				continue
			}
			rep.Due++
			if seen[id] {
				continue // an older index row of an event this drain took
			}
			seen[id] = true
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				res, err := s.drainOne(ctx, it.Key, id, until)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					rep.Errors++
					errs = append(errs, err)
					return
				}
				res.add(&rep)
				if res.drop {
					drop = append(drop, it.Key)
				}
			})
		}
		wg.Wait()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		err = s.log.deleteKeys(dctx, drop)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
		drop = drop[:0]
		if rep.Partial || page.Next == "" || ctx.Err() != nil {
			break
		}
		r.Cursor = page.Next
	}
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Errorf("and %d more", len(errs)-5))
	}
	if len(errs) > 0 {
		s.logger.WarnContext(ctx, "event drain had store failures; the events stay due", "errors", rep.Errors)
	}
	return rep, errors.Join(errs...)
}

// drained is what drainOne did with one index row.
type drained struct {
	status   Status // the event's status after processing; "" if not processed
	cleaned  bool
	deferred bool
	drop     bool // the index row is stale: remove it
}

func (d drained) add(r *DrainReport) {
	switch {
	case d.cleaned:
		r.Cleaned++
	case d.deferred:
		r.Deferred++
	}
	if d.status == "" {
		return
	}
	r.Processed++
	switch d.status {
	case StatusDone:
		r.Done++
	case StatusFailed:
		r.Failed++
	case StatusDead:
		r.Dead++
	default:
		r.Pending++
	}
}

// drainOne handles one due index row.
func (s *Service) drainOne(ctx context.Context, key, id string, until time.Time) (drained, error) {
	rec, err := s.log.get(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return drained{cleaned: true, drop: true}, nil
	case errors.Is(err, record.ErrMalformed):
		s.logger.ErrorContext(ctx, "event row is not readable; left in the log, not processed", "id", id, "err", err)
		return drained{cleaned: true, drop: true}, nil
	case err != nil:
		return drained{}, fmt.Errorf("events: drain %s: %w", id, err)
	}
	e := rec.Value
	if e.Status.Final() {
		return drained{cleaned: true, drop: true}, nil
	}
	if e.NextAttemptAt.After(until) {
		// Retried later than this row says: make sure the row of its real
		// due time exists before dropping this one.
		if DueKey(e.NextAttemptAt, id) == key {
			return drained{}, nil
		}
		if err := s.log.putIndex(ctx, &e, rec.ExpiresAt); err != nil {
			return drained{}, err
		}
		return drained{deferred: true, drop: true}, nil
	}
	pctx, cancel := context.WithTimeout(ctx, s.eventTimeout)
	out := s.run(pctx, &e)
	cancel()
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	next, err := s.record(rctx, id, out, true)
	if err != nil {
		return drained{}, fmt.Errorf("events: drain %s: %w", id, err)
	}
	if next.Status != StatusDone {
		s.logger.InfoContext(ctx, "event not done", "id", id, "type", e.Type, "status", next.Status, "attempts", next.Attempts, "next_attempt_at", next.NextAttemptAt, "err", next.LastError)
	}
	keep := !next.Status.Final() && DueKey(next.NextAttemptAt, id) == key
	return drained{status: next.Status, drop: !keep}, nil
}

// Replay makes a logged event due now: the handlers that failed, died or
// were interrupted run again with fresh attempts, and with all the ones
// that succeeded too. The drain takes it at its next run.
func (s *Service) Replay(ctx context.Context, id string, all bool) (*Entry, error) {
	rec, err := s.log.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("events: replay %s: %w", id, err)
	}
	now := s.now().UTC()
	due := rec.Value
	due.NextAttemptAt = now
	// The index row first: an event marked due is never without one.
	if err := s.log.putIndex(ctx, &due, rec.ExpiresAt); err != nil {
		return nil, err
	}
	out, err := record.Update(ctx, s.log.st, s.log.table, id, func(cur Entry, found bool) (Entry, error) {
		if !found {
			return cur, fmt.Errorf("events: replay %s: %w", id, store.ErrNotFound)
		}
		for name, res := range cur.Results {
			if all || res.Status != StatusDone {
				delete(cur.Results, name)
			}
		}
		cur.Status, cur.NextAttemptAt, cur.LastError, cur.UpdatedAt = StatusPending, now, "", now
		return cur, nil
	}, record.WithExpiry(func(e Entry) time.Time { return s.expiry(&e) }))
	if err != nil {
		return nil, fmt.Errorf("events: replay %s: %w", id, err)
	}
	return &out.Value, nil
}

// Get returns a logged event, or an error matching store.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Entry, error) {
	rec, err := s.log.get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("events: get %s: %w", id, err)
	}
	return &rec.Value, nil
}

// List iterates over the logged events in status (every event when
// status is ""), in id order. It reads the whole table: it is for the
// operator (listing dead events), not for the request path.
func (s *Service) List(ctx context.Context, status Status) iter.Seq2[*Entry, error] {
	return func(yield func(*Entry, error) bool) {
		for rec, err := range s.log.entries(ctx) {
			if err != nil {
				if !yield(nil, err) {
					return
				}
				continue
			}
			if status != "" && rec.Value.Status != status {
				continue
			}
			e := rec.Value
			if !yield(&e, nil) {
				return
			}
		}
	}
}

// Purge physically removes expired events and index rows (they are
// already invisible) and returns how many; the sync tick runs it daily.
func (s *Service) Purge(ctx context.Context) (int, error) {
	p, ok := s.log.st.(store.Purger)
	if !ok {
		return 0, nil
	}
	n, err := p.Purge(ctx, s.log.table)
	if err != nil {
		return n, fmt.Errorf("events: purge: %w", err)
	}
	return n, nil
}
