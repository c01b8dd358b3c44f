package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/dingfn/dingfn/shared/store"
)

// sink is where a walk's decisions go. Everything before it — the calls
// to DingTalk with their rate limiting and retries, the hashing, the
// multi-department merge, the index that tells new from changed from
// unchanged — is one code path, so a dry run (Diff) decides exactly as a
// real run (Run) does; only the sink differs: storeSink writes
// conditional batches and the sync's state, planSink writes nothing and
// records the plan.
type sink interface {
	// write makes a page's staged writes and reports each outcome to its
	// done function.
	write(ctx context.Context, r *run, ws []staged) error
	// save checkpoints the walk: its seen-set and place.
	save(ctx context.Context, r *run) error
	// remove applies a complete walk's deletions, which the guard allowed.
	remove(ctx context.Context, r *run, p deletionPlan) error
	// complete records the walk as the mirror's last complete one.
	complete(ctx context.Context, r *run, summary *WalkSummary) error
	// dry reports that nothing reaches the store.
	dry() bool
}

// storeSink is the real run's sink: the store.
type storeSink struct{}

func (storeSink) dry() bool { return false }

func (storeSink) save(ctx context.Context, r *run) error { return r.checkpoint(ctx) }

func (storeSink) remove(ctx context.Context, r *run, p deletionPlan) error { return r.remove(ctx, p) }

func (storeSink) complete(ctx context.Context, r *run, summary *WalkSummary) error {
	return r.markComplete(ctx, summary)
}

// write applies the rows in conditional batches; a row another writer
// changed since the index read it is a conflict, which keeps the newer
// row.
func (storeSink) write(ctx context.Context, r *run, ws []staged) error {
	rows := make([]rowWrite, len(ws))
	for i, w := range ws {
		rows[i] = w.w
	}
	errs, err := writeRows(ctx, r.st, rows)
	if err != nil {
		return fmt.Errorf("directory: write: %w", err)
	}
	for i, e := range errs {
		switch {
		case e == nil:
			r.storeWrites++
		case errors.Is(e, store.ErrConflict):
			r.conflicts++
		default:
			return fmt.Errorf("directory: write %s %s: %w", rows[i].table, rows[i].item.Key, e)
		}
		if err := ws[i].done(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// planSink is a dry run's sink: every write succeeds in the run's index
// only (so the rest of the walk decides as after a real write), and the
// users and departments it would create or update are recorded, with the
// fields that differ from the stored row.
type planSink struct {
	changes []RecordChange
	at      map[string]int // Kind + "\x00" + ID → index in changes
}

func newPlanSink() *planSink { return &planSink{at: map[string]int{}} }

func (*planSink) dry() bool { return true }

func (*planSink) save(context.Context, *run) error { return nil }

func (*planSink) complete(context.Context, *run, *WalkSummary) error { return nil }

// remove counts the deletions as the real run would report them; Diff
// lists the records themselves, whatever the guard says.
func (*planSink) remove(_ context.Context, r *run, p deletionPlan) error {
	r.count(func(t *Totals) {
		t.Users.Deleted += len(p.users)
		t.Departments.Deleted += len(p.depts)
	})
	r.wouldWrite += len(p.users) + len(p.depts) + len(p.members) + len(p.unions)
	return nil
}

func (p *planSink) write(ctx context.Context, r *run, ws []staged) error {
	for _, w := range ws {
		if w.rec != nil {
			if err := p.note(ctx, r, w); err != nil {
				return err
			}
		}
		r.wouldWrite++
		if err := w.done(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// note records one user or department write. A user several departments
// list may be staged more than once: its first change (created, or
// updated) stands, and an update's fields are those of its last value
// against the stored row, which a dry run never changes.
func (p *planSink) note(ctx context.Context, r *run, w staged) error {
	c := *w.rec
	if c.Change == Updated {
		old, err := r.st.Get(ctx, w.w.table, w.w.item.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c.Change = Created // removed since the index was read
		case err != nil:
			return fmt.Errorf("directory: read %s %s: %w", w.w.table, w.w.item.Key, err)
		default:
			c.Fields = changedFields(old.Value, w.w.item.Value)
		}
	}
	key := string(c.Kind) + "\x00" + c.ID
	if i, ok := p.at[key]; ok {
		if p.changes[i].Change == Updated {
			p.changes[i].Fields = c.Fields
		}
		return nil
	}
	p.at[key] = len(p.changes)
	p.changes = append(p.changes, c)
	return nil
}
