// Package devserver is `dingfn dev`: the four functions in one local process
// on one port, on the embedded store, optionally against a simulated
// DingTalk (the fake from dingtalktest with a demo organisation), so that a
// newcomer sees the bundle work without any account or cloud.
package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dingfn/dingfn/handlers"
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/console"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/platform"
	steps "github.com/dingfn/dingfn/shared/schedule"
)

// Defaults of `dingfn dev`.
const (
	DefaultAddr = "127.0.0.1:9000"
	// DefaultSyncEvery is the sync tick, as deployed: each tick runs the
	// steps that are due (the directory walk every DINGFN_SYNC_INTERVAL).
	DefaultSyncEvery    = time.Minute
	DefaultRefreshEvery = 10 * time.Minute
	// SimulatorStore is the bolt file of simulated sessions; it is emptied at
	// each start because the simulated DingTalk issues new tokens each time.
	SimulatorStore = ".dingfn/simulate.db"
	// SimulatorRobot names the group robot of a simulated session.
	SimulatorRobot = "demo"
	// SimulatorGroup is the title of the simulated group conversation the
	// app robot is in.
	SimulatorGroup = "钉峰科技全员群"
)

// Options configure Start.
type Options struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// Simulate forces the simulated DingTalk even when DINGTALK_APP_KEY is
	// set; without an app key it is always used.
	Simulate bool
	// Getenv reads configuration; nil means os.Getenv.
	Getenv func(string) string
	// Out receives the banner; nil discards it.
	Out io.Writer
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// SyncEvery and RefreshEvery are the timer periods; zero means the
	// default, negative disables the timer (it still runs on demand).
	SyncEvery, RefreshEvery time.Duration
	// EventHandlers, when set, registers the event and chat handlers
	// instead of package handlers' Register (which the deployed callback
	// and sync functions use) and the simulated session's who-is robot;
	// for tests.
	EventHandlers func(*events.Mux)
}

// defaults fills in what o leaves unset, listening on addr by default.
func (o *Options) defaults(addr string) {
	if o.Addr == "" {
		o.Addr = addr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is a running `dingfn dev`.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:9000.
	URL string
	// Bundle is the functions' shared dependencies.
	Bundle *bundle.Bundle
	// Fake is the simulated DingTalk, nil when talking to the real one.
	Fake *dingtalktest.Server
	// NotifyAPIKey is the bearer key generated for a simulated session.
	NotifyAPIKey string
	// ChatGroup is the simulated group conversation (everyone and the
	// app robot) of POST /simulator/robot and robot messages.
	ChatGroup string
	// Console is the page at /.
	Console *console.Console

	http   *localServer
	logger *slog.Logger
	// The four functions, built by shared/functions as deployed.
	callback, notify  http.Handler
	syncTick, refresh platform.TimerFunc
	// Timer periods; negative means on demand only.
	syncEvery, refreshEvery time.Duration
	cancel                  context.CancelFunc
	wg                      sync.WaitGroup
}

// Start builds the bundle, starts the HTTP server and the timers, and
// returns once the server is listening.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	o.defaults(DefaultAddr)
	s := &Server{logger: o.Logger,
		syncEvery: period(o.SyncEvery, DefaultSyncEvery), refreshEvery: period(o.RefreshEvery, DefaultRefreshEvery)}
	// Listen first: the simulated DingTalk needs the callback URL to push
	// the events its organisation changes cause.
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("devserver: listen: %w", err)
	}
	defer func() {
		if err != nil {
			ln.Close()
			s.closeFake()
		}
	}()
	s.URL = "http://" + ln.Addr().String()
	getenv := o.Getenv
	if o.Simulate || strings.TrimSpace(o.Getenv("DINGTALK_APP_KEY")) == "" {
		if getenv, err = s.simulate(o.Getenv); err != nil {
			return nil, err
		}
	}
	cfg, err := config.Load(config.Dev, getenv)
	if err != nil {
		return nil, err
	}
	if s.Bundle, err = bundle.Open(ctx, cfg, o.Logger); err != nil {
		return nil, err
	}
	register := s.handlers(o.EventHandlers)
	if err := s.build(register); err != nil {
		s.Bundle.Close()
		return nil, err
	}
	if err := s.buildConsole(register); err != nil {
		s.Bundle.Close()
		return nil, err
	}
	// The console's streams never go idle: end them when shutting down.
	s.http = newLocalServer(s.routes(), s.Console.Close)
	s.http.serve(ln)

	tctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.every(tctx, "sync", s.syncEvery, true, s.syncTick)
	s.every(tctx, "token-refresher", s.refreshEvery, true, s.refresh)
	s.banner(o.Out)
	return s, nil
}

// DemoChatHandler is the route name of the who-is robot of a simulated
// session (chatbot.RouteName of it is in the event log).
const DemoChatHandler = "whois-demo"

// handlers returns the event and chat handlers: register when set, else
// package handlers' Register and, in a simulated session, the who-is
// robot answering from the directory mirror, so that the simulator's
// robot messages get an answer.
func (s *Server) handlers(register func(*events.Mux)) func(*events.Mux) {
	if register != nil {
		return register
	}
	register = handlers.Register
	if s.Fake == nil {
		return register
	}
	mirror := directory.NewReader(s.Bundle.Store)
	return func(m *events.Mux) {
		register(m)
		chatbot.Handle(m, DemoChatHandler, chatbot.WhoIs(mirror))
	}
}

// build makes the four functions with the builders their mains use, with
// register's event handlers.
func (s *Server) build(register func(*events.Mux)) error {
	callbackOf, syncOf := functions.CallbackWith(register), functions.SyncWith(register)
	var err error
	if s.callback, err = callbackOf(s.Bundle); err != nil {
		return fmt.Errorf("devserver: callback: %w", err)
	}
	if s.notify, err = functions.Notify(s.Bundle); err != nil {
		return fmt.Errorf("devserver: notify: %w", err)
	}
	if s.syncTick, err = syncOf(s.Bundle); err != nil {
		return fmt.Errorf("devserver: sync: %w", err)
	}
	if s.refresh, err = functions.TokenRefresher(s.Bundle); err != nil {
		return fmt.Errorf("devserver: token-refresher: %w", err)
	}
	return nil
}

// buildConsole makes the console over the bundle's feature packages and,
// when simulating, the simulated DingTalk; the sync timer's ticks report
// to it.
func (s *Server) buildConsole(register func(*events.Mux)) error {
	n, err := functions.NotifyService(s.Bundle)
	if err != nil {
		return fmt.Errorf("devserver: console: %w", err)
	}
	if register == nil {
		register = handlers.Register
	}
	log, err := functions.Events(s.Bundle, register)
	if err != nil {
		return fmt.Errorf("devserver: console: %w", err)
	}
	// "Sync now" runs the sync function's steps under their leases, so it
	// never walks beside the timer's tick; the walk reports its progress
	// to the console.
	var c *console.Console
	runner, err := functions.SyncRunner(s.Bundle, functions.SyncOptions{Register: register,
		Progress: func(r directory.Report) { c.SyncProgress(r) }})
	if err != nil {
		return fmt.Errorf("devserver: console: %w", err)
	}
	c, err = console.New(console.Sources{Mirror: directory.NewReader(s.Bundle.Store), Notify: n, Events: log,
		Sync: runner, Tokens: s.Bundle.Tokens, Simulator: s.Fake}, console.WithLogger(s.logger))
	if err != nil {
		return err
	}
	s.Console = c
	refresh := s.refresh
	s.refresh = func(ctx context.Context) (any, error) {
		defer c.Publish(console.TopicTokens)
		return refresh(ctx)
	}
	tick := s.syncTick
	s.syncTick = func(ctx context.Context) (any, error) {
		rep, err := tick(ctx)
		r, _ := rep.(*steps.Report)
		c.RecordSync(r, err)
		return rep, err
	}
	return nil
}

// Run starts the server and blocks until ctx is done, then shuts down.
func Run(ctx context.Context, o Options) error {
	s, err := Start(ctx, o)
	if err != nil {
		return err
	}
	return runUntil(ctx, "devserver", s.http, s.Close)
}

// Close stops the timers and the server and releases the store.
func (s *Server) Close() error {
	s.cancel()
	err := s.http.shutdown()
	s.wg.Wait()
	// A sync or drain the console started ends before the store closes.
	s.Console.Close()
	err = errors.Join(err, s.Bundle.Close())
	s.closeFake()
	return err
}

func (s *Server) closeFake() {
	if s.Fake != nil {
		s.Fake.Close()
	}
}

func period(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// simulate starts the fake DingTalk and returns a getenv that points the
// functions at it with freshly generated secrets. On error the caller closes
// the fake.
func (s *Server) simulate(getenv func(string) string) (func(string) string, error) {
	token, aesKey, apiKey := dingcrypto.RandomAlnum(24), dingcrypto.RandomAlnum(dingcrypto.KeyLength), dingcrypto.RandomAlnum(32)
	robot := dingcrypto.RandomAlnum(32)
	s.Fake = dingtalktest.NewServer(
		dingtalktest.WithDemoOrg(),
		dingtalktest.WithRobot(robot, dingtalktest.RobotConfig{}),
		dingtalktest.WithEventSubscription(token, aesKey),
		dingtalktest.WithAutoEvents(s.URL+"/callback"),
		dingtalktest.WithMaxRecordedCalls(10000),
	)
	var everyone []string
	for _, u := range s.Fake.Org().Users {
		everyone = append(everyone, u.UserID)
	}
	s.ChatGroup = s.Fake.AddChatGroup(SimulatorGroup, everyone...)
	s.NotifyAPIKey = apiKey
	overlay := map[string]string{
		"DINGTALK_APP_KEY":            s.Fake.AppKey(),
		"DINGTALK_APP_SECRET":         s.Fake.AppSecret(),
		"DINGTALK_AGENT_ID":           strconv.FormatInt(s.Fake.AgentID(), 10),
		"DINGTALK_CORP_ID":            s.Fake.CorpID(),
		"DINGTALK_CALLBACK_TOKEN":     token,
		"DINGTALK_CALLBACK_AES_KEY":   aesKey,
		"DINGTALK_CALLBACK_OWNER_KEY": s.Fake.AppKey(),
		"DINGTALK_OAPI_URL":           s.Fake.URL,
		"DINGTALK_API_URL":            s.Fake.URL,
		"NOTIFY_API_KEYS":             apiKey,
		"DINGFN_ROBOTS":               SimulatorRobot + "=" + robot,
	}
	if getenv("DINGFN_STORE") == "" && getenv("TABLESTORE_ENDPOINT") == "" {
		if err := os.MkdirAll(filepath.Dir(SimulatorStore), 0o700); err != nil {
			return nil, fmt.Errorf("devserver: %w", err)
		}
		if err := os.Remove(SimulatorStore); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("devserver: reset simulator store: %w", err)
		}
		overlay["DINGFN_STORE"] = "bolt:" + SimulatorStore
	}
	return func(k string) string {
		if v, ok := overlay[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// An event pushed to the callback changes the event log and the
	// mirror; a request to notify, the notices and robot messages: the
	// console's open pages look again at once.
	callback := s.Console.Watch(s.callback, console.TopicEvents, console.TopicMirror, console.TopicApprovals)
	mux.Handle("/callback", callback)
	mux.Handle("/callback/", callback)
	// notify's API is /v1/… on its own URL; here it lives under /notify.
	mux.Handle("/notify/", s.Console.Watch(http.StripPrefix("/notify", s.notify), console.TopicNotices, console.TopicRobots))
	mux.Handle(console.PagePattern, s.Console)
	mux.Handle(console.Prefix, s.Console)
	only(mux, http.MethodPost, "/timers/sync", s.timerHandler(s.syncTick))
	only(mux, http.MethodPost, "/timers/token-refresher", s.timerHandler(s.refresh))
	only(mux, http.MethodGet, "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"ok": true})
	}))
	if s.Fake != nil {
		only(mux, http.MethodPost, "/simulator/push", http.HandlerFunc(s.push))
		only(mux, http.MethodPost, "/simulator/robot", s.Console.Watch(http.HandlerFunc(s.robotMessage), console.TopicEvents, console.TopicRobots))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf(
			"no route for %s %s; routes: / (the console), /callback (robot messages: /callback/robot), /notify, POST /timers/sync, POST /timers/token-refresher, POST /simulator/push, POST /simulator/robot, GET /healthz",
			r.Method, r.URL.Path))
	})
	return mux
}

// only routes method on path to h (GET includes HEAD, as ServeMux does)
// and answers every other method on path with 405, an Allow header and
// dingfn's JSON error body. Without the second pattern the catch-all "/"
// would take those requests and answer 404, as if the path did not exist.
func only(mux *http.ServeMux, method, path string, h http.Handler) {
	mux.Handle(method+" "+path, h)
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		httpapi.WriteError(w, r, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s %s: method not allowed; use %s", r.Method, path, allow))
	})
}

func (s *Server) timerHandler(fn platform.TimerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, err := fn(r.Context())
		switch {
		case errors.Is(err, platform.ErrNotImplemented):
			httpapi.WriteError(w, r, http.StatusNotImplemented, "not_implemented", err.Error())
		case err != nil:
			httpapi.WriteJSON(w, http.StatusBadGateway, map[string]any{"error": "tick_failed", "message": platform.Redact(err.Error()), "report": rep})
		default:
			httpapi.WriteJSON(w, http.StatusOK, rep)
		}
	})
}

// push makes the simulated DingTalk encrypt and POST an event to /callback,
// exactly as DingTalk would, and checks the encrypted success reply.
func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		httpapi.WriteError(w, r, http.StatusRequestEntityTooLarge, "too_large", "event larger than 1 MiB")
		return
	}
	var probe map[string]any
	if err := json.Unmarshal(body, &probe); err != nil {
		httpapi.WriteError(w, r, http.StatusBadRequest, "bad_json", `body must be a JSON event object, e.g. {"EventType":"check_url"}`)
		return
	}
	if err := s.Fake.PushEvent(r.Context(), s.URL+"/callback", json.RawMessage(body)); err != nil {
		httpapi.WriteError(w, r, http.StatusBadGateway, "push_failed", platform.Redact(err.Error()))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "message": "callback answered with a correctly signed encrypted success"})
}

// simulatedMessage is the body of POST /simulator/robot.
type simulatedMessage struct {
	// Text is what the person writes to the robot.
	Text string `json:"text"`
	// From is the sender's userid (default: the demo organisation's
	// first person).
	From string `json:"from,omitempty"`
	// Group sends it in the simulated group, @-mentioning the robot (and
	// the people of At); otherwise one to one.
	Group bool     `json:"group,omitempty"`
	At    []string `json:"at,omitempty"`
	// MsgID repeats an earlier message's id: DingTalk delivering it again.
	MsgID string `json:"msg_id,omitempty"`
}

// robotMessage makes the simulated DingTalk post a message to the app
// robot's URL (/callback/robot), signed as DingTalk signs it, and shows
// what came back: the reply in the HTTP answer, and the replies already
// posted to the message's session webhook.
func (s *Server) robotMessage(w http.ResponseWriter, r *http.Request) {
	var m simulatedMessage
	if httpapi.DecodeJSON(w, r, &m, 64<<10) != nil {
		return
	}
	if strings.TrimSpace(m.Text) == "" {
		httpapi.WriteErrorBody(w, r, http.StatusBadRequest, httpapi.ErrorBody{Error: "invalid_request", Field: "text", Rule: "required",
			Message: `text is what the person writes to the robot, e.g. {"text":"谁是 李四","group":true}`})
		return
	}
	if m.From == "" {
		m.From = s.Fake.Org().Users[0].UserID
	}
	cm := dingtalktest.ChatMessage{From: m.From, Text: m.Text, AtUserIDs: m.At, MsgID: m.MsgID}
	if m.Group {
		cm.ConversationID = s.ChatGroup
	}
	d, err := s.Fake.PostChatbotMessage(r.Context(), s.URL+"/callback"+chatbot.Path, cm)
	if err != nil {
		httpapi.WriteError(w, r, http.StatusBadGateway, "post_failed", platform.Redact(err.Error()))
		return
	}
	var sent struct {
		MsgID string `json:"msgId"`
	}
	_ = json.Unmarshal(d.Payload, &sent)
	out := map[string]any{"ok": true, "msg_id": sent.MsgID, "reply": json.RawMessage(d.Reply), "session_replies": []json.RawMessage{}}
	var replies []json.RawMessage
	for _, sr := range s.Fake.SessionReplies() {
		if sr.MsgID == sent.MsgID {
			replies = append(replies, sr.Body)
		}
	}
	if replies != nil {
		out["session_replies"] = replies
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// every runs fn on a period until ctx ends; first runs it at once.
func (s *Server) every(ctx context.Context, name string, d time.Duration, first bool, fn platform.TimerFunc) {
	if d < 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		if first {
			s.tick(ctx, name, fn)
		}
		for {
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			// Closing wins over a period that elapsed meanwhile.
			if ctx.Err() != nil {
				return
			}
			s.tick(ctx, name, fn)
		}
	}()
}

func (s *Server) tick(ctx context.Context, name string, fn platform.TimerFunc) {
	rep, err := fn(ctx)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		s.logger.Warn("timer failed", "timer", name, "err", err)
	default:
		b, _ := json.Marshal(rep)
		s.logger.Info("timer ran", "timer", name, "report", string(b))
	}
}

func schedule(d time.Duration) string {
	if d < 0 {
		return "on demand only"
	}
	return "every " + d.String()
}

func (s *Server) banner(w io.Writer) {
	mode := "DingTalk at " + s.Bundle.Config.OAPIURL
	if s.Fake != nil {
		mode = "SIMULATED DingTalk at " + s.Fake.URL + " (demo organisation; set DINGTALK_APP_KEY to use a real app)"
	}
	fmt.Fprintf(w, `
dingfn dev — all four functions on %s
  %s
  store: %s %s

  console           %s/   (open it in a browser)
  callback          %s/callback   (robot messages: %s/callback/robot)
  notify            %s/notify/v1/…  (GET /notify/v1/openapi.json)
  sync              POST %s/timers/sync            (%s)
  token-refresher   POST %s/timers/token-refresher (%s)

Try:
  curl -s -X POST %s/timers/token-refresher
`, s.URL, mode, s.Bundle.Config.Store.Kind, s.Bundle.Config.Store.Path, s.URL, s.URL, s.URL, s.URL, s.URL, schedule(s.syncEvery), s.URL, schedule(s.refreshEvery), s.URL)
	if s.Fake != nil {
		fmt.Fprintf(w, `  curl -s -X POST %s/simulator/push -d '{"EventType":"check_url"}'
  curl -s -X POST %s/simulator/push -d '{"EventType":"user_add_org","UserId":["wangwu"],"CorpId":"%s"}'
  curl -s -X POST %s/notify/v1/notices -H 'Authorization: Bearer %s' \
       -d '{"userids":["lisi"],"msg":{"msgtype":"text","text":{"content":"你好"}}}'
  curl -s -X POST %s/notify/v1/robots/%s/messages -H 'Authorization: Bearer %s' \
       -d '{"msgtype":"markdown","markdown":{"title":"发布","text":"### v1.4 已上线\n- 修复登录"}}'
  curl -s -X POST %s/simulator/robot -d '{"text":"谁是 李四","group":true}'
  curl -s -X POST %s/notify/v1/robot/messages -H 'Authorization: Bearer %s' \
       -d '{"open_conversation_id":"%s","msg":{"msgKey":"sampleText","msgParam":{"content":"今晚 22:00 维护"}}}'
`, s.URL, s.URL, s.Fake.CorpID(), s.URL, s.NotifyAPIKey, s.URL, SimulatorRobot, s.NotifyAPIKey, s.URL, s.URL, s.NotifyAPIKey, s.ChatGroup)
	}
	fmt.Fprintln(w)
}
