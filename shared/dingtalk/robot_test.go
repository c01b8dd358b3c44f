package dingtalk

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRobotSendSigned(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.client.now = func() time.Time { return time.UnixMilli(1700000000000) }
	e.handle(t, http.MethodPost, "/robot/send", func(r *http.Request) {
		q := r.URL.Query()
		if q.Get("access_token") != "robot-tok" || q.Get("timestamp") != "1700000000000" ||
			q.Get("sign") != "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0=" {
			t.Errorf("query = %v", q)
		}
		if strings.Contains(r.URL.RawQuery, "+") || strings.Contains(r.URL.RawQuery, "/") {
			t.Errorf("sign is not URL-encoded: %s", r.URL.RawQuery)
		}
		testJSONBody(t, r, `{"msgtype":"text","text":{"content":"部署完成 @u1"},"at":{"atUserIds":["u1"]}}`)
	}, `{"errcode":0,"errmsg":"ok"}`)
	err := e.client.Robot.Send(context.Background(), Webhook{AccessToken: "robot-tok", Secret: "this is secret"}, RobotText("部署完成", "u1"))
	if err != nil {
		t.Fatal(err)
	}
	if e.tokens.fetches != 0 {
		t.Error("robot send used the app token")
	}
	logs := e.logs.String()
	if strings.Contains(logs, "robot-tok") || strings.Contains(logs, "sSFWEL") {
		t.Errorf("logs leak the robot token or sign:\n%s", logs)
	}
}

func TestRobotSendUnsigned(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/robot/send", func(r *http.Request) {
		q := r.URL.Query()
		if q.Has("sign") || q.Has("timestamp") || q.Get("access_token") != "robot-tok" {
			t.Errorf("query = %v", q)
		}
	}, `{"errcode":0}`)
	hook, err := WebhookFromURL("https://oapi.dingtalk.com/robot/send?access_token=robot-tok", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.Robot.Send(context.Background(), hook, RobotMarkdown("t", "**x**")); err != nil {
		t.Fatal(err)
	}
	if _, err := WebhookFromURL("https://oapi.dingtalk.com/robot/send", ""); err == nil {
		t.Error("webhook URL without token accepted")
	}
}

func TestRobotMessageTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  *RobotMessage
		want string
	}{
		{"text at mobiles and all", &RobotMessage{MsgType: "text", Text: &TextContent{"hi @150"}, At: &At{AtMobiles: []string{"150"}, IsAtAll: true}},
			`{"msgtype":"text","text":{"content":"hi @150"},"at":{"atMobiles":["150"],"isAtAll":true}}`},
		{"markdown at user", RobotMarkdown("t", "**x**", "u1"), `{"msgtype":"markdown","markdown":{"title":"t","text":"**x** @u1"},"at":{"atUserIds":["u1"]}}`},
		{"link", &RobotMessage{MsgType: "link", Link: &RobotLink{Title: "t", Text: "x", MessageURL: "https://m", PicURL: "https://p"}},
			`{"msgtype":"link","link":{"title":"t","text":"x","messageUrl":"https://m","picUrl":"https://p"}}`},
		{"action card single", &RobotMessage{MsgType: "actionCard", ActionCard: &RobotActionCard{Title: "t", Text: "x", SingleTitle: "看", SingleURL: "https://s"}},
			`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","singleTitle":"看","singleURL":"https://s"}}`},
		{"action card btns", &RobotMessage{MsgType: "actionCard", ActionCard: &RobotActionCard{Title: "t", Text: "x", BtnOrientation: "0", Btns: []RobotCardBtn{{"a", "https://a"}}}},
			`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x","btnOrientation":"0","btns":[{"title":"a","actionURL":"https://a"}]}}`},
		{"feed card", &RobotMessage{MsgType: "feedCard", FeedCard: &RobotFeedCard{Links: []RobotFeedLink{{"t", "https://m", "https://p"}}}},
			`{"msgtype":"feedCard","feedCard":{"links":[{"title":"t","messageURL":"https://m","picURL":"https://p"}]}}`},
		{"msgUuid", &RobotMessage{MsgType: "text", Text: &TextContent{"x"}, MsgUUID: "idem-1"}, `{"msgtype":"text","text":{"content":"x"},"msgUuid":"idem-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.handle(t, http.MethodPost, "/robot/send", func(r *http.Request) { testJSONBody(t, r, tt.want) }, `{"errcode":0}`)
			if err := e.client.Robot.Send(context.Background(), Webhook{AccessToken: "r"}, tt.msg); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRobotValidate(t *testing.T) {
	t.Parallel()
	many := make([]string, 51)
	for i := range many {
		many[i] = "u"
	}
	tests := []struct {
		name string
		msg  *RobotMessage
		want string
	}{
		{"unknown", &RobotMessage{MsgType: "oa"}, "unknown"},
		{"no object", &RobotMessage{MsgType: "text"}, "without"},
		{"mention missing from text", &RobotMessage{MsgType: "text", Text: &TextContent{"hi"}, At: &At{AtMobiles: []string{"150"}}}, `"@150"`},
		{"link cannot mention", &RobotMessage{MsgType: "link", Link: &RobotLink{Title: "t", Text: "x @u", MessageURL: "m"}, At: &At{AtUserIDs: []string{"u"}}}, "cannot @-mention"},
		{"too many mentions", RobotText("x", many...), "more than 50"},
		{"card without buttons", &RobotMessage{MsgType: "actionCard", ActionCard: &RobotActionCard{Title: "t", Text: "x"}}, "either"},
		{"empty feed", &RobotMessage{MsgType: "feedCard", FeedCard: &RobotFeedCard{}}, "no links"},
	}
	e := setup(t)
	hits := e.handle(t, http.MethodPost, "/robot/send", nil, `{"errcode":0}`)
	for _, tt := range tests {
		err := e.client.Robot.Send(context.Background(), Webhook{AccessToken: "r"}, tt.msg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
	if err := e.client.Robot.Send(context.Background(), Webhook{}, RobotText("x")); err == nil {
		t.Error("webhook without token accepted")
	}
	if hits.Load() != 0 {
		t.Error("invalid robot message reached DingTalk")
	}
}

func TestRobotRateLimitedPerRobot(t *testing.T) {
	t.Parallel()
	e := setup(t, WithRobotRateLimit(1e-6, 1))
	hits := e.handle(t, http.MethodPost, "/robot/send", nil, `{"errcode":0}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := Webhook{AccessToken: "robot-a"}, Webhook{AccessToken: "robot-b"}
	if err := e.client.Robot.Send(ctx, a, RobotText("1")); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Robot.Send(ctx, a, RobotText("2")); !errors.Is(err, ErrClientRateLimit) {
		t.Error("second message to the same robot was not held back")
	}
	if err := e.client.Robot.Send(ctx, b, RobotText("1")); err != nil {
		t.Errorf("another robot was held back: %v", err)
	}
	if hits.Load() != 2 {
		t.Errorf("hits = %d, want 2", hits.Load())
	}
}

func TestDefaultRobotRateStaysUnderTwentyAMinute(t *testing.T) {
	t.Parallel()
	r := defaultRobotRateLimit
	if worst := float64(r.Burst) + float64(r.Limit)*60; worst > 20 {
		t.Errorf("default robot limit allows %v messages a minute, want ≤ 20", worst)
	}
}
