package dingtalktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
)

// TestChatbotThroughClient drives the app robot's new-API calls through
// the typed client against the fake: one-to-one and group sends, read
// status, recall within and after 24 hours.
func TestChatbotThroughClient(t *testing.T) {
	s, c, clk := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	code := s.RobotCode()
	if code != s.AppKey() {
		t.Fatalf("RobotCode = %q, want the app key by default", code)
	}
	users := []string{s.Org().Users[0].UserID, s.Org().Users[1].UserID}

	res, err := c.Chatbot.SendToUsers(ctx, code, append(slices.Clone(users), "nobody"), dingtalk.BotTextMessage("你好"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ProcessQueryKey == "" || !slices.Equal(res.InvalidStaffIDs, []string{"nobody"}) {
		t.Fatalf("SendToUsers = %+v", res)
	}
	sent := s.ChatbotSends()
	if len(sent) != 1 || !slices.Equal(sent[0].UserIDs, users) || sent[0].MsgParam["content"] != "你好" {
		t.Fatalf("fake recorded %+v", sent)
	}
	s.MarkChatbotRead(res.ProcessQueryKey, users[0])
	st, err := c.Chatbot.ReadStatus(ctx, code, res.ProcessQueryKey)
	if err != nil {
		t.Fatal(err)
	}
	if st.SendStatus != dingtalk.BotSendSuccess || len(st.Readers) != 2 || st.Readers[0].ReadStatus != dingtalk.BotRead || st.Readers[1].ReadStatus != dingtalk.BotUnread {
		t.Errorf("ReadStatus = %+v", st)
	}

	cid := s.AddChatGroup("项目群", users...)
	key, err := c.Chatbot.SendToGroup(ctx, code, cid, dingtalk.BotMarkdownMessage("发布", "### v1.4"))
	if err != nil || key == "" {
		t.Fatalf("SendToGroup = %q, %v", key, err)
	}
	_, err = c.Chatbot.SendToGroup(ctx, code, "cidnosuchgroup", dingtalk.BotTextMessage("x"))
	if !dingtalk.IsInvalidArgument(err) || dingtalk.IsRateLimited(err) {
		t.Errorf("unknown group: err = %v, want an invalid argument", err)
	}

	rr, err := c.Chatbot.RecallGroup(ctx, code, cid, []string{key})
	if err != nil || !slices.Equal(rr.Succeeded, []string{key}) {
		t.Fatalf("RecallGroup = %+v, %v", rr, err)
	}
	clk.Advance(25 * time.Hour)
	rr, err = c.Chatbot.RecallUsers(ctx, code, []string{res.ProcessQueryKey, "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Succeeded) != 0 || rr.Failed[res.ProcessQueryKey] != "processQueryKey.expireTime" || rr.Failed["unknown"] != "invalid.processQueryKey" {
		t.Errorf("RecallUsers after 25 h = %+v", rr)
	}
	if _, err := c.Chatbot.ReadStatus(ctx, code, res.ProcessQueryKey); !dingtalk.IsInvalidArgument(err) {
		t.Errorf("ReadStatus after 25 h: err = %v", err)
	}
}

// TestChatbotLimitsBeforeDingTalk: the stated limits are checked by the
// client, so such a request never reaches DingTalk.
func TestChatbotLimitsBeforeDingTalk(t *testing.T) {
	s, c, _ := setup(t, nil)
	ctx := context.Background()
	code := s.RobotCode()
	many := make([]string, dingtalk.MaxChatbotUsers+1)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i)
	}
	tests := []struct {
		name  string
		call  func() error
		field string
		rule  dingtalk.Rule
	}{
		{"21 users", func() error {
			_, err := c.Chatbot.SendToUsers(ctx, code, many, dingtalk.BotTextMessage("x"))
			return err
		}, "userIds", dingtalk.RuleMaxCount},
		{"no robot code", func() error {
			_, err := c.Chatbot.SendToUsers(ctx, "", many[:1], dingtalk.BotTextMessage("x"))
			return err
		}, "robotCode", dingtalk.RuleRequired},
		{"msgParam over 15000 bytes", func() error {
			_, err := c.Chatbot.SendToGroup(ctx, code, "cid1", dingtalk.BotTextMessage(strings.Repeat("字", 5001)))
			return err
		}, "msgParam", dingtalk.RuleMaxBytes},
		{"unknown template", func() error {
			_, err := c.Chatbot.SendToGroup(ctx, code, "cid1", &dingtalk.BotMessage{MsgKey: "sampleNope"})
			return err
		}, "msgKey", dingtalk.RuleOneOf},
		{"missing field", func() error {
			_, err := c.Chatbot.SendToGroup(ctx, code, "cid1", &dingtalk.BotMessage{MsgKey: dingtalk.BotMarkdown, MsgParam: map[string]string{"title": "t"}})
			return err
		}, "msgParam.text", dingtalk.RuleRequired},
		{"21 recall keys", func() error {
			_, err := c.Chatbot.RecallUsers(ctx, code, many)
			return err
		}, "processQueryKeys", dingtalk.RuleMaxCount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			ve, ok := errors.AsType[*dingtalk.ValidationError](err)
			if !ok || ve.Field != tt.field || ve.Rule != tt.rule {
				t.Errorf("err = %v, want %s %s", err, tt.field, tt.rule)
			}
		})
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("%d calls reached the fake", n)
	}
}

// TestChatbotMessageAndSessionWebhook: the fake posts a robot message
// signed as DingTalk does, and its session webhook takes replies through
// the client until it expires.
func TestChatbotMessageAndSessionWebhook(t *testing.T) {
	s, c, clk := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	from := s.Org().Users[0]
	var got struct {
		header  http.Header
		payload map[string]any
	}
	recv := func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header.Clone()
		json.NewDecoder(r.Body).Decode(&got.payload)
		if err := dingcrypto.VerifyRobotRequest(r, s.AppSecret(), clk.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"msgtype":"text","text":{"content":"pong"}}`))
	}
	hs := httptest.NewServer(http.HandlerFunc(recv))
	t.Cleanup(hs.Close)
	cid := s.AddChatGroup("值班群", from.UserID)
	d, err := s.PostChatbotMessage(ctx, hs.URL+"/robot", dingtalktest.ChatMessage{From: from.UserID, ConversationID: cid, Text: "ping", AtUserIDs: []string{"lisi"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Reply) != `{"msgtype":"text","text":{"content":"pong"}}` {
		t.Errorf("reply = %s", d.Reply)
	}
	p := got.payload
	if p["senderStaffId"] != from.UserID || p["conversationType"] != "2" || p["conversationId"] != cid || p["senderNick"] != from.Name {
		t.Errorf("payload = %v", p)
	}
	if txt, _ := p["text"].(map[string]any); txt["content"] != " ping" {
		t.Errorf("text = %v, want the space the @-mention leaves", p["text"])
	}
	hook, _ := p["sessionWebhook"].(string)
	if err := c.Chatbot.Reply(ctx, hook, dingtalk.RobotText("稍等，正在查询", from.UserID)); err != nil {
		t.Fatal(err)
	}
	replies := s.SessionReplies()
	if len(replies) != 1 || replies[0].ConversationID != cid || !strings.HasPrefix(replies[0].Text(), "稍等") {
		t.Fatalf("session replies = %+v", replies)
	}
	clk.Advance(dingtalktest.DefaultSessionTTL)
	err = c.Chatbot.Reply(ctx, hook, dingtalk.RobotText("太晚了"))
	if de, ok := errors.AsType[*dingtalk.Error](err); !ok || de.ErrCode != 300001 {
		t.Errorf("reply after expiry: err = %v", err)
	}
	if strings.Contains(err.Error(), "session=") && !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("the session leaks into the error: %v", err)
	}
	for _, bad := range []string{"https://evil.example.com/robot/sendBySession?session=x", s.URL + "/robot/send?session=x", s.URL + "/robot/sendBySession"} {
		if err := c.Chatbot.Reply(ctx, bad, dingtalk.RobotText("x")); !errors.Is(err, dingtalk.ErrBadSessionWebhook) {
			t.Errorf("Reply(%s) = %v", bad, err)
		}
	}
}
