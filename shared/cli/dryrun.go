package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/functions"
)

// dryRun walks DingTalk against the mirror without writing
// (directory.Syncer.Diff of the sync's walker, functions.DirectorySyncer),
// with a progress bar on a terminal. It takes no
// lease: it writes nothing a walk could collide with. The plan comes with
// the error too, when the walk stopped early.
func (a *app) dryRun(cmd *cobra.Command, allowMassDelete bool) (*directory.Plan, error) {
	ctx := cmd.Context()
	b, err := a.open(ctx, cmd, needApp)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	var o functions.SyncOptions
	var bar *walkBar
	if a.env.Terminal && !a.jsonOut {
		st, err := directory.NewReader(b.Store).Status(ctx)
		if err != nil {
			return nil, err
		}
		bar = newWalkBar(a, st)
		o.Progress = bar.update
	}
	s, err := functions.DirectorySyncer(b, o)
	if err != nil {
		return nil, err
	}
	plan, err := s.Diff(ctx, directory.DiffOptions{AllowMassDelete: allowMassDelete})
	if bar != nil {
		bar.finish()
	}
	return plan, err
}

// runDryRun is `dingfn sync --dry-run`: the counts a walk would reach.
func (a *app) runDryRun(cmd *cobra.Command, allowMassDelete bool) error {
	plan, err := a.dryRun(cmd, allowMassDelete)
	if plan == nil {
		return err
	}
	if err == nil {
		err = guardVerdict(plan)
	}
	if a.jsonOut || !a.env.Terminal {
		if werr := writeJSON(a.env.Stdout, plan.Report); werr != nil {
			return werr
		}
		return err
	}
	c := func(n int) string { return strconv.Itoa(n) }
	rows := [][]string{}
	for _, k := range []struct {
		name string
		c    directory.Counts
	}{{"departments", plan.Departments}, {"users", plan.Users}} {
		rows = append(rows, []string{k.name, c(k.c.Seen), c(k.c.Created), c(k.c.Updated), c(k.c.Deleted), c(k.c.Unchanged)})
	}
	a.out.table([]string{"", "SEEN", "CREATE", "UPDATE", "DELETE", "UNCHANGED"}, rows)
	a.out.printf("\n")
	a.out.fields(a.planFields(plan, [][2]string{
		{"API calls", c(plan.APICalls)},
		{"Rows to write", c(plan.WouldWrite)},
		{"Duration", duration(time.Duration(plan.DurationMS) * time.Millisecond)},
	}))
	return err
}

// guardVerdict is the error of a dry run whose walk the deletion guard
// would stop: exit 5, as the walk itself would.
func guardVerdict(p *directory.Plan) error {
	if p.Guard == nil || !p.Guard.Tripped {
		return nil
	}
	return fmt.Errorf("dry run: %w", &directory.GuardError{Guard: *p.Guard})
}

// planFields are a plan's state and guard verdict for a person, around
// extra.
func (a *app) planFields(p *directory.Plan, extra [][2]string) [][2]string {
	state := "complete; nothing was written (dry run)"
	if !p.Complete {
		state = "INCOMPLETE: stopped before the end, deletions unknown; nothing was written (dry run)"
	}
	pairs := append([][2]string{{"Walk", state}}, extra...)
	if g := p.Guard; g != nil {
		verdict := fmt.Sprintf("%d users and %d departments to remove, limit %d (DINGFN_SYNC_MAX_DELETE=%s)", g.Users, g.Departments, g.Limit, g.Setting)
		switch {
		case g.Tripped:
			verdict = "WOULD TRIP: " + verdict + "; a sync would remove nothing"
		case g.Allowed:
			verdict += "; allowed by --allow-mass-delete"
		}
		pairs = append(pairs, [2]string{"Deletion guard", verdict})
	}
	if p.OutOfScope > 0 {
		pairs = append(pairs, [2]string{"Out of scope", strconv.Itoa(p.OutOfScope) + " departments (50004)"})
	}
	return pairs
}

func (a *app) directoryDiffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff",
		Short: "List what differs between the mirror and DingTalk, without writing",
		Long: `Walk DingTalk's organisation exactly as the sync does — the same API calls,
rate limits and retries, the same comparison — and list the users and
departments the next sync would create, update (with the fields that
changed) or delete. It is a dry run: it takes no lease and writes no
record, checkpoint or status (only the shared access-token cache may be
refreshed, as by any command that calls DingTalk). Deletions are listed even
when the deletion guard would stop the sync from making them; the guard's
verdict is shown below the list. A table on a terminal, JSON otherwise or
with --json.

The list names ids: 'dingfn directory user ID' and 'dingfn directory dept
ID' show what the mirror holds for one.

It walks the whole organisation, so it costs as many DingTalk calls as a
sync. Interrupted, it prints what it found so far, marked incomplete, and
exits 130.`,
		Example: `  dingfn directory diff
  dingfn directory diff --json | jq '.changes[] | select(.kind == "user")'`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, err := a.dryRun(cmd, false)
			if plan == nil {
				return err
			}
			if a.jsonOut || !a.env.Terminal {
				if werr := writeJSON(a.env.Stdout, plan); werr != nil {
					return werr
				}
				return err
			}
			if len(plan.Changes) == 0 {
				a.out.printf("The mirror matches DingTalk: %d users, %d departments.\n\n", plan.UsersSeen, plan.DepartmentsSeen)
			} else {
				rows := make([][]string, len(plan.Changes))
				for i, c := range plan.Changes {
					rows[i] = []string{string(c.Kind), c.ID, string(c.Change), strings.Join(c.Fields, ", ")}
				}
				a.out.table([]string{"KIND", "ID", "CHANGE", "FIELDS"}, rows)
				a.out.printf("\n")
			}
			a.out.fields(a.planFields(plan, [][2]string{{"Changes", changeCounts(plan.Changes)}}))
			return err
		},
	}
}

// changeCounts summarises a plan's changes by kind and change.
func changeCounts(cs []directory.RecordChange) string {
	n := map[directory.Kind]map[directory.Change]int{}
	for _, c := range cs {
		if n[c.Kind] == nil {
			n[c.Kind] = map[directory.Change]int{}
		}
		n[c.Kind][c.Change]++
	}
	var parts []string
	for _, k := range []struct {
		kind directory.Kind
		name string
	}{{directory.KindDepartment, "departments"}, {directory.KindUser, "users"}} {
		m := n[k.kind]
		parts = append(parts, fmt.Sprintf("%s %d created, %d updated, %d deleted", k.name, m[directory.Created], m[directory.Updated], m[directory.Deleted]))
	}
	return strings.Join(parts, "; ")
}
