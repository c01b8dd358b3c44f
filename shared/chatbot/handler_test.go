package chatbot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

var epoch = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// env is a robot's message URL on the event log, with the fake DingTalk
// posting to it, all on one manual clock.
type env struct {
	t     *testing.T
	clk   *clocktest.Manual
	fake  *dingtalktest.Server
	mux   *events.Mux
	log   *events.Service
	url   string
	logs  *bytes.Buffer
	group string
	from  string
}

type envOption struct {
	budget, reserve time.Duration
	store           storetest.Backend
}

func newEnv(t *testing.T, register func(*events.Mux, store.Store), o envOption) *env {
	t.Helper()
	if o.budget == 0 {
		// A generous budget where timing is not the point.
		o.budget, o.reserve = 20*time.Second, time.Second
	}
	if o.store.Open == nil {
		o.store = storetest.Memory()
	}
	e := &env{t: t, clk: clocktest.New(epoch), mux: events.NewMux(), logs: &bytes.Buffer{}}
	e.fake = dingtalktest.NewServer(dingtalktest.WithDemoOrg(), dingtalktest.WithClock(e.clk.Now))
	t.Cleanup(e.fake.Close)
	// The client's own retries pause in real time; these tests see what
	// reaches the event log.
	client, err := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(), dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL),
		dingtalk.WithRetryPolicy(dingtalk.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	st := o.store.Open(t, e.clk.Now)
	register(e.mux, st)
	e.log, err = events.New(st, e.mux, events.WithClock(e.clk.Now), events.WithBudget(o.budget, o.reserve),
		chatbot.Replies(client.Chatbot, e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	h, err := chatbot.NewHandler(e.fake.AppSecret(), e.log, chatbot.WithClock(e.clk.Now),
		chatbot.WithLogger(slog.New(slog.NewTextHandler(&syncWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	e.url = hs.URL + "/robot"
	e.from = e.fake.Org().Users[1].UserID
	e.group = e.fake.AddChatGroup("研发群", e.from)
	return e
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// post makes the fake post a group message saying text.
func (e *env) post(m dingtalktest.ChatMessage) *dingtalktest.ChatDelivery {
	e.t.Helper()
	if m.From == "" {
		m.From = e.from
	}
	if m.ConversationID == "" {
		m.ConversationID = e.group
	}
	d, err := e.fake.PostChatbotMessage(context.Background(), e.url, m)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// entry reads the logged message.
func (e *env) entry(payload []byte) *events.Entry {
	e.t.Helper()
	m, err := chatbot.ParseMessage(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	en, err := e.log.Get(context.Background(), chatbot.EventID(m))
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// drain runs the drain as the sync tick would, after the grace.
func (e *env) drain() events.DrainReport {
	e.t.Helper()
	e.clk.Advance(events.DefaultGrace + time.Second)
	rep, err := e.log.Drain(context.Background(), e.clk.Now(), time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func replyText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var m dingtalk.RobotMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("reply %s: %v", raw, err)
	}
	switch {
	case m.Text != nil:
		return m.Text.Content
	case m.Markdown != nil:
		return m.Markdown.Text
	}
	return "msgtype " + string(m.MsgType)
}

// noReply reports whether the message was answered without a reply.
func noReply(d *dingtalktest.ChatDelivery) bool {
	return string(bytes.TrimSpace(d.Reply)) == `{"msgtype":"empty"}`
}

// echo is the README's example handler.
func echo(m *events.Mux) {
	chatbot.HandleFunc(m, "echo", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
		return reply(ctx, dingtalk.RobotText("你说："+msg.PlainText()))
	})
}

// TestFastReplyInBodyAndRedelivery: a handler that answers at once answers
// in the HTTP body; DingTalk's redelivery of the message is acknowledged
// without running the handler or answering again; on every store.
func TestFastReplyInBodyAndRedelivery(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			runs := 0
			e := newEnv(t, func(m *events.Mux, _ store.Store) {
				echo(m)
				m.HandleFunc(chatbot.EventType, func(context.Context, *events.Event) error { runs++; return nil })
			}, envOption{store: b})
			d := e.post(dingtalktest.ChatMessage{Text: "ping", MsgID: "msgRedelivered0001=="})
			if got := replyText(t, d.Reply); got != "你说：ping" {
				t.Errorf("reply in the body = %q (%s)", got, d.Reply)
			}
			again := e.post(dingtalktest.ChatMessage{Text: "ping", MsgID: "msgRedelivered0001=="})
			if !noReply(again) {
				t.Errorf("redelivery answered %s, want no reply", again.Reply)
			}
			if runs != 1 {
				t.Errorf("handlers ran %d times, want 1", runs)
			}
			en := e.entry(d.Payload)
			if en.Type != chatbot.EventType || en.Source != chatbot.SourceChatbot || en.Status != events.StatusDone ||
				en.Results[chatbot.RouteName("echo")].Status != events.StatusDone || en.CorpID != e.fake.CorpID() {
				t.Errorf("logged %+v", en)
			}
			if n := len(e.fake.SessionReplies()); n != 0 {
				t.Errorf("%d replies went through the session webhook", n)
			}
		})
	}
}

// TestSlowReplyThroughWebhook: a handler still working when the budget
// ends is left to the drain; the request is answered without a reply and
// the drain's run answers through the session webhook.
func TestSlowReplyThroughWebhook(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	e := newEnv(t, func(m *events.Mux, _ store.Store) {
		chatbot.HandleFunc(m, "slow", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
			if attempts.Add(1) == 1 {
				<-ctx.Done() // the answer takes longer than the request may
				return ctx.Err()
			}
			return reply(ctx, dingtalk.RobotMarkdown("答复", "查到了", msg.SenderStaffID))
		})
	}, envOption{budget: 400 * time.Millisecond, reserve: 200 * time.Millisecond})
	d := e.post(dingtalktest.ChatMessage{Text: "查一下"})
	if !noReply(d) {
		t.Fatalf("answer = %s, want no reply yet", d.Reply)
	}
	if en := e.entry(d.Payload); en.Status != events.StatusPending {
		t.Fatalf("status after the request = %s, want pending", en.Status)
	}
	if rep := e.drain(); rep.Done != 1 {
		t.Fatalf("drain = %+v", rep)
	}
	replies := e.fake.SessionReplies()
	if len(replies) != 1 || replies[0].ConversationID != e.group || !strings.HasPrefix(replies[0].Text(), "答复\n查到了 @"+e.from) {
		t.Fatalf("session replies = %+v", replies)
	}
	var body map[string]any
	json.Unmarshal(replies[0].Body, &body)
	if at, _ := body["at"].(map[string]any); at == nil || at["atUserIds"].([]any)[0] != e.from {
		t.Errorf("the reply does not @-mention the asker: %s", replies[0].Body)
	}
}

// TestSecondReplyThroughWebhook: only one reply fits in the body; the
// next goes through the webhook at once.
func TestSecondReplyThroughWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(m *events.Mux, _ store.Store) {
		chatbot.HandleFunc(m, "two", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
			if err := reply(ctx, dingtalk.RobotText("收到")); err != nil {
				return err
			}
			return reply(ctx, &dingtalk.RobotMessage{MsgType: dingtalk.MsgTypeLink, Link: &dingtalk.RobotLink{
				Title: "工单", Text: "已创建", MessageURL: "https://helpdesk.example.com/t/1"}})
		})
	}, envOption{})
	d := e.post(dingtalktest.ChatMessage{Text: "报修"})
	if got := replyText(t, d.Reply); got != "收到" {
		t.Errorf("body = %q", got)
	}
	if r := e.fake.SessionReplies(); len(r) != 1 || r[0].MsgType != "link" {
		t.Errorf("session replies = %+v", r)
	}
}

// TestExpiredWebhook: a reply the drain makes after the session webhook
// expired is not sent, and the event is dead with the reason.
func TestExpiredWebhook(t *testing.T) {
	t.Parallel()
	attempts := 0
	e := newEnv(t, func(m *events.Mux, _ store.Store) {
		chatbot.HandleFunc(m, "late", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
			attempts++
			if attempts == 1 {
				return errors.New("the knowledge base is down")
			}
			_ = reply(ctx, dingtalk.RobotText("终于查到了")) // ignoring the error does not hide it
			return nil
		})
	}, envOption{})
	d := e.post(dingtalktest.ChatMessage{Text: "查一下", SessionTTL: 30 * time.Minute})
	if en := e.entry(d.Payload); en.Status != events.StatusFailed {
		t.Fatalf("status = %s, want failed", en.Status)
	}
	e.clk.Advance(2 * time.Hour)
	if rep := e.drain(); rep.Dead != 1 {
		t.Fatalf("drain = %+v, want the event dead", rep)
	}
	en := e.entry(d.Payload)
	res := en.Results[chatbot.RouteName("late")]
	if en.Status != events.StatusDead || res.Status != events.StatusDead || !strings.Contains(res.LastError, "session webhook has expired") ||
		!strings.Contains(res.LastError, "30m0s after the message") {
		t.Errorf("entry = %+v", en)
	}
	if r := e.fake.SessionReplies(); len(r) != 0 {
		t.Errorf("a reply was posted after expiry: %+v", r)
	}
}

// TestPassingReplyFailureIsRetried: DingTalk refusing a reply for a
// passing reason fails the run; the drain replies later.
func TestPassingReplyFailureIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(m *events.Mux, _ store.Store) {
		chatbot.HandleFunc(m, "echo", func(ctx context.Context, msg *chatbot.Message, reply chatbot.ReplyFunc) error {
			return reply(ctx, &dingtalk.RobotMessage{MsgType: dingtalk.MsgTypeLink, Link: &dingtalk.RobotLink{Title: "t", Text: "x", MessageURL: "https://example.com"}})
		})
	}, envOption{})
	e.fake.InjectFault("robot/sendBySession", dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited, Times: 1})
	d := e.post(dingtalktest.ChatMessage{Text: "x"})
	if en := e.entry(d.Payload); en.Status != events.StatusFailed {
		t.Fatalf("status = %s (%s), want failed for now", en.Status, en.LastError)
	}
	e.clk.Advance(10 * time.Minute)
	if rep := e.drain(); rep.Done != 1 {
		t.Fatalf("drain = %+v", rep)
	}
	if r := e.fake.SessionReplies(); len(r) != 1 {
		t.Errorf("session replies = %+v", r)
	}
}

// TestRefusals: a request without DingTalk's valid signature, outside the
// hour, or malformed is refused with the JSON error body, and nothing is
// logged or run.
func TestRefusals(t *testing.T) {
	t.Parallel()
	runs := 0
	e := newEnv(t, func(m *events.Mux, _ store.Store) {
		chatbot.HandleFunc(m, "n", func(context.Context, *chatbot.Message, chatbot.ReplyFunc) error { runs++; return nil })
	}, envOption{})
	payload, err := e.fake.ChatbotMessage(dingtalktest.ChatMessage{From: e.from, ConversationID: e.group, Text: "机密内容"})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clk.Now().UnixMilli()
	signed := func(ms int64, secret string) http.Header {
		return http.Header{"Timestamp": {strconv.FormatInt(ms, 10)}, "Sign": {dingcrypto.RobotSign(secret, ms)}}
	}
	tests := []struct {
		name   string
		method string
		header http.Header
		body   []byte
		status int
		code   string
	}{
		{"GET", http.MethodGet, e.fake.ChatbotHeaders(), nil, 405, "method_not_allowed"},
		{"no headers", http.MethodPost, nil, payload, 401, "missing_signature"},
		{"no sign", http.MethodPost, http.Header{"Timestamp": {strconv.FormatInt(now, 10)}}, payload, 401, "missing_signature"},
		{"wrong secret", http.MethodPost, signed(now, "another-secret"), payload, 401, "bad_signature"},
		{"sign of another time", http.MethodPost, http.Header{"Timestamp": {strconv.FormatInt(now, 10)}, "Sign": {dingcrypto.RobotSign(e.fake.AppSecret(), now-1)}}, payload, 401, "bad_signature"},
		{"61 minutes old", http.MethodPost, signed(now-61*60*1000, e.fake.AppSecret()), payload, 401, "expired_timestamp"},
		{"61 minutes ahead", http.MethodPost, signed(now+61*60*1000, e.fake.AppSecret()), payload, 401, "expired_timestamp"},
		{"seconds, not milliseconds", http.MethodPost, signed(now/1000, e.fake.AppSecret()), payload, 401, "expired_timestamp"},
		{"not JSON", http.MethodPost, e.fake.ChatbotHeaders(), []byte(`{"msgtype":`), 400, "malformed_message"},
		{"no conversation", http.MethodPost, e.fake.ChatbotHeaders(), []byte(`{"msgtype":"text","text":{"content":"机密内容"}}`), 400, "malformed_message"},
		{"too large", http.MethodPost, e.fake.ChatbotHeaders(), bytes.Repeat([]byte(" "), int(chatbot.DefaultMaxBody)+1), 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.url, bytes.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct{ Error, Message string }
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != tt.status || body.Error != tt.code || body.Message == "" {
				t.Errorf("answer %d %+v (%v), want %d %s", res.StatusCode, body, err, tt.status, tt.code)
			}
		})
	}
	if runs != 0 {
		t.Errorf("a refused request ran the handler %d times", runs)
	}
	m, _ := chatbot.ParseMessage(payload)
	if _, err := e.log.Get(context.Background(), chatbot.EventID(m)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused message was logged: %v", err)
	}
	// The message URL then takes the same message, signed correctly.
	if _, err := e.fake.PostChatbotPayload(context.Background(), e.url, payload); err != nil || runs != 1 {
		t.Errorf("signed post: %v, %d runs", err, runs)
	}
	logs := e.logs.String()
	for _, secret := range []string{"机密内容", "session=", e.fake.AppSecret()} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs show %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "chatbot message refused") || !strings.Contains(logs, "chatbot message ") {
		t.Errorf("logs do not say what happened:\n%s", logs)
	}
}

// TestDispatchFailure: a message the log cannot record is answered 500,
// so that it is not taken for handled.
func TestDispatchFailure(t *testing.T) {
	t.Parallel()
	fake := dingtalktest.NewServer()
	t.Cleanup(fake.Close)
	h, err := chatbot.NewHandler(fake.AppSecret(), failingLog{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	d, err := fake.PostChatbotMessage(context.Background(), hs.URL, dingtalktest.ChatMessage{From: "x", Text: "hi"})
	if err == nil || d.Status != http.StatusInternalServerError || !strings.Contains(string(d.Reply), "dispatch_failed") {
		t.Errorf("answer %+v, %v", d, err)
	}
}

type failingLog struct{}

func (failingLog) Process(context.Context, *events.Event) (events.Processed, error) {
	return events.Processed{}, errors.New("store down")
}

// TestWhoIs: the example handler answers from the directory mirror, for
// an @-mention in a group (mentioning the asker) and a name one to one.
func TestWhoIs(t *testing.T) {
	t.Parallel()
	var st store.Store
	e := newEnv(t, func(m *events.Mux, s store.Store) {
		st = s
		chatbot.Handle(m, "whois", chatbot.WhoIs(directory.NewReader(s)))
	}, envOption{})
	client, _ := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(), dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL))
	w, _ := directory.NewWriter(st, client)
	walk, _ := directory.NewSyncer(w)
	tick, _ := schedule.New(st, []schedule.Step{walk.Step(false)})
	if _, err := tick.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := e.post(dingtalktest.ChatMessage{Text: "谁是 @陈静", AtUserIDs: []string{"chenjing"}})
	var md dingtalk.RobotMessage
	if err := json.Unmarshal(d.Reply, &md); err != nil || md.Markdown == nil {
		t.Fatalf("reply %s", d.Reply)
	}
	if txt := md.Markdown.Text; !strings.Contains(txt, "**陈静** · 测试工程师") || !strings.Contains(txt, "userid：chenjing") || !strings.HasSuffix(txt, "@"+e.from) {
		t.Errorf("answer %q", txt)
	}
	if md.At == nil || len(md.At.AtUserIDs) != 1 || md.At.AtUserIDs[0] != e.from {
		t.Errorf("at = %+v", md.At)
	}
	d, err := e.fake.PostChatbotMessage(context.Background(), e.url, dingtalktest.ChatMessage{From: e.from, Text: "谁是 李四？"})
	if err != nil {
		t.Fatal(err)
	}
	if got := replyText(t, d.Reply); !strings.Contains(got, "**李四**") || strings.Contains(got, "@") {
		t.Errorf("one-to-one answer %q", got)
	}
	d = e.post(dingtalktest.ChatMessage{Text: "who is nobody"})
	if got := replyText(t, d.Reply); !strings.Contains(got, "通讯录里没有「nobody」") {
		t.Errorf("answer %q", got)
	}
}
