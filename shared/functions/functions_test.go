package functions_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/approvals"
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory/directorytest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/functions"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/token"
)

// Made-up secrets for these tests only.
const (
	callbackToken = "functionsTestCallbackToken"
	callbackKey   = "functionsTestAesKey0123456789abcdefghijklmn"
	notifyKey     = "functions-test-notify-key-0123456789"
)

// open loads fn's configuration against the fake DingTalk on the memory
// store and opens its bundle, as the function's main does.
func open(t *testing.T, ding *dingtalktest.Server, fn config.Function, opts ...bundle.Option) *bundle.Bundle {
	t.Helper()
	env := map[string]string{
		"DINGTALK_APP_KEY":            ding.AppKey(),
		"DINGTALK_APP_SECRET":         ding.AppSecret(),
		"DINGTALK_AGENT_ID":           strconv.FormatInt(ding.AgentID(), 10),
		"DINGTALK_CORP_ID":            ding.CorpID(),
		"DINGTALK_CALLBACK_TOKEN":     callbackToken,
		"DINGTALK_CALLBACK_AES_KEY":   callbackKey,
		"DINGTALK_CALLBACK_OWNER_KEY": ding.AppKey(),
		"DINGTALK_OAPI_URL":           ding.URL,
		"DINGTALK_API_URL":            ding.URL,
		"NOTIFY_API_KEYS":             "ops=" + notifyKey,
		"DINGFN_STORE":                "memory",
	}
	cfg, err := config.Load(fn, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Each function's bundle opens from a memory-store configuration and its
// builder makes a working entry point: what each main runs.
func TestEveryFunction(t *testing.T) {
	t.Parallel()
	t.Run("callback", func(t *testing.T) {
		t.Parallel()
		ding := dingtalktest.NewServer(dingtalktest.WithEventSubscription(callbackToken, callbackKey))
		t.Cleanup(ding.Close)
		h, err := functions.Callback(open(t, ding, config.Callback))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		// PushEvent checks the encrypted "success" reply as DingTalk does.
		for _, ev := range []string{`{"EventType":"check_url"}`, `{"EventType":"user_add_org","UserId":["u1"],"CorpId":"` + ding.CorpID() + `"}`} {
			if err := ding.PushEvent(context.Background(), srv.URL+"/callback", []byte(ev)); err != nil {
				t.Errorf("push %s: %v", ev, err)
			}
		}
	})
	t.Run("notify", func(t *testing.T) {
		t.Parallel()
		ding := dingtalktest.NewServer()
		t.Cleanup(ding.Close)
		h, err := functions.Notify(open(t, ding, config.Notify))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/notices", strings.NewReader(`{"userids":["`+ding.Org().Users[0].UserID+`"],"msg":{"msgtype":"text","text":{"content":"hello"}}}`))
		r.Header.Set("Authorization", "Bearer "+notifyKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted || len(ding.WorkNotices()) != 1 {
			t.Errorf("a notice: got %d %s, want 202 and one notice at DingTalk", w.Code, w.Body)
		}
	})
	t.Run("sync", func(t *testing.T) {
		t.Parallel()
		ding := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
		t.Cleanup(ding.Close)
		b := open(t, ding, config.Sync)
		tick, err := functions.Sync(b)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := tick(context.Background())
		if err != nil {
			t.Fatalf("first tick: %v", err)
		}
		if r, ok := rep.(*schedule.Report); !ok || !r.OK || len(r.Steps) == 0 {
			t.Errorf("first tick: got %+v, want an OK schedule report with the directory step", rep)
		}
		diff, err := directorytest.Diff(context.Background(), b.Store, ding.Org())
		if err != nil {
			t.Fatal(err)
		}
		if len(diff) > 0 {
			t.Errorf("after the first tick the mirror differs from the fake's organisation:\n%s", strings.Join(diff, "\n"))
		}
	})
	t.Run("token-refresher", func(t *testing.T) {
		t.Parallel()
		ding := dingtalktest.NewServer()
		t.Cleanup(ding.Close)
		tick, err := functions.TokenRefresher(open(t, ding, config.TokenRefresher))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := tick(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r, ok := rep.(token.Report)
		if !ok || !r.OK || len(r.Apps) != 1 || !r.Apps[0].AccessToken.Refreshed || !r.Apps[0].JSAPITicket.Refreshed {
			t.Errorf("first tick: got %+v, want both values refreshed", rep)
		}
		issued := ding.TokenIssues()
		if _, err := tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ding.TokenIssues() != issued {
			t.Errorf("a second tick within validity asked DingTalk for a token")
		}
	})
}

// A builder reports what it cannot build instead of exiting.
func TestCallbackNeedsItsSecrets(t *testing.T) {
	t.Parallel()
	ding := dingtalktest.NewServer()
	t.Cleanup(ding.Close)
	b := *open(t, ding, config.Callback)
	cfg := *b.Config
	cfg.CallbackToken, cfg.CallbackAESKey = "", ""
	b.Config = &cfg
	if h, err := functions.Callback(&b); err == nil || h != nil {
		t.Errorf("callback without its token and AES key: got %v, %v; want an error", h, err)
	}
}

// notify's keys are checked before anything else is answered: 401
// without a valid key, then the API's own answer (400 for an empty
// notice).
func TestNotifyChecksKeysFirst(t *testing.T) {
	t.Parallel()
	ding := dingtalktest.NewServer()
	t.Cleanup(ding.Close)
	h, err := functions.Notify(open(t, ding, config.Notify))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer " + strings.Repeat("x", len(notifyKey)), http.StatusUnauthorized},
		{"Bearer " + notifyKey, http.StatusBadRequest},
	} {
		if code := serve(h, tt.auth); code != tt.want {
			t.Errorf("Authorization %q: got %d, want %d", tt.auth, code, tt.want)
		}
	}
}

func serve(h http.Handler, auth string) int {
	r := httptest.NewRequest(http.MethodPost, "/v1/notices", strings.NewReader(`{}`))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestEventsWiring: the callback built for the function logs and
// processes events (an approval lands in the approvals table inline), and
// the sync tick of a register_call_back deployment (owner key = corp id)
// recovers failed pushes into the same log, to be drained.
func TestEventsWiring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ding := dingtalktest.NewServer(dingtalktest.WithDemoOrg(), dingtalktest.WithEventSubscription(callbackToken, callbackKey))
	t.Cleanup(ding.Close)
	b := open(t, ding, config.Dev)
	h, err := functions.Callback(b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	id, err := b.Client.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{
		OriginatorUserID: "lisi", ProcessCode: "PROC-LEAVE", DeptID: -1,
		FormComponentValues: []dingtalk.FormComponentValue{{Name: "days", Value: "2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := ding.ProcessEvent(id, "start")
	if err := ding.PushEvent(ctx, srv.URL, ev); err != nil {
		t.Fatalf("push: %v", err)
	}
	if a, err := approvals.Get(ctx, b.Store, id); err != nil || a.Status != "RUNNING" {
		t.Errorf("approval after the push: %+v, %v", a, err)
	}

	// Sync of a register_call_back deployment runs the recovery step.
	b.Config.CallbackOwnerKey = b.Config.CorpID
	ding.AddFailedEvent("user_modify_org", time.Now(), map[string]any{"userid": []string{"lisi"}})
	tick, err := functions.Sync(b)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range rep.(*schedule.Report).Steps {
		names = append(names, s.Step)
	}
	if !slices.Contains(names, events.StepRecover) || !slices.Contains(names, events.StepDrain) || ding.FailedEventCount() != 0 {
		t.Errorf("steps %v, %d failed pushes left; want the recovery to have fetched them", names, ding.FailedEventCount())
	}
	log, err := functions.Events(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e, err := range log.List(ctx, "") {
		if err == nil && e.Source == events.SourceFailedResult {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d recovered events in the log, want 1", n)
	}
}

// TestChatbotWiring: the callback function answers the event push on any
// path and the robot's messages on /robot; a chat handler too slow for the
// request is finished by the drain, which replies through the session
// webhook: the callback's and the drain's event logs both carry the
// chatbot's replies.
func TestChatbotWiring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ding := dingtalktest.NewServer(dingtalktest.WithDemoOrg(), dingtalktest.WithEventSubscription(callbackToken, callbackKey))
	t.Cleanup(ding.Close)
	b := open(t, ding, config.Callback)
	var slowRuns atomic.Int32
	register := func(m *events.Mux) {
		chatbot.HandleFunc(m, "helpdesk", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
			if msg.PlainText() == "slow" && slowRuns.Add(1) == 1 {
				<-ctx.Done() // longer than the request may take
				return ctx.Err()
			}
			return reply(ctx, dingtalk.RobotText("re: "+msg.PlainText()))
		})
	}
	h, err := functions.CallbackWith(register)(b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, path := range []string{"", "/", "/callback"} {
		if err := ding.PushEvent(ctx, srv.URL+path, []byte(`{"EventType":"check_url"}`)); err != nil {
			t.Errorf("push to %q: %v", path, err)
		}
	}
	d, err := ding.PostChatbotMessage(ctx, srv.URL+"/robot", dingtalktest.ChatMessage{From: "lisi", Text: "fast"})
	if err != nil || !strings.Contains(string(d.Reply), "re: fast") {
		t.Fatalf("fast message: %+v, %v", d, err)
	}
	d, err = ding.PostChatbotMessage(ctx, srv.URL+"/robot", dingtalktest.ChatMessage{From: "lisi", Text: "slow"})
	if err != nil || strings.Contains(string(d.Reply), "re: slow") {
		t.Fatalf("slow message answered at once: %+v, %v", d, err)
	}
	log, err := functions.Events(b, register)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.DrainNow(ctx); err != nil {
		t.Fatal(err)
	}
	replies := ding.SessionReplies()
	if len(replies) != 1 || replies[0].Text() != "re: slow" {
		t.Errorf("session replies %+v, want the slow answer", replies)
	}
	// A robot message is not an encrypted push, nor the other way round.
	res, err := http.Post(srv.URL+"/robot", "application/json", strings.NewReader(`{"encrypt":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned POST /robot: %d, want 401", res.StatusCode)
	}
}

// A bundle opened with a clock runs its functions on it: the callback
// checks a push's timestamp, the event log stamps what it receives and the
// store expires rows by that clock, not by the wall's.
func TestBundleClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := dingtalktest.NewManualClock(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	ding := dingtalktest.NewServer(dingtalktest.WithClock(clk.Now), dingtalktest.WithEventSubscription(callbackToken, callbackKey))
	t.Cleanup(ding.Close)
	b := open(t, ding, config.Callback, bundle.WithClock(clk.Now))
	h, err := functions.Callback(b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// Years from the wall clock: only the bundle's clock accepts it.
	if err := ding.PushEvent(ctx, srv.URL, []byte(`{"EventType":"user_add_org","UserId":["u1"],"CorpId":"`+ding.CorpID()+`"}`)); err != nil {
		t.Fatalf("push on the bundle's clock: %v", err)
	}
	log, err := functions.Events(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e, err := range log.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if !e.ReceivedAt.Equal(clk.Now()) {
			t.Errorf("received_at %v, want the bundle's clock %v", e.ReceivedAt, clk.Now())
		}
	}
	if n != 1 {
		t.Errorf("%d events logged, want 1", n)
	}
}
