package dingtalktest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

func sendNotice(t *testing.T, s *Server, body map[string]any) result {
	t.Helper()
	if _, ok := body["agent_id"]; !ok {
		body["agent_id"] = s.AgentID()
	}
	return oapiJSON(t, s, "topapi/message/corpconversation/asyncsend_v2", s.AccessToken(), body)
}

func textMsg(content string) map[string]any {
	return map[string]any{"msgtype": "text", "text": map[string]any{"content": content}}
}

func sendResult(t *testing.T, s *Server, task any) result {
	t.Helper()
	r := oapiJSON(t, s, "topapi/message/corpconversation/getsendresult", s.AccessToken(), map[string]any{"agent_id": s.AgentID(), "task_id": task})
	wantErrcode(t, r, 0)
	return r
}

func TestWorkNoticeDeliveryAndResult(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	r := sendNotice(t, s, map[string]any{"userid_list": "alice,ghost", "dept_id_list": "11,999", "msg": textMsg("你好")})
	wantErrcode(t, r, 0)
	task := r.get("task_id")
	res := sendResult(t, s, task)
	sr := res.get("send_result").(map[string]any)
	if fmt.Sprint(sr["unread_user_id_list"]) != "[alice bob carol]" || fmt.Sprint(sr["invalid_user_id_list"]) != "[ghost]" ||
		fmt.Sprint(sr["invalid_dept_id_list"]) != "[999]" {
		t.Fatalf("send_result %s", res.raw)
	}
	if err := s.MarkNoticeRead(int64(task.(float64)), "bob"); err != nil {
		t.Fatal(err)
	}
	sr = sendResult(t, s, task).get("send_result").(map[string]any)
	if fmt.Sprint(sr["read_user_id_list"]) != "[bob]" {
		t.Fatalf("read list %v", sr["read_user_id_list"])
	}
	p := oapiJSON(t, s, "topapi/message/corpconversation/getsendprogress", s.AccessToken(), map[string]any{"agent_id": s.AgentID(), "task_id": task})
	wantErrcode(t, p, 0)
	if p.get("progress", "status").(float64) != 2 {
		t.Fatalf("progress %s", p.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/message/corpconversation/recall", s.AccessToken(), map[string]any{"agent_id": s.AgentID(), "msg_task_id": task}), 0)
	if !s.WorkNotices()[0].Recalled {
		t.Fatal("recall not recorded")
	}
	if got := len(s.NoticesDeliveredTo("carol")); got != 1 {
		t.Fatalf("carol received %d notices, want 1", got)
	}
}

func TestWorkNoticeSilentDrops(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithOrg(loadTestOrg(t)))
	// Same content to the same user twice a day: the second is dropped, yet
	// the API succeeds.
	first := sendNotice(t, s, map[string]any{"userid_list": "alice", "msg": textMsg("日报")})
	second := sendNotice(t, s, map[string]any{"userid_list": "alice,bob", "msg": textMsg("日报")})
	wantErrcode(t, second, 0)
	sr := sendResult(t, s, second.get("task_id")).get("send_result").(map[string]any)
	fl := sr["forbidden_list"].([]any)
	if len(fl) != 1 || fl[0].(map[string]any)["userid"] != "alice" || fl[0].(map[string]any)["code"] != ForbiddenSameContent {
		t.Fatalf("forbidden_list %v, want alice 143106", fl)
	}
	if fmt.Sprint(sr["unread_user_id_list"]) != "[bob]" {
		t.Fatalf("delivered %v, want [bob]", sr["unread_user_id_list"])
	}
	_ = first
	// The next day (China time) the same content goes through again.
	clk.Advance(24 * time.Hour)
	third := sendNotice(t, s, map[string]any{"userid_list": "alice", "msg": textMsg("日报")})
	if got := s.WorkNotices()[2].Delivered; fmt.Sprint(got) != "[alice]" || third.errcode() != 0 {
		t.Fatalf("next-day delivery %v", got)
	}
	// 500 per user per day.
	for i := range NoticeMaxPerUserPerDay - 1 {
		sendNotice(t, s, map[string]any{"userid_list": "carol", "msg": textMsg(fmt.Sprint("n", i))})
	}
	over := sendNotice(t, s, map[string]any{"userid_list": "carol,bob", "msg": textMsg("one too many")})
	over2 := sendNotice(t, s, map[string]any{"userid_list": "carol", "msg": textMsg("two too many")})
	ws := s.WorkNotices()
	last, prev := ws[len(ws)-1], ws[len(ws)-2]
	if fmt.Sprint(prev.Delivered) != "[carol bob]" || len(last.Forbidden) != 1 || last.Forbidden[0].Code != ForbiddenUserDaily {
		t.Fatalf("daily cap: prev %v, last %+v", prev.Delivered, last.Forbidden)
	}
	_, _ = over, over2
}

func TestWorkNoticeValidation(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithOrg(loadTestOrg(t)))
	many := strings.Repeat("u,", 101)
	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"wrong agent", map[string]any{"agent_id": 1, "userid_list": "alice", "msg": textMsg("x")}, 40056},
		{"no recipients", map[string]any{"msg": textMsg("x")}, 40035},
		{"no msg", map[string]any{"userid_list": "alice"}, 40035},
		{"unknown msgtype", map[string]any{"userid_list": "alice", "msg": map[string]any{"msgtype": "sms"}}, 400002},
		{"link without picUrl", map[string]any{"userid_list": "alice", "msg": map[string]any{"msgtype": "link", "link": map[string]any{"messageUrl": "u", "title": "t", "text": "x"}}}, 400002},
		{"action_card needs a button form", map[string]any{"userid_list": "alice", "msg": map[string]any{"msgtype": "action_card", "action_card": map[string]any{"title": "t", "markdown": "m"}}}, 400002},
		{"action_card buttons without orientation", map[string]any{"userid_list": "alice", "msg": map[string]any{"msgtype": "action_card", "action_card": map[string]any{
			"markdown": "m", "btn_json_list": []any{map[string]any{"title": "a", "action_url": "u"}}}}}, 400002},
		{"action_card buttons with orientation 2", map[string]any{"userid_list": "alice", "msg": map[string]any{"msgtype": "action_card", "action_card": map[string]any{
			"markdown": "m", "btn_orientation": "2", "btn_json_list": []any{map[string]any{"title": "a", "action_url": "u"}}}}}, 400002},
		{"action_card buttons", map[string]any{"userid_list": "alice", "msg": map[string]any{"msgtype": "action_card", "action_card": map[string]any{
			"markdown": "m", "btn_orientation": "1", "btn_json_list": []any{map[string]any{"title": "a", "action_url": "u"}}}}}, 0},
		{"too many users", map[string]any{"userid_list": many, "msg": textMsg("x")}, 400002},
		{"msg too large", map[string]any{"userid_list": "alice", "msg": textMsg(strings.Repeat("字", 700))}, 400002},
		{"to all", map[string]any{"to_all_user": true, "msg": textMsg("全员")}, 0},
	}
	for _, tt := range tests {
		wantErrcodeNamed(t, tt.name, sendNotice(t, s, tt.body), tt.want)
	}
	// A msg as a JSON string inside a form body.
	r := oapiForm(t, s, "topapi/message/corpconversation/asyncsend_v2", s.AccessToken(), url.Values{
		"agent_id": {fmt.Sprint(s.AgentID())}, "userid_list": {"bob"}, "msg": {`{"msgtype":"markdown","markdown":{"title":"t","text":"**x**"}}`},
	})
	wantErrcode(t, r, 0)
	if ws := s.WorkNotices(); ws[len(ws)-1].MsgType != "markdown" {
		t.Fatalf("form msg type %q", ws[len(ws)-1].MsgType)
	}
	// Results are kept 24 h.
	clk.Advance(24 * time.Hour)
	wantErrcode(t, oapiJSON(t, s, "topapi/message/corpconversation/getsendresult", s.AccessToken(), map[string]any{"agent_id": s.AgentID(), "task_id": r.get("task_id")}), 400002)
}

func TestGetSendResultTimesOutOver100Recipients(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithGeneratedOrg(OrgSpec{Users: 150}))
	r := sendNotice(t, s, map[string]any{"to_all_user": true, "msg": textMsg("全员通知")})
	wantErrcode(t, r, 0)
	res := oapiJSON(t, s, "topapi/message/corpconversation/getsendresult", s.AccessToken(), map[string]any{"agent_id": s.AgentID(), "task_id": r.get("task_id")})
	if res.status != http.StatusGatewayTimeout {
		t.Fatalf("getsendresult of 150 recipients: HTTP %d, want 504", res.status)
	}
	if got := len(s.WorkNotices()[0].Delivered); got != 150 {
		t.Fatalf("delivered %d, want 150", got)
	}
}

func robotPost(t *testing.T, s *Server, token string, q url.Values, body string) result {
	t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("access_token", token)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/robot/send?"+q.Encode(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return do(t, req)
}

func signed(secret string, now time.Time) url.Values {
	ts := now.UnixMilli()
	return url.Values{"timestamp": {fmt.Sprint(ts)}, "sign": {dingcrypto.RobotSign(secret, ts)}}
}

func TestRobotSend(t *testing.T) {
	t.Parallel()
	const secret = "SECfaketestsecret"
	s, clk := newTestServer(t, WithRobot("robot1", RobotConfig{Secret: secret, Keywords: []string{"告警"}}))
	text := `{"msgtype":"text","text":{"content":"告警：磁盘满"}}`
	wantErrcode(t, robotPost(t, s, "robot1", signed(secret, clk.Now()), text), 0)

	tests := []struct {
		name string
		r    func() result
		code int
		msg  string
	}{
		{"unknown token", func() result { return robotPost(t, s, "nope", nil, text) }, 300005, ""},
		{"no signature", func() result { return robotPost(t, s, "robot1", nil, text) }, 310000, ""},
		{"bad signature", func() result {
			return robotPost(t, s, "robot1", url.Values{"timestamp": {fmt.Sprint(clk.Now().UnixMilli())}, "sign": {"AAAA"}}, text)
		}, 310000, "sign not match"},
		{"old timestamp", func() result { return robotPost(t, s, "robot1", signed(secret, clk.Now().Add(-61*time.Minute)), text) }, 310000, "invalid timestamp"},
		{"no keyword", func() result {
			return robotPost(t, s, "robot1", signed(secret, clk.Now()), `{"msgtype":"text","text":{"content":"hello"}}`)
		}, 310000, "keywords not in content"},
		{"bad msgtype", func() result { return robotPost(t, s, "robot1", signed(secret, clk.Now()), `{"msgtype":"video"}`) }, 400105, ""},
		{"not json", func() result { return robotPost(t, s, "robot1", signed(secret, clk.Now()), `nope`) }, 40035, ""},
		{"wrong content type", func() result {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/robot/send?access_token=robot1&"+signed(secret, clk.Now()).Encode(), strings.NewReader(text))
			req.Header.Set("Content-Type", "text/plain")
			return do(t, req)
		}, 43004, ""},
	}
	for _, tt := range tests {
		r := tt.r()
		wantErrcodeNamed(t, tt.name, r, tt.code)
		if tt.msg != "" && r.str("errmsg") != tt.msg {
			t.Errorf("%s: errmsg %q, want %q", tt.name, r.str("errmsg"), tt.msg)
		}
	}
	if got := len(s.RobotMessages("robot1")); got != 1 {
		t.Fatalf("robot accepted %d messages, want 1", got)
	}
}

func TestRobotThrottle(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithRobot("r", RobotConfig{}))
	send := func() result {
		return robotPost(t, s, "r", nil, `{"msgtype":"markdown","markdown":{"title":"t","text":"x"}}`)
	}
	for i := range RobotMaxPerMinute {
		wantErrcodeNamed(t, fmt.Sprint("send ", i), send(), 0)
		clk.Advance(time.Second)
	}
	wantErrcode(t, send(), 410100)
	// Throttled for 10 minutes even though the minute has passed.
	clk.Advance(2 * time.Minute)
	wantErrcode(t, send(), 410100)
	clk.Advance(8 * time.Minute)
	wantErrcode(t, send(), 0)
	// msgUuid makes a repeat a no-op.
	body := `{"msgtype":"text","text":{"content":"x"},"msgUuid":"m-1"}`
	wantErrcode(t, robotPost(t, s, "r", nil, body), 0)
	wantErrcode(t, robotPost(t, s, "r", nil, body), 0)
	if got := len(s.RobotMessages("")); got != RobotMaxPerMinute+2 {
		t.Fatalf("robot messages %d, want %d", got, RobotMaxPerMinute+2)
	}
}

func TestRobotDisabled(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithRobot("off", RobotConfig{Disabled: true}))
	wantErrcode(t, robotPost(t, s, "off", nil, `{"msgtype":"text","text":{"content":"x"}}`), 400102)
	s.AddRobot("off", RobotConfig{})
	wantErrcode(t, robotPost(t, s, "off", nil, `{"msgtype":"text","text":{"content":"x"}}`), 0)
}
