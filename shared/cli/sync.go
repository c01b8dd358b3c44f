package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/schedule"
)

// errNotRun is a sync step that did not run: another runner held its
// lease.
var errNotRun = errors.New("sync: not run")

func (a *app) syncCommand() *cobra.Command {
	var allowMassDelete, dryRun bool
	c := &cobra.Command{
		Use:   "sync [--dry-run] [--allow-mass-delete]",
		Short: "Walk the DingTalk organisation into the directory mirror now",
		Long: `Run the sync function's directory walk now, whether it is due or not, under
the same store lease as the deployed sync (a walk already running elsewhere
is reported and not doubled). An unfinished walk is continued. Without a
deadline the walk runs to the end.

On a terminal a progress bar shows departments, users, API calls, their
rate and the time left (estimated from the last complete walk), then a
summary; otherwise, or with --json, the report is printed as JSON, as the
sync function reports it.

A complete walk removes the users and departments it did not see, unless
they are more than DINGFN_SYNC_MAX_DELETE allows: then it removes nothing
and exits 5. If the organisation really shrank, run it again with
--allow-mass-delete.

--dry-run walks DingTalk exactly as the sync does but writes nothing (no
lease, record, checkpoint or status; only the shared access-token cache
may be refreshed): it prints how many users and departments a sync would
create, update and delete — a table on a terminal, the walk's JSON report
(dry_run: true) otherwise — and exits 5 when the deletion guard would trip.
It always walks the whole organisation from the root. 'dingfn directory
diff' lists the records themselves.`,
		Example: `  dingfn sync
  dingfn sync --json | jq .steps[0].users
  dingfn sync --dry-run
  dingfn sync --allow-mass-delete`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun {
				return a.runDryRun(cmd, allowMassDelete)
			}
			ctx := cmd.Context()
			b, err := a.open(ctx, cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			human := a.env.Terminal && !a.jsonOut
			var bar *walkBar
			opts := functions.SyncOptions{AllowMassDelete: allowMassDelete}
			if human {
				st, err := directory.NewReader(b.Store).Status(ctx)
				if err != nil {
					return err
				}
				bar = newWalkBar(a, st)
				opts.Progress = bar.update
			}
			runner, err := functions.SyncRunner(b, opts)
			if err != nil {
				return err
			}
			rep, runErr := runner.RunNow(ctx, directory.StepName)
			if bar != nil {
				bar.finish()
			}
			var step schedule.StepReport
			if len(rep.Steps) > 0 {
				step = rep.Steps[0]
			}
			if step.Status == schedule.StatusSkipped && runErr == nil {
				runErr = fmt.Errorf("%w: another sync holds the directory walk (%s, until %s); it is walking now", errNotRun, orDash(step.Holder), a.out.when(step.LeaseUntil))
			}
			if !human {
				if err := writeJSON(a.env.Stdout, rep); err != nil {
					return err
				}
				return runErr
			}
			if walk, ok := step.Report.(*directory.Report); ok && walk != nil {
				a.walkSummary(walk)
			}
			return runErr
		},
	}
	c.Flags().BoolVar(&allowMassDelete, "allow-mass-delete", false, "let a complete walk remove more users and departments than DINGFN_SYNC_MAX_DELETE allows")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "walk DingTalk and print what would change, writing nothing")
	return c
}

// walkSummary prints a walk's report for a person.
func (a *app) walkSummary(r *directory.Report) {
	state := "complete"
	switch {
	case r.Partial:
		state = "paused (the next sync continues it)"
	case !r.Complete:
		state = "stopped"
	}
	if r.Resumed {
		state += ", resumed an earlier walk"
	}
	counts := func(c directory.Counts) string {
		return fmt.Sprintf("%d seen, %d created, %d updated, %d deleted, %d unchanged", c.Seen, c.Created, c.Updated, c.Deleted, c.Unchanged)
	}
	pairs := [][2]string{
		{"Walk", state},
		{"Departments", counts(r.Departments)},
		{"Users", counts(r.Users)},
		{"API calls", strconv.Itoa(r.APICalls)},
		{"Store writes", strconv.Itoa(r.StoreWrites)},
		{"Duration", duration(time.Duration(r.DurationMS) * time.Millisecond)},
	}
	if g := r.Guard; g != nil {
		verdict := fmt.Sprintf("%d users and %d departments to remove, limit %d (DINGFN_SYNC_MAX_DELETE=%s)", g.Users, g.Departments, g.Limit, g.Setting)
		if g.Tripped {
			verdict = "TRIPPED: " + verdict + "; nothing removed"
		}
		pairs = append(pairs, [2]string{"Deletion guard", verdict})
	}
	if r.OutOfScope > 0 {
		pairs = append(pairs, [2]string{"Out of scope", strconv.Itoa(r.OutOfScope) + " departments (50004)"})
	}
	a.out.fields(pairs)
}

// walkBar draws a directory walk on the terminal: departments done out of
// those the last complete walk found, and users, API calls and their rate
// in its description.
type walkBar struct {
	bar      *progressbar.ProgressBar
	expected int64
}

func newWalkBar(a *app, st directory.Status) *walkBar {
	expected := int64(-1) // unknown: a spinner
	if st.LastComplete != nil && st.LastComplete.Departments > 0 {
		expected = int64(st.LastComplete.Departments)
	}
	return &walkBar{expected: expected, bar: progressbar.NewOptions64(expected,
		progressbar.OptionSetWriter(a.env.Stderr),
		progressbar.OptionSetDescription("departments"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionShowDescriptionAtLineEnd(),
		// The spinner of an unknown length turns at each department
		// instead of on the library's own ticker goroutine, which reads
		// the bar's state without its lock (a data race).
		progressbar.OptionSetSpinnerChangeInterval(0),
	)}
}

// update is the walk's progress callback.
func (w *walkBar) update(r directory.Report) {
	done := int64(r.DepartmentsSeen)
	if w.expected >= 0 && done > w.expected {
		// The organisation grew since the last walk.
		w.expected = done
		w.bar.ChangeMax64(done)
	}
	desc := fmt.Sprintf("departments · %d users · %d API calls", r.UsersSeen, r.APICalls)
	if r.DurationMS >= 1000 {
		// A rate over less than a second says little.
		desc += fmt.Sprintf(" (%.1f/s)", float64(r.APICalls)/(float64(r.DurationMS)/1000))
	}
	w.bar.Describe(desc)
	_ = w.bar.Set64(done)
}

func (w *walkBar) finish() { _ = w.bar.Finish() }
