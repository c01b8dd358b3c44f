package directory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// DiffOptions shape a dry run (Syncer.Diff).
type DiffOptions struct {
	// AllowMassDelete previews a run given --allow-mass-delete: a walk
	// that would remove more than the deletion guard allows gets the
	// verdict Allowed instead of Tripped.
	AllowMassDelete bool
}

// Kind is the kind of record a Plan lists.
type Kind string

// The kinds of record a walk changes.
const (
	KindUser       Kind = "user"
	KindDepartment Kind = "department"
)

// RecordChange is one user or department a walk would change.
type RecordChange struct {
	Kind Kind `json:"kind"`
	// ID is the record's key: the userid, or the department id in decimal.
	ID string `json:"id"`
	// Change is Created (new, or back after leaving), Updated, or Deleted
	// (a user becomes a tombstone, a department goes).
	Change Change `json:"change"`
	// Fields names the fields of the record's JSON (as in the tables) an
	// update changes; "raw" only when no other field differs, since raw
	// holds every field DingTalk sent.
	Fields []string `json:"fields,omitempty"`
}

// Plan is what a walk would change in the mirror, as Syncer.Diff found
// it.
type Plan struct {
	// Report is the report Run would give for the same walk, with DryRun
	// set: the counts are the changes it would make (the deletions only
	// when the guard allows them), StoreWrites is 0 and WouldWrite the
	// rows it would write; Guard is the deletion guard's verdict.
	// Complete is false when the dry run ended before the walk did; the
	// changes found until then are listed, the deletions are not.
	Report
	// Changes lists the users and departments that would change:
	// departments before users, created before updated before deleted,
	// then by id. Deleted lists every record the walk did not see, even
	// when the guard would refuse to remove them.
	Changes []RecordChange `json:"changes"`
}

// Diff walks DingTalk exactly as Run does — the same endpoints through the
// client's rate limiter and retries, the same hashing and multi-department
// merge, the same deletion guard — but writes nothing: no record, no
// checkpoint, no seen-set, no sync status. It compares the organisation
// with the mirror and returns what a walk would change (`dingfn sync
// --dry-run`, `dingfn directory diff`).
//
// A dry run always walks from the root, ignoring an unfinished walk, and
// does not resume: it runs to the end or until ctx ends, when it returns
// the plan so far (Complete false) with an error. A walk running at the
// same time may make the plan stale, as any later change would. A tripped
// guard is not an error of Diff: its verdict is in the plan's Guard.
func (s *Syncer) Diff(ctx context.Context, opts DiffOptions) (*Plan, error) {
	started := s.w.now()
	sk := newPlanSink()
	r := s.newRun(RunOptions{AllowMassDelete: opts.AllowMassDelete}, started, sk)
	r.cp.Ticks = 1
	var err error
	if r.idx, err = loadIndex(ctx, s.w.st); err != nil {
		return &Plan{Report: *r.report(started, err), Changes: []RecordChange{}}, err
	}
	done, err := r.walk(ctx)
	switch {
	case done:
		if err = r.finish(ctx, opts.AllowMassDelete); errors.Is(err, ErrGuardTripped) {
			err = nil
		}
	case err == nil:
		err = errors.New("directory: dry run stopped before the walk was complete")
	default:
		err = fmt.Errorf("directory: dry run stopped before the walk was complete: %w", err)
	}
	p := &Plan{Report: *r.report(started, err), Changes: sk.changes}
	p.Complete = done && err == nil
	p.Guard = r.guard
	if p.Complete {
		for _, id := range r.removal.users {
			p.Changes = append(p.Changes, RecordChange{Kind: KindUser, ID: id, Change: Deleted})
		}
		for _, id := range r.removal.depts {
			p.Changes = append(p.Changes, RecordChange{Kind: KindDepartment, ID: DeptKey(id), Change: Deleted})
		}
	}
	if p.Changes == nil {
		p.Changes = []RecordChange{}
	}
	slices.SortFunc(p.Changes, compareChanges)
	return p, err
}

// Listing order: departments before users; created, updated, deleted.
var (
	kindOrder   = map[Kind]int{KindDepartment: 0, KindUser: 1}
	changeOrder = map[Change]int{Created: 0, Updated: 1, Deleted: 2}
)

func compareChanges(a, b RecordChange) int {
	if c := cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]); c != 0 {
		return c
	}
	if c := cmp.Compare(changeOrder[a.Change], changeOrder[b.Change]); c != 0 {
		return c
	}
	if a.Kind == KindDepartment {
		x, _ := strconv.ParseInt(a.ID, 10, 64)
		y, _ := strconv.ParseInt(b.ID, 10, 64)
		return cmp.Compare(x, y)
	}
	return cmp.Compare(a.ID, b.ID)
}

// bookkeeping are the fields of a stored record that say when, not what.
var bookkeeping = map[string]bool{"hash": true, "changed_at": true, "left_at": true}

// changedFields names the top-level fields of two JSON records that
// differ, sorted, leaving out the bookkeeping ones and raw unless nothing
// else differs. A stored row that is not a JSON object yields nil.
func changedFields(old, next []byte) []string {
	var a, b map[string]json.RawMessage
	if json.Unmarshal(old, &a) != nil || json.Unmarshal(next, &b) != nil {
		return nil
	}
	var out []string
	rawDiffers := false
	for k := range keysOf(a, b) {
		if bookkeeping[k] || sameJSON(a[k], b[k]) {
			continue
		}
		if k == "raw" {
			rawDiffers = true
			continue
		}
		out = append(out, k)
	}
	if len(out) == 0 && rawDiffers {
		out = []string{"raw"}
	}
	slices.Sort(out)
	return out
}

// keysOf returns the union of two maps' keys.
func keysOf(a, b map[string]json.RawMessage) map[string]struct{} {
	k := make(map[string]struct{}, len(a)+len(b))
	for x := range a {
		k[x] = struct{}{}
	}
	for x := range b {
		k[x] = struct{}{}
	}
	return k
}

// sameJSON compares two JSON values byte for byte after compacting them.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y bytes.Buffer
	if json.Compact(&x, a) != nil || json.Compact(&y, b) != nil {
		return false
	}
	return bytes.Equal(x.Bytes(), y.Bytes())
}
