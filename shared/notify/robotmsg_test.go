package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// botEnv is an env whose notify instances send as the fake's app robot.
func botEnv(t *testing.T, b storetest.Backend, opts ...envOption) (*env, *notify.Service) {
	t.Helper()
	e := newEnv(t, b, opts...)
	return e, e.instance(notify.WithRobotCode(e.fake.RobotCode()))
}

func botText(content string) map[string]any {
	return map[string]any{"msgKey": "sampleText", "msgParam": map[string]string{"content": content}}
}

// TestRobotMessageToUsersAndGroup: notify sends as the app robot to
// userids, in calls of 20, and into a group; the answer, the status (with
// DingTalk's read state) and the recall go through the HTTP API, checked
// against the OpenAPI document; on every store.
func TestRobotMessageToUsersAndGroup(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e, s := botEnv(t, b)
			h := e.handler(s)
			users := append(userIDs(t, e.fake, 45), "nobody", userIDs(t, e.fake, 1)[0])
			var a notify.RobotMessageAnswer
			res := call(t, h, "POST", "/v1/robot/messages", map[string]any{"userids": users, "msg": botText("系统维护通知")}, &a,
				"Idempotency-Key", "maintenance-2026-03-02")
			if res.StatusCode != http.StatusAccepted || a.Status != notify.StatusSent || len(a.ProcessQueryKeys) != 3 {
				t.Fatalf("answer %d %+v", res.StatusCode, a)
			}
			if res.Header.Get("Location") != "/v1/robot/messages/"+a.ID || !strings.HasPrefix(a.ID, "r") {
				t.Errorf("Location %q, id %q", res.Header.Get("Location"), a.ID)
			}
			codes := map[string][]string{}
			for _, w := range a.Warnings {
				codes[w.Code] = w.UserIDs
			}
			if !slices.Equal(codes[notify.WarnInvalidUserIDs], []string{"nobody"}) || codes[notify.WarnDuplicateUserIDs] == nil {
				t.Errorf("warnings %+v", a.Warnings)
			}
			sends := e.fake.ChatbotSends()
			got := 0
			for _, m := range sends {
				if len(m.UserIDs) > dingtalk.MaxChatbotUsers || m.MsgKey != "sampleText" || m.MsgParam["content"] != "系统维护通知" {
					t.Errorf("call %+v", m)
				}
				got += len(m.UserIDs)
			}
			if len(sends) != 3 || got != 45 {
				t.Fatalf("%d calls reached %d people, want 3 calls to 45", len(sends), got)
			}

			// The same key and body: the first answer, nothing sent again.
			var again notify.RobotMessageAnswer
			res = call(t, h, "POST", "/v1/robot/messages", map[string]any{"userids": users, "msg": botText("系统维护通知")}, &again,
				"Idempotency-Key", "maintenance-2026-03-02")
			if res.Header.Get(notify.ReplayedHeader) != "true" || again.ID != a.ID || len(e.fake.ChatbotSends()) != 3 {
				t.Errorf("replay: %+v, %d calls", again, len(e.fake.ChatbotSends()))
			}
			var eb errBody
			res = call(t, h, "POST", "/v1/robot/messages", map[string]any{"userids": users, "msg": botText("另一条")}, &eb,
				"Idempotency-Key", "maintenance-2026-03-02")
			if res.StatusCode != http.StatusUnprocessableEntity || eb.Error != notify.CodeIdempotencyKeyReused {
				t.Errorf("the key with another body: %d %+v", res.StatusCode, eb)
			}

			e.fake.MarkChatbotRead(sends[0].ProcessQueryKey, sends[0].UserIDs[0])
			var st notify.RobotMessageStatus
			call(t, h, "GET", "/v1/robot/messages/"+a.ID, nil, &st)
			if st.Progress.Sent != 3 || st.Progress.Checked != 3 || !st.Progress.ResultComplete ||
				!slices.Equal(st.Result.Read, []string{sends[0].UserIDs[0]}) || len(st.Result.Unread) != 44 || !slices.Equal(st.Result.Invalid, []string{"nobody"}) {
				t.Errorf("status %+v", st)
			}
			var stored notify.RobotMessageStatus
			call(t, h, "GET", "/v1/robot/messages/"+a.ID+"?dingtalk=false", nil, &stored)
			if stored.Progress.Checked != 0 || len(stored.Result.Read) != 0 || stored.Parts[0].SendStatus != "" {
				t.Errorf("status from the store alone: %+v", stored)
			}

			cid := e.fake.AddChatGroup("运维群", userIDs(t, e.fake, 3)...)
			var g notify.RobotMessageAnswer
			res = call(t, h, "POST", "/v1/robot/messages", map[string]any{"open_conversation_id": cid,
				"msg": map[string]any{"msgKey": "sampleMarkdown", "msgParam": `{"title":"发布","text":"### v1.4 已上线"}`}}, &g)
			if res.StatusCode != http.StatusAccepted || g.Status != notify.StatusSent || len(g.ProcessQueryKeys) != 1 {
				t.Fatalf("group answer %d %+v", res.StatusCode, g)
			}
			last := e.fake.ChatbotSends()[3]
			if last.ConversationID != cid || last.MsgParam["title"] != "发布" {
				t.Errorf("group call %+v", last)
			}
			// A group's status names who read it (groupMessages/query);
			// DingTalk names no unread members.
			members := userIDs(t, e.fake, 3)
			e.fake.MarkChatbotRead(last.ProcessQueryKey, members[2])
			e.fake.MarkChatbotRead(last.ProcessQueryKey, members[0])
			var gs notify.RobotMessageStatus
			call(t, h, "GET", "/v1/robot/messages/"+g.ID, nil, &gs)
			if gs.OpenConversationID != cid || !gs.Progress.ResultComplete || gs.Progress.Checked != 1 || len(gs.Notes) == 0 ||
				!slices.Equal(gs.Result.Read, []string{members[2], members[0]}) || len(gs.Result.Unread) != 0 ||
				gs.Parts[0].SendStatus != dingtalk.BotSendSuccess {
				t.Errorf("group status %+v", gs)
			}
			// Read data DingTalk has not built yet is a note, not a failure.
			e.fake.InjectFault("v1.0/robot/groupMessages/query", dingtalktest.Fault{Kind: dingtalktest.FaultError, Times: 1,
				Status: http.StatusBadRequest, Code: dingtalk.CodeProcessQueryKeyExpired})
			res = call(t, h, "GET", "/v1/robot/messages/"+g.ID, nil, &gs)
			if res.StatusCode != http.StatusOK || gs.Progress.ResultComplete || gs.Progress.Checked != 0 || len(gs.Result.Read) != 0 ||
				!strings.Contains(strings.Join(gs.Notes, "\n"), "no read data") {
				t.Errorf("group status before DingTalk has read data: %d %+v", res.StatusCode, gs)
			}

			var rr notify.RobotRecallResult
			res = call(t, h, "DELETE", "/v1/robot/messages/"+a.ID, nil, &rr)
			if res.StatusCode != http.StatusOK || len(rr.RecalledKeys) != 3 {
				t.Errorf("recall %d %+v", res.StatusCode, rr)
			}
			var after notify.RobotMessageStatus
			call(t, h, "GET", "/v1/robot/messages/"+a.ID, nil, &after)
			if after.Status != notify.StatusRecalled || after.Parts[0].SendStatus != dingtalk.BotSendRecalled {
				t.Errorf("after recall %+v", after)
			}
			e.clk.Advance(25 * time.Hour)
			res = call(t, h, "DELETE", "/v1/robot/messages/"+g.ID, nil, &eb)
			if res.StatusCode != http.StatusConflict || eb.Error != notify.CodeRecallNotPossible {
				t.Errorf("recall after 25 h: %d %+v", res.StatusCode, eb)
			}
			for _, m := range e.fake.ChatbotSends() {
				if m.ConversationID == cid && m.Recalled {
					t.Error("the group message was recalled after 24 hours")
				}
			}
		})
	}
}

// TestRobotMessageBudget: the robot's messages a minute are counted
// across instances; what does not fit is sent by the sync tick's
// notices step a minute later.
func TestRobotMessageBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, memory)
	opts := []notify.Option{notify.WithRobotCode(e.fake.RobotCode()), notify.WithRobotMessagesPerMinute(40)}
	h := e.handler(e.instance(opts...))
	var a notify.RobotMessageAnswer
	call(t, h, "POST", "/v1/robot/messages", map[string]any{"userids": userIDs(t, e.fake, 45), "msg": botText("x")}, &a)
	if a.Status != notify.StatusScheduled || len(a.ProcessQueryKeys) != 2 || a.Warnings[len(a.Warnings)-1].Code != notify.WarnScheduled {
		t.Fatalf("answer %+v", a)
	}
	tick := e.instance(opts...) // the sync tick's instance
	e.clk.Advance(time.Minute)
	rep, done, err := tick.SendDue(context.Background(), time.Time{})
	if err != nil || !done || rep.PartsSent != 1 {
		t.Fatalf("SendDue = %+v, %v, %v", rep, done, err)
	}
	var st notify.RobotMessageStatus
	call(t, h, "GET", "/v1/robot/messages/"+a.ID+"?dingtalk=false", nil, &st)
	if st.Status != notify.StatusSent || st.Progress.Sent != 3 || len(e.fake.ChatbotSends()) != 3 {
		t.Errorf("after the tick: %+v", st)
	}
	if list, err := tick.RecentNotices(context.Background(), time.Time{}, 10); err != nil || len(list) != 0 {
		t.Errorf("robot messages listed as notices: %+v, %v", list, err)
	}
}

// TestRobotMessageUnknownOutcome: a call that may have reached DingTalk
// without an answer is unknown, reported with what to do, and never sent
// again; a refused one is failed with DingTalk's dotted code.
func TestRobotMessageUnknownOutcome(t *testing.T) {
	t.Parallel()
	e, s := botEnv(t, memory)
	h := e.handler(s)
	e.fake.InjectFault("v1.0/robot/oToMessages/batchSend", dingtalktest.Fault{Kind: dingtalktest.FaultDropAfter, Times: 1})
	var a notify.RobotMessageAnswer
	call(t, h, "POST", "/v1/robot/messages", map[string]any{"userids": userIDs(t, e.fake, 2), "msg": botText("x")}, &a)
	if a.Status != notify.StatusUnknown {
		t.Fatalf("answer %+v", a)
	}
	if _, _, err := e.instance(notify.WithRobotCode(e.fake.RobotCode())).SendDue(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.CallCount("v1.0/robot/oToMessages/batchSend"); n != 1 {
		t.Errorf("%d send calls, want the one", n)
	}
	var st notify.RobotMessageStatus
	call(t, h, "GET", "/v1/robot/messages/"+a.ID, nil, &st)
	if st.Parts[0].State != notify.PartUnknown || st.Parts[0].Check == "" {
		t.Errorf("status %+v", st)
	}

	var ga notify.RobotMessageAnswer
	var gs notify.RobotMessageStatus
	call(t, h, "POST", "/v1/robot/messages", map[string]any{"open_conversation_id": "cidnosuchgroup", "msg": botText("x")}, &ga)
	call(t, h, "GET", "/v1/robot/messages/"+ga.ID, nil, &gs)
	if ga.Status != notify.StatusFailed || gs.Parts[0].DingTalkCode != "invalid.openConversationId" {
		t.Errorf("unknown group: %+v, %+v", ga, gs.Parts)
	}
}

// TestRobotMessageRefusals: what DingTalk's rules or notify's refuse
// never reaches DingTalk.
func TestRobotMessageRefusals(t *testing.T) {
	t.Parallel()
	e, s := botEnv(t, memory)
	h := e.handler(s)
	many := make([]string, notify.MaxRobotMessageUserIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	tests := []struct {
		name        string
		body        map[string]any
		code, field string
	}{
		{"no msg", map[string]any{"userids": []string{"lisi"}}, notify.CodeInvalidMessage, "msg"},
		{"unknown template", map[string]any{"userids": []string{"lisi"}, "msg": map[string]any{"msgKey": "sampleNope", "msgParam": map[string]string{}}}, notify.CodeInvalidMessage, "msg.msgKey"},
		{"missing field", map[string]any{"userids": []string{"lisi"}, "msg": map[string]any{"msgKey": "sampleMarkdown", "msgParam": map[string]string{"title": "t"}}}, notify.CodeInvalidMessage, "msg.msgParam.text"},
		{"msgParam over 15000 bytes", map[string]any{"userids": []string{"lisi"}, "msg": botText(strings.Repeat("字", 5001))}, notify.CodeInvalidMessage, "msg.msgParam"},
		{"no recipients", map[string]any{"msg": botText("x")}, notify.CodeInvalidRequest, "userids"},
		{"both", map[string]any{"userids": []string{"lisi"}, "open_conversation_id": "cid1", "msg": botText("x")}, notify.CodeInvalidRequest, "open_conversation_id"},
		{"cool app without a group", map[string]any{"userids": []string{"lisi"}, "cool_app_code": "COOLAPP-1", "msg": botText("x")}, notify.CodeInvalidRequest, "cool_app_code"},
		{"too many", map[string]any{"userids": many, "msg": botText("x")}, notify.CodeInvalidRequest, "userids"},
		{"a bad userid", map[string]any{"userids": []string{"lisi", "a,b"}, "msg": botText("x")}, notify.CodeInvalidRequest, "userids[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eb errBody
			res := call(t, h, "POST", "/v1/robot/messages", tt.body, &eb, "X-Test-Invalid-Request", "true")
			if res.StatusCode != http.StatusBadRequest || eb.Error != tt.code || eb.Field != tt.field {
				t.Errorf("%d %+v, want 400 %s at %s", res.StatusCode, eb, tt.code, tt.field)
			}
		})
	}
	var eb errBody
	if res := call(t, h, "GET", "/v1/robot/messages/nabcdefghijklmnopqrstuvwx", nil, &eb); res.StatusCode != http.StatusNotFound {
		t.Errorf("a notice id as a robot message: %d", res.StatusCode)
	}
	if n := len(e.fake.Calls()); n != 0 {
		t.Errorf("%d calls reached DingTalk", n)
	}
	unconfigured := e.handler(e.instance())
	res := call(t, unconfigured, "POST", "/v1/robot/messages", map[string]any{"userids": []string{"lisi"}, "msg": botText("x")}, &eb)
	if res.StatusCode != http.StatusNotImplemented || eb.Error != notify.CodeNotConfigured {
		t.Errorf("without a robot code: %d %+v", res.StatusCode, eb)
	}
}
