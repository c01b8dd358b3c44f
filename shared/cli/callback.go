package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
)

// DefaultCallbackTags are the events `dingfn callback register` subscribes
// to unless --tags says otherwise: the contact (通讯录) and approval (审批)
// events the event log's built-in handlers follow.
var DefaultCallbackTags = slices.Concat(events.ContactTypes, events.ApprovalTypes)

func (a *app) callbackCommand() *cobra.Command {
	return group("callback",
		"Manage the callback registered through the API (register_call_back) and its failed pushes",
		`  dingfn callback register --url https://fn.example.com/callback
  dingfn callback get
  dingfn callback failed --json`,
		a.callbackRegisterCommand(),
		a.callbackGetCommand(),
		a.callbackUpdateCommand(),
		a.callbackDeleteCommand(),
		a.callbackFailedCommand(),
	)
}

// registration is the JSON form of a registered callback: never its token
// or AES key, only whether they match the configured ones.
type registration struct {
	URL  string   `json:"url"`
	Tags []string `json:"tags"`
	// TokenMatches and AESKeyMatches compare the registration with
	// DINGTALK_CALLBACK_TOKEN and DINGTALK_CALLBACK_AES_KEY; absent when
	// those are not configured.
	TokenMatches  *bool `json:"token_matches,omitempty"`
	AESKeyMatches *bool `json:"aes_key_matches,omitempty"`
}

func (a *app) callbackRegisterCommand() *cobra.Command {
	var (
		rawURL string
		tags   []string
	)
	c := &cobra.Command{
		Use:   "register --url URL [--tags TAG,…]",
		Short: "Register the callback URL with DingTalk (register_call_back)",
		Long: `Register the callback function's public URL for the organisation's events,
with DINGTALK_CALLBACK_TOKEN and DINGTALK_CALLBACK_AES_KEY. DingTalk first
pushes a check_url event to the URL, which must answer within 1500 ms, so
deploy the callback function with the same token and key first.

Pushes of a callback registered this way are encrypted for the corp id:
the callback function needs DINGTALK_CALLBACK_OWNER_KEY set to it.

Default events: ` + strings.Join(DefaultCallbackTags, ", ") + `.`,
		Example: `  dingfn callback register --url https://fn.example.com/callback
  dingfn callback register --url https://fn.example.com/callback --tags user_add_org,user_leave_org`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkCallbackURL(cmd, rawURL, true); err != nil {
				return err
			}
			b, err := a.open(cmd.Context(), cmd, needCallback)
			if err != nil {
				return err
			}
			defer b.Close()
			cfg := configured(b, rawURL, tags)
			if err := b.Client.Callback.Register(cmd.Context(), cfg); err != nil {
				return err
			}
			return a.out.emit(map[string]any{"registered": true, "url": cfg.URL, "tags": cfg.Tags}, func() error {
				a.out.printf("Registered %s for %d events: %s\n", cfg.URL, len(cfg.Tags), strings.Join(cfg.Tags, ", "))
				a.ownerKeyNote(b)
				return nil
			})
		},
	}
	c.Flags().StringVar(&rawURL, "url", "", "the callback function's public `URL`")
	c.Flags().StringSliceVar(&tags, "tags", DefaultCallbackTags, "event `TAGS` to subscribe to, comma-separated")
	_ = c.RegisterFlagCompletionFunc("tags", cobra.FixedCompletions(DefaultCallbackTags, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// configured is a registration of url and tags with the configured token
// and AES key, which register and update always send.
func configured(b *bundle.Bundle, url string, tags []string) *dingtalk.CallbackConfig {
	return &dingtalk.CallbackConfig{URL: url, Tags: tags, Token: b.Config.CallbackToken, AESKey: b.Config.CallbackAESKey}
}

// ownerKeyNote reminds that register_call_back pushes are encrypted for
// the corp id, when the configuration still uses the app key.
func (a *app) ownerKeyNote(b *bundle.Bundle) {
	if b.Config.CallbackOwnerKey == b.Config.AppKey {
		a.out.printf("Note: DingTalk encrypts these pushes for the corp id; set DINGTALK_CALLBACK_OWNER_KEY to it for the callback function.\n")
	}
}

// checkCallbackURL rejects what DingTalk would, before any call.
func checkCallbackURL(cmd *cobra.Command, raw string, required bool) error {
	if raw == "" {
		if required {
			return usageErrorf(cmd, "--url is required: the callback function's public URL")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf(cmd, "--url must be an absolute http(s) URL, got %q", raw)
	}
	return nil
}

func (a *app) callbackGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get",
		Short: "Show the registered callback: URL, events, and whether its token and key match the configuration",
		Long: `Show the callback registered through the API. Its token and AES key are
never printed: they are compared with DINGTALK_CALLBACK_TOKEN and
DINGTALK_CALLBACK_AES_KEY when those are set.`,
		Example: `  dingfn callback get
  dingfn callback get --json | jq -r .url`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := a.open(cmd.Context(), cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			cur, err := b.Client.Callback.Get(cmd.Context())
			if err != nil {
				return err
			}
			r := registration{URL: cur.URL, Tags: cur.Tags}
			if t := b.Config.CallbackToken; t != "" {
				r.TokenMatches = new(cur.Token == t)
			}
			if k := b.Config.CallbackAESKey; k != "" {
				r.AESKeyMatches = new(cur.AESKey == k)
			}
			return a.out.emit(r, func() error {
				a.out.fields([][2]string{
					{"URL", r.URL},
					{"Events", strings.Join(r.Tags, ", ")},
					{"Token", matchText(r.TokenMatches, "DINGTALK_CALLBACK_TOKEN")},
					{"AES key", matchText(r.AESKeyMatches, "DINGTALK_CALLBACK_AES_KEY")},
				})
				return nil
			})
		},
	}
}

func matchText(m *bool, name string) string {
	switch {
	case m == nil:
		return "not compared (" + name + " is not set)"
	case *m:
		return "matches " + name
	default:
		return "DIFFERS from " + name + " (pushes will fail to decrypt; run dingfn callback update)"
	}
}

func (a *app) callbackUpdateCommand() *cobra.Command {
	var (
		rawURL string
		tags   []string
	)
	c := &cobra.Command{
		Use:   "update [--url URL] [--tags TAG,…]",
		Short: "Change the registered callback's URL or events, and set its token and key to the configured ones",
		Long: `Replace the registered callback (update_call_back). What is not given is
kept from the current registration; the token and AES key are always set to
DINGTALK_CALLBACK_TOKEN and DINGTALK_CALLBACK_AES_KEY, so this is also how
to rotate them. DingTalk pushes check_url to the URL first.`,
		Example: `  dingfn callback update --url https://fn2.example.com/callback
  dingfn callback update --tags user_add_org,user_leave_org,bpms_instance_change
  dingfn callback update    # rotate to the configured token and key`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkCallbackURL(cmd, rawURL, false); err != nil {
				return err
			}
			b, err := a.open(cmd.Context(), cmd, needCallback)
			if err != nil {
				return err
			}
			defer b.Close()
			cur, err := b.Client.Callback.Get(cmd.Context())
			if err != nil {
				return err
			}
			cfg := configured(b, cmp.Or(rawURL, cur.URL), cur.Tags)
			if cmd.Flags().Changed("tags") {
				cfg.Tags = tags
			}
			if err := b.Client.Callback.Update(cmd.Context(), cfg); err != nil {
				return err
			}
			return a.out.emit(map[string]any{"updated": true, "url": cfg.URL, "tags": cfg.Tags}, func() error {
				a.out.printf("Updated: %s for %d events: %s\n", cfg.URL, len(cfg.Tags), strings.Join(cfg.Tags, ", "))
				return nil
			})
		},
	}
	c.Flags().StringVar(&rawURL, "url", "", "the new public `URL` (default: keep the current one)")
	c.Flags().StringSliceVar(&tags, "tags", nil, "the new event `TAGS`, comma-separated (default: keep the current ones)")
	_ = c.RegisterFlagCompletionFunc("tags", cobra.FixedCompletions(DefaultCallbackTags, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) callbackDeleteCommand() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "delete [--yes]",
		Short: "Delete the registered callback (delete_call_back)",
		Long: `Delete the callback registered through the API; DingTalk stops pushing
events to it. Asks for confirmation on a terminal; elsewhere --yes is
required (exit code 5 without it).`,
		Example: `  dingfn callback delete
  dingfn callback delete --yes --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := a.open(cmd.Context(), cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			cur, err := b.Client.Callback.Get(cmd.Context())
			if err != nil {
				return err
			}
			if !yes {
				if err := a.confirm(fmt.Sprintf("Delete the callback %s (%d events)?", cur.URL, len(cur.Tags))); err != nil {
					return err
				}
			}
			if err := b.Client.Callback.Delete(cmd.Context()); err != nil {
				return err
			}
			return a.out.emit(map[string]any{"deleted": true, "url": cur.URL}, func() error {
				a.out.printf("Deleted the callback %s.\n", cur.URL)
				return nil
			})
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return c
}

// confirm asks a yes/no question on an interactive terminal; without one
// it refuses, so a script never deletes by accident.
func (a *app) confirm(question string) error {
	if !a.env.Interactive || a.jsonOut {
		return &GuardError{Reason: "refusing to go on without confirmation: " + question, Fix: "Pass --yes to confirm."}
	}
	fmt.Fprintf(a.env.Stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(a.env.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &GuardError{Reason: "not confirmed; nothing was changed", Fix: "Answer y, or pass --yes."}
}

// failedPush is the JSON form of a push DingTalk gave up on.
type failedPush struct {
	// ID is the event's id in the event log (with --record).
	ID        string          `json:"id,omitempty"`
	Tag       string          `json:"tag"`
	EventTime time.Time       `json:"event_time"`
	Data      json.RawMessage `json:"data"`
}

func (a *app) callbackFailedCommand() *cobra.Command {
	var record bool
	c := &cobra.Command{
		Use:   "failed [--record]",
		Short: "Fetch the pushes DingTalk gave up on (get_call_back_failed_result), and log them",
		Long: `Fetch the events DingTalk could not push after its retries (+10 s, +30 s),
200 at a time while it has more.

DingTalk hands each failed push over once: a second fetch does not return
it again. With --record each batch goes into the event log before the next
is fetched, exactly as the sync function's recovery step does, and is
processed like a push (an event already logged is not processed twice).
Without it the pushes are only printed: keep the output (--json has every
payload whole).`,
		Example: `  dingfn callback failed --record
  dingfn callback failed --json > failed-$(date +%s).json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if record {
				return a.recordFailed(cmd)
			}
			b, err := a.open(ctx, cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			list, err := a.fetchFailed(ctx, b)
			if err != nil && len(list) == 0 {
				return err
			}
			perr := a.printFailed(list, nil)
			if err != nil {
				// Some were fetched before the failure; they are printed
				// above because DingTalk will not return them again.
				return fmt.Errorf("after %d failed pushes: %w", len(list), err)
			}
			if len(list) > 0 && !a.jsonOut {
				a.out.printf("\nThese pushes left DingTalk's queue; --record would have logged them for processing.\n")
			}
			return perr
		},
	}
	c.Flags().BoolVar(&record, "record", false, "log the fetched pushes in the event log and process them")
	return c
}

// recordFailed is `callback failed --record`: the event log's recovery,
// showing what passed through it.
func (a *app) recordFailed(cmd *cobra.Command) error {
	b, s, err := a.eventLog(cmd, needApp)
	if err != nil {
		return err
	}
	defer b.Close()
	tee := &teeFailed{src: b.Client.Callback}
	rep, err := s.Recover(cmd.Context(), tee, time.Time{})
	now := a.env.Now()
	list := make([]failedPush, 0, len(tee.seen))
	for _, f := range tee.seen {
		p := failedPushOf(f)
		if ev, evErr := events.FailedEvent(f, now); evErr == nil {
			p.ID = ev.ID
		}
		list = append(list, p)
	}
	perr := a.printFailed(list, &rep)
	return errors.Join(err, perr)
}

// printFailed prints failed pushes and, with --record, what the log did.
func (a *app) printFailed(list []failedPush, rep *events.RecoverReport) error {
	slices.SortStableFunc(list, func(x, y failedPush) int { return x.EventTime.Compare(y.EventTime) })
	v := map[string]any{"failed": list}
	if rep != nil {
		v["recorded"] = rep
	}
	return a.out.emit(v, func() error {
		if len(list) == 0 {
			a.out.printf("No failed pushes.\n")
			return nil
		}
		rows := make([][]string, 0, len(list))
		headers := []string{"TIME", "EVENT", "DATA"}
		if rep != nil {
			headers = []string{"TIME", "EVENT", "LOG ID", "DATA"}
		}
		for _, f := range list {
			if rep != nil {
				rows = append(rows, []string{a.out.when(f.EventTime), f.Tag, orDash(f.ID), string(f.Data)})
			} else {
				rows = append(rows, []string{a.out.when(f.EventTime), f.Tag, string(f.Data)})
			}
		}
		a.out.table(headers, rows)
		if rep != nil {
			a.out.printf("\nLogged %d new events (%d were already in the log, %d were not events); dingfn events list --status pending follows them.\n", rep.New, rep.Duplicates, rep.Malformed)
		}
		return nil
	})
}

// fetchFailed drains the failed-push queue, returning what was fetched
// even when a later batch fails.
func (a *app) fetchFailed(ctx context.Context, b *bundle.Bundle) ([]failedPush, error) {
	list := []failedPush{}
	for ev, err := range b.Client.Callback.AllFailedResults(ctx) {
		if err != nil {
			return list, err
		}
		f := failedPushOf(ev)
		if len(f.Data) == 0 {
			f.Data = json.RawMessage("null")
		}
		list = append(list, f)
	}
	return list, nil
}

// failedPushOf is a push DingTalk gave up on, as printed.
func failedPushOf(f dingtalk.FailedEvent) failedPush {
	p := failedPush{Tag: f.Tag, Data: f.Data}
	if f.EventTime > 0 {
		p.EventTime = time.UnixMilli(f.EventTime).UTC()
	}
	return p
}
