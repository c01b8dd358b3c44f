package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/functions"
)

// eventStatuses are the statuses --status accepts.
var eventStatuses = []string{string(events.StatusPending), string(events.StatusDone), string(events.StatusFailed), string(events.StatusDead)}

func (a *app) eventsCommand() *cobra.Command {
	return group("events",
		"Inspect and replay the event log: every DingTalk event the callback received",
		`  dingfn events list --status dead
  dingfn events show 7f3a…
  dingfn events replay 7f3a… 9b21…`,
		a.eventsListCommand(),
		a.eventsShowCommand(),
		a.eventsReplayCommand(),
	)
}

// eventLog opens the bundle and its event log.
func (a *app) eventLog(cmd *cobra.Command, needs []string) (*bundle.Bundle, *events.Service, error) {
	b, err := a.open(cmd.Context(), cmd, needs)
	if err != nil {
		return nil, nil, err
	}
	s, err := functions.Events(b, nil)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, s, nil
}

// eventSummary is an event in `events list --json`: the entry without its
// payload, which holds personal data (`events show` has it).
type eventSummary struct {
	events.Entry
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (a *app) eventsListCommand() *cobra.Command {
	var (
		status string
		typ    string
		limit  int
	)
	c := &cobra.Command{
		Use:   "list [--status pending|done|failed|dead] [--type TYPE] [--limit N]",
		Short: "List logged events, by status and type",
		Long: `List the event log: each event's id, type, status, attempts, when it was
received and how (push, recovered), and its last error. --type takes an
event type or a prefix ending in * (bpms_*). The log is read whole, in id
order; --limit stops after N matches (0: all).`,
		Example: `  dingfn events list
  dingfn events list --status dead
  dingfn events list --type 'user_*' --limit 20 --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if status != "" && !slices.Contains(eventStatuses, status) {
				return usageErrorf(cmd, "--status must be one of %s, got %q", strings.Join(eventStatuses, ", "), status)
			}
			if typ != "" {
				if err := events.CheckPattern(typ); err != nil {
					return &UsageError{Command: cmd.CommandPath(), Err: err}
				}
			}
			if limit < 0 {
				return usageErrorf(cmd, "--limit must be 0 (all) or more, got %d", limit)
			}
			b, s, err := a.eventLog(cmd, needMirror)
			if err != nil {
				return err
			}
			defer b.Close()
			list := []eventSummary{}
			for e, err := range s.List(cmd.Context(), events.Status(status)) {
				if err != nil {
					return err
				}
				if typ != "" && !events.Match(typ, e.Type) {
					continue
				}
				list = append(list, eventSummary{Entry: *e})
				if limit > 0 && len(list) == limit {
					break
				}
			}
			return a.out.emit(map[string]any{"events": list}, func() error {
				if len(list) == 0 {
					a.out.printf("No events.\n")
					return nil
				}
				rows := make([][]string, len(list))
				for i, e := range list {
					rows[i] = []string{e.ID, e.Type, string(e.Status), strconv.Itoa(e.Attempts), a.out.when(e.ReceivedAt), e.Source, orDash(e.LastError)}
				}
				a.out.table([]string{"ID", "TYPE", "STATUS", "ATTEMPTS", "RECEIVED", "SOURCE", "LAST ERROR"}, rows)
				return nil
			})
		},
	}
	c.Flags().StringVar(&status, "status", "", "only events in this status: pending, done, failed or dead")
	c.Flags().StringVar(&typ, "type", "", "only events of this `TYPE`, or a prefix ending in *")
	c.Flags().IntVar(&limit, "limit", 100, "stop after `N` events (0: all)")
	_ = c.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(eventStatuses, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) eventsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one logged event: its status, each handler's result, and the payload",
		Example: `  dingfn events show 7f3a…
  dingfn events show 7f3a… --json | jq .payload`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			b, s, err := a.eventLog(cmd, needMirror)
			if err != nil {
				return err
			}
			defer b.Close()
			e, err := s.Get(cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			return a.out.emit(e, func() error {
				a.eventFields(e)
				var payload any
				if json.Unmarshal(e.Payload, &payload) == nil {
					a.out.printf("\nPayload:\n")
					return writeJSON(a.out.w, payload)
				}
				return nil
			})
		},
	}
}

// eventFields prints an entry and its handlers' results.
func (a *app) eventFields(e *events.Entry) {
	a.out.fields([][2]string{
		{"ID", e.ID},
		{"Type", e.Type},
		{"Status", string(e.Status)},
		{"Attempts", strconv.Itoa(e.Attempts)},
		{"Received", fmt.Sprintf("%s (%s)", a.out.when(e.ReceivedAt), e.Source)},
		{"Event time", a.out.when(e.EventTime)},
		{"Next attempt", a.out.when(e.NextAttemptAt)},
		{"Last error", orDash(e.LastError)},
	})
	if len(e.Results) == 0 {
		return
	}
	names := make([]string, 0, len(e.Results))
	for n := range e.Results {
		names = append(names, n)
	}
	slices.Sort(names)
	rows := make([][]string, len(names))
	for i, n := range names {
		r := e.Results[n]
		rows[i] = []string{n, string(r.Status), strconv.Itoa(r.Attempts), a.out.when(r.At), orDash(r.LastError)}
	}
	a.out.printf("\nHandlers:\n")
	a.out.table([]string{"HANDLER", "STATUS", "FAILURES", "AT", "LAST ERROR"}, rows)
}

func (a *app) eventsReplayCommand() *cobra.Command {
	var all, queueOnly bool
	c := &cobra.Command{
		Use:   "replay ID… [--all] [--queue-only]",
		Short: "Run the handlers of logged events again",
		Long: `Make logged events due again: the handlers that failed, died or were cut
short run again with fresh attempts (--all: every handler, also the ones
that succeeded). Then the event log's drain runs now, under the same lease
as the sync function's drain, and each event's new status is shown; with
--queue-only the next sync tick takes them instead. Exits 6 if an id is
not in the log (the others are still replayed).`,
		Example: `  dingfn events replay 7f3a…
  dingfn events list --status dead --json | jq -r '.events[].id' | xargs dingfn events replay`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ctx := cmd.Context()
			b, s, err := a.eventLog(cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			var errs []error
			replayed := []string{}
			for _, id := range ids {
				if _, err := s.Replay(ctx, id, all); err != nil {
					errs = append(errs, err)
					continue
				}
				replayed = append(replayed, id)
			}
			if len(replayed) > 0 && !queueOnly {
				runner, err := functions.SyncRunner(b, functions.SyncOptions{})
				if err != nil {
					return err
				}
				if _, err := runner.RunNow(ctx, events.StepDrain); err != nil {
					errs = append(errs, err)
				}
			}
			list := make([]*events.Entry, 0, len(replayed))
			for _, id := range replayed {
				e, err := s.Get(ctx, id)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				list = append(list, e)
			}
			perr := a.out.emit(map[string]any{"events": list}, func() error {
				rows := make([][]string, len(list))
				for i, e := range list {
					rows[i] = []string{e.ID, e.Type, string(e.Status), strconv.Itoa(e.Attempts), orDash(e.LastError)}
				}
				if len(rows) > 0 {
					a.out.table([]string{"ID", "TYPE", "STATUS", "ATTEMPTS", "LAST ERROR"}, rows)
				}
				if queueOnly && len(list) > 0 {
					a.out.printf("Queued: the sync function's next tick runs them.\n")
				}
				return nil
			})
			return errors.Join(append(errs, perr)...)
		},
	}
	c.Flags().BoolVar(&all, "all", false, "run every handler again, also the ones that succeeded")
	c.Flags().BoolVar(&queueOnly, "queue-only", false, "only mark them due; the next sync tick runs them")
	return c
}

// teeFailed passes get_call_back_failed_result batches to the event log's
// recovery and keeps what went through, for `callback failed --record`.
type teeFailed struct {
	src  events.FailedResults
	seen []dingtalk.FailedEvent
}

func (t *teeFailed) FailedResults(ctx context.Context) (*dingtalk.FailedResults, error) {
	r, err := t.src.FailedResults(ctx)
	if r != nil {
		t.seen = append(t.seen, r.FailedList...)
	}
	return r, err
}

var _ events.FailedResults = (*teeFailed)(nil)
