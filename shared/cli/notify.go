package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/redact"
)

// notifier is what send, notices and robot need from notify: the service
// in this process (notify.Local), or a deployed notify's /v1 API (--api,
// notify.Client). Both fail with a *notify.Error, the API's own error.
type notifier struct {
	notify.Notifier
	close func()
}

// Close releases what the notifier opened (the store, for the local one).
func (n notifier) Close() {
	if n.close != nil {
		n.close()
	}
}

// localCaller is the caller the notices sent from this process are
// recorded under (the name of a bearer key, for a deployed notify).
const localCaller = "cli"

// notifyFlags are the flags that choose where notify runs.
type notifyFlags struct {
	api     string
	keyName string
}

func (f *notifyFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.api, "api", "", "use the deployed notify at this base `URL` (its key from NOTIFY_API_KEYS) instead of sending from this process")
	c.Flags().StringVar(&f.keyName, "key-name", "", "with --api, the `NAME` of the NOTIFY_API_KEYS entry to use (default: the first)")
}

// notifier opens notify for cmd: remote with --api, otherwise the same
// service the notify function runs, on this configuration.
func (a *app) notifier(cmd *cobra.Command, f notifyFlags, needs []string) (notifier, error) {
	if f.api != "" {
		return a.remoteNotifier(cmd, f)
	}
	if f.keyName != "" {
		return notifier{}, usageErrorf(cmd, "--key-name goes with --api")
	}
	b, err := a.open(cmd.Context(), cmd, needs)
	if err != nil {
		return notifier{}, err
	}
	s, err := functions.NotifyService(b)
	if err != nil {
		b.Close()
		return notifier{}, err
	}
	return notifier{Notifier: notify.Local(s, localCaller), close: func() { b.Close() }}, nil
}

// remoteNotifier calls a deployed notify with a key of NOTIFY_API_KEYS.
func (a *app) remoteNotifier(cmd *cobra.Command, f notifyFlags) (notifier, error) {
	u, err := url.Parse(strings.TrimSuffix(f.api, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return notifier{}, usageErrorf(cmd, "--api must be notify's base URL, e.g. https://notify.example.com, got %q", f.api)
	}
	cfg, err := config.LoadFor(cmd.CommandPath(), []string{"NOTIFY_API_KEYS"}, a.getenv)
	if err != nil {
		return notifier{}, err
	}
	key := ""
	for i, entry := range cfg.NotifyAPIKeys {
		name, k, named := strings.Cut(entry, "=")
		if !named {
			name, k = "", entry
		}
		if (f.keyName == "" && i == 0) || (f.keyName != "" && name == f.keyName) {
			key = k
			break
		}
	}
	if key == "" {
		return notifier{}, &config.Error{Function: config.Function(cmd.CommandPath()), Problems: []config.Problem{{
			Var: "NOTIFY_API_KEYS", Reason: fmt.Sprintf("has no entry named %q (--key-name)", f.keyName)}}}
	}
	c, err := notify.NewClient(u.String(), key, a.env.HTTPClient)
	if err != nil {
		return notifier{}, usageErrorf(cmd, "--api: %v", err)
	}
	return notifier{Notifier: c}, nil
}

// messageFlags are the ways to give a message.
type messageFlags struct {
	text, markdown, title, jsonFile string
}

func (m *messageFlags) register(c *cobra.Command, what string) {
	c.Flags().StringVar(&m.text, "text", "", "send a text message with this `TEXT`")
	c.Flags().StringVar(&m.markdown, "markdown", "", "send a markdown message read from `FILE` (- for standard input)")
	c.Flags().StringVar(&m.title, "title", "", "the markdown message's `TITLE` (default: its first line)")
	c.Flags().StringVar(&m.jsonFile, "json", "", "send the "+what+" object read from `FILE` (- for standard input), any message type")
}

// read returns the message: exactly one of --text, --markdown, --json.
// A --json object is decoded into v; text and markdown set nothing in v
// and are returned as (title, text).
func (m *messageFlags) read(cmd *cobra.Command, stdin io.Reader, v any) (kind, title, text string, err error) {
	given := 0
	for _, f := range []string{"text", "markdown", "json"} {
		if cmd.Flags().Changed(f) {
			given++
		}
	}
	if given != 1 {
		return "", "", "", usageErrorf(cmd, "give the message with exactly one of --text, --markdown FILE or --json FILE")
	}
	readFile := func(flag, name string) ([]byte, error) {
		if name == "-" {
			return io.ReadAll(stdin)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, usageErrorf(cmd, "--%s: %v", flag, err)
		}
		return b, nil
	}
	switch {
	case cmd.Flags().Changed("text"):
		if strings.TrimSpace(m.text) == "" {
			return "", "", "", usageErrorf(cmd, "--text is empty")
		}
		return "text", "", m.text, nil
	case cmd.Flags().Changed("markdown"):
		b, err := readFile("markdown", m.markdown)
		if err != nil {
			return "", "", "", err
		}
		title := m.title
		if title == "" {
			first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
			title = strings.TrimSpace(strings.TrimLeft(first, "#"))
		}
		return "markdown", title, string(b), nil
	default:
		b, err := readFile("json", m.jsonFile)
		if err != nil {
			return "", "", "", err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return "", "", "", usageErrorf(cmd, "--json %s: not a message object: %v", m.jsonFile, err)
		}
		return "json", "", "", nil
	}
}

func (a *app) sendCommand() *cobra.Command {
	var (
		nf     notifyFlags
		mf     messageFlags
		to     []string
		depts  []int64
		all    bool
		idem   string
		needed = append([]string{"DINGTALK_AGENT_ID"}, needApp...)
	)
	c := &cobra.Command{
		Use:   "send (--to U1,U2 | --dept 1,2 | --all) (--text TEXT | --markdown FILE | --json FILE)",
		Short: "Send a work notice (工作通知) through notify",
		Long: `Send a work notice as the notify function does: split into as many DingTalk
calls as its caps need, paced by the per-minute budget (what does not fit
is sent by the sync tick), with warnings for what DingTalk would do
silently (the same content to a person twice a day, the daily cap).

The message is --text, a markdown file (its first line is the title unless
--title), or --json, DingTalk's msg object of any type (oa, action_card,
link…). --to and --dept combine; --all is the whole organisation.

By default the notice is sent from this process with this configuration
(DINGTALK_AGENT_ID); with --api URL it goes through a deployed notify,
authenticated with a NOTIFY_API_KEYS key. --idempotency-key makes a retry
of the same command answer the first send instead of sending again.

The answer is JSON unless standard output is a terminal: here --json
names the message file.`,
		Example: `  dingfn send --to wangwu,lisi --text '发布完成'
  dingfn send --dept 2 --markdown release-notes.md --idempotency-key release-2026-03-01
  dingfn send --all --json notice.json --api https://notify.example.com`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(to) == 0 && len(depts) == 0 && !all {
				return usageErrorf(cmd, "say who receives it: --to USERIDS, --dept IDS or --all")
			}
			req := notify.NoticeRequest{UserIDs: to, DeptIDs: depts, ToAll: all, IdempotencyKey: idem}
			var msg dingtalk.Message
			kind, title, text, err := mf.read(cmd, a.env.Stdin, &msg)
			if err != nil {
				return err
			}
			switch kind {
			case "text":
				req.Msg = dingtalk.TextMessage(text)
			case "markdown":
				req.Msg = dingtalk.MarkdownMessage(title, text)
			default:
				req.Msg = &msg
			}
			n, err := a.notifier(cmd, nf, needed)
			if err != nil {
				return err
			}
			defer n.Close()
			ans, err := n.SendNotice(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.emitAuto(ans, func() error {
				a.out.fields([][2]string{
					{"Notice", ans.ID},
					{"Status", ans.Status},
					{"DingTalk tasks", orDash(joinInts(ans.TaskIDs))},
				})
				a.warnings(ans.Warnings)
				a.out.printf("\nFollow it with: dingfn notices status %s\n", ans.ID)
				return nil
			})
		},
	}
	nf.register(c)
	mf.register(c, "work-notice msg")
	c.Flags().StringSliceVar(&to, "to", nil, "the `USERIDS` to send to, comma-separated")
	c.Flags().Int64SliceVar(&depts, "dept", nil, "the department `IDS` to send to (sub-departments included)")
	c.Flags().BoolVar(&all, "all", false, "send to everyone in the organisation")
	c.Flags().StringVar(&idem, "idempotency-key", "", "a `KEY` unique to this notice: sending again with it answers the first send")
	return c
}

// emitAuto is emit for send and robot send, whose --json names the
// message file: their answer is JSON unless standard output is a terminal.
func (a *app) emitAuto(v any, human func() error) error {
	if !a.env.Terminal {
		return writeJSON(a.env.Stdout, v)
	}
	return human()
}

// warnings prints what DingTalk will do silently.
func (a *app) warnings(ws []notify.Warning) {
	if len(ws) == 0 {
		return
	}
	a.out.printf("\nWarnings:\n")
	rows := make([][]string, len(ws))
	for i, w := range ws {
		who := strings.Join(w.UserIDs, ",")
		switch {
		case who == "" && w.Count > 0:
			who = fmt.Sprintf("%d people", w.Count)
		case w.Count > len(w.UserIDs):
			who += fmt.Sprintf(" (+%d)", w.Count-len(w.UserIDs))
		}
		rows[i] = []string{w.Code, w.Message, orDash(who)}
	}
	a.out.table([]string{"CODE", "WHAT", "WHO"}, rows)
}

func joinInts(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

func (a *app) noticesCommand() *cobra.Command {
	var statusFlags, recallFlags notifyFlags
	var yes bool
	status := &cobra.Command{
		Use:   "status ID",
		Short: "Show a notice's status: its parts, DingTalk's progress, who read it",
		Long: `Show a work notice sent through notify: its status, each part (one DingTalk
call), DingTalk's delivery progress and, for small notices, who read it,
who has not, and whom DingTalk refused.`,
		Example: `  dingfn notices status ntc_01HV…
  dingfn notices status ntc_01HV… --api https://notify.example.com --json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			n, err := a.notifier(cmd, statusFlags, needApp)
			if err != nil {
				return err
			}
			defer n.Close()
			st, err := n.Notice(cmd.Context(), argv[0], notify.StatusOptions{})
			if err != nil {
				return err
			}
			return a.out.emit(st, func() error {
				p := st.Progress
				a.out.fields([][2]string{
					{"Notice", st.ID},
					{"Status", st.Status},
					{"Created", a.out.when(st.CreatedAt)},
					{"Parts", fmt.Sprintf("%d: %d sent, %d pending, %d sending, %d failed, %d unknown, %d cancelled", p.Parts, p.Sent, p.Pending, p.Sending, p.Failed, p.Unknown, p.Cancelled)},
					{"Delivery", fmt.Sprintf("%d%% (DingTalk done: %v)", p.Percent, p.Done)},
					{"Read", listOrDash(st.Result.Read)},
					{"Unread", listOrDash(st.Result.Unread)},
				})
				a.warnings(st.Warnings)
				for _, note := range st.Notes {
					a.out.printf("Note: %s\n", note)
				}
				return nil
			})
		},
	}
	statusFlags.register(status)
	recall := &cobra.Command{
		Use:   "recall ID [--yes]",
		Short: "Recall a notice: cancel its unsent parts and withdraw the sent ones (within 24 h)",
		Long: `Recall a work notice: parts not sent yet are cancelled, and DingTalk
withdraws the sent ones from people's clients (it allows this within 24
hours of sending). Asks for confirmation on a terminal; elsewhere --yes is
required.`,
		Example: `  dingfn notices recall ntc_01HV…
  dingfn notices recall ntc_01HV… --yes --api https://notify.example.com`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if !yes {
				if err := a.confirm("Recall the notice " + argv[0] + " from everyone who received it?"); err != nil {
					return err
				}
			}
			n, err := a.notifier(cmd, recallFlags, needApp)
			if err != nil {
				return err
			}
			defer n.Close()
			res, err := n.Recall(cmd.Context(), argv[0])
			if err != nil {
				return err
			}
			return a.out.emit(res, func() error {
				a.out.fields([][2]string{
					{"Notice", res.ID},
					{"Status", res.Status},
					{"Recalled tasks", orDash(joinInts(res.RecalledTaskIDs))},
					{"Cancelled parts", strconv.Itoa(res.CancelledParts)},
				})
				for _, note := range res.Notes {
					a.out.printf("Note: %s\n", note)
				}
				return nil
			})
		},
	}
	recallFlags.register(recall)
	recall.Flags().BoolVarP(&yes, "yes", "y", false, "recall without asking")
	return group("notices", "Follow and recall the work notices sent through notify",
		`  dingfn notices status ntc_01HV…
  dingfn notices recall ntc_01HV… --yes`, status, recall)
}

func listOrDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func (a *app) robotCommand() *cobra.Command {
	var (
		nf    notifyFlags
		mf    messageFlags
		at    []string
		atAll bool
		idem  string
	)
	send := &cobra.Command{
		Use:   "send NAME (--text TEXT | --markdown FILE | --json FILE) [--at U1,U2 | --at-all]",
		Short: "Send a message through a group robot (自定义机器人) notify knows by name",
		Long: `Send a group-robot message through the robot NAME of DINGFN_ROBOTS, signed
(加签) when it has a secret, within 20 messages a minute per robot across
every notify instance. --json takes DingTalk's robot message object (text,
markdown, link, actionCard, feedCard). Locally the robots come from
DINGFN_ROBOTS; with --api URL the deployed notify's. The answer is JSON
unless standard output is a terminal (--json names the message file).`,
		Example: `  dingfn robot send ops --text '部署完成' --at wangwu
  dingfn robot send ops --markdown report.md --title '日报'
  dingfn robot send ops --json card.json --api https://notify.example.com --idempotency-key deploy-42`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			var msg dingtalk.RobotMessage
			kind, title, text, err := mf.read(cmd, a.env.Stdin, &msg)
			if err != nil {
				return err
			}
			if kind != "json" {
				// DingTalk shows a mention only where the text says
				// @userid; add those the text lacks.
				for _, u := range at {
					if !strings.Contains(text, "@"+u) {
						text += " @" + u
					}
				}
			}
			switch kind {
			case "text":
				msg = dingtalk.RobotMessage{MsgType: dingtalk.MsgTypeText, Text: &dingtalk.TextContent{Content: text}}
			case "markdown":
				msg = dingtalk.RobotMessage{MsgType: dingtalk.MsgTypeMarkdown, Markdown: &dingtalk.MarkdownContent{Title: title, Text: text}}
			}
			if len(at) > 0 || atAll {
				if msg.At == nil {
					msg.At = &dingtalk.At{}
				}
				msg.At.AtUserIDs, msg.At.IsAtAll = append(msg.At.AtUserIDs, at...), msg.At.IsAtAll || atAll
			}
			n, err := a.notifier(cmd, nf, append([]string{"DINGFN_ROBOTS"}, needApp...))
			if err != nil {
				return err
			}
			defer n.Close()
			ans, err := n.SendRobot(cmd.Context(), argv[0], &msg, idem)
			if err != nil {
				return err
			}
			return a.emitAuto(ans, func() error {
				a.out.printf("Sent through robot %s at %s (%s).\n", ans.Robot, a.out.when(ans.SentAt), ans.Status)
				return nil
			})
		},
	}
	nf.register(send)
	mf.register(send, "robot message")
	send.Flags().StringSliceVar(&at, "at", nil, "@-mention these `USERIDS` (added to a --text or --markdown text as @userid)")
	send.Flags().BoolVar(&atAll, "at-all", false, "@-mention everyone in the group")
	send.Flags().StringVar(&idem, "idempotency-key", "", "a `KEY` unique to this message: sending again with it answers the first send")
	return group("robot", "Send group-robot messages through notify",
		"  dingfn robot send ops --text '部署完成'", send)
}

// notifyExit maps notify's API error to an exit code.
func notifyExit(e *notify.Error) int {
	switch {
	case e.Body.DingTalkErrCode != 0 || e.Body.DingTalkCode != "" || strings.HasPrefix(e.Body.Error, "dingtalk_"):
		return ExitDingTalk
	case e.Status == http.StatusBadRequest:
		return ExitUsage
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ExitConfig
	case e.Status == http.StatusNotFound:
		return ExitNotFound
	}
	return ExitFailure
}

// describeNotify fills the report of a notify error: the API's message,
// the field at fault, and DingTalk's errcode with its meaning.
func describeNotify(r *errorReport, e *notify.Error) {
	r.Message = redact.String(e.Body.Message)
	if e.Body.Field != "" {
		r.Message += fmt.Sprintf(" (field %s, rule %s)", e.Body.Field, e.Body.Rule)
	}
	r.Code, r.ErrCode, r.RequestID = e.Body.Error, e.Body.DingTalkErrCode, e.Body.RequestID
	if de, ok := errors.AsType[*dingtalk.Error](e); ok {
		r.Meaning = de.Meaning()
	} else if e.Body.DingTalkErrCode != 0 || e.Body.DingTalkCode != "" {
		r.Meaning = (&dingtalk.Error{ErrCode: e.Body.DingTalkErrCode, Code: e.Body.DingTalkCode}).Meaning()
	}
	if e.Status == http.StatusUnauthorized {
		r.Hint = "notify refused the key: check NOTIFY_API_KEYS (and --key-name) against the deployment's."
	}
}
