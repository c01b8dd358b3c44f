package notify_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/token"
)

// TestNoticeStatus: progress and the result by person, aggregated over
// the notice's tasks, with DingTalk's drops explained.
func TestNoticeStatus(t *testing.T) {
	e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 200})))
	h := e.handler(e.instance())
	ids := userIDs(t, e.fake, 150)
	// Someone already got this content today: DingTalk will drop it.
	var early notify.NoticeAnswer
	call(t, h, "POST", "/v1/notices", textNotice("status report", ids[0]), &early)
	var a notify.NoticeAnswer
	call(t, h, "POST", "/v1/notices", textNotice("status report", ids...), &a)
	if !hasWarning(a, notify.WarnDuplicateContent) {
		t.Errorf("warnings %+v, want %s for %s", a.Warnings, notify.WarnDuplicateContent, ids[0])
	}
	for _, w := range a.Warnings {
		if w.Code == notify.WarnDuplicateContent && (w.Count != 1 || w.UserIDs[0] != ids[0]) {
			t.Errorf("duplicate warning %+v, want %s only", w, ids[0])
		}
	}
	if err := e.fake.MarkNoticeRead(a.TaskIDs[0], ids[5]); err != nil {
		t.Fatal(err)
	}
	var st notify.NoticeStatus
	if res := call(t, h, "GET", "/v1/notices/"+a.ID, nil, &st); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if st.Status != notify.StatusSent || st.Progress.Sent != 2 || !st.Progress.Done || !st.Progress.ResultComplete || st.Progress.Percent != 100 {
		t.Errorf("progress %+v, status %s", st.Progress, st.Status)
	}
	if !slices.Equal(st.Result.Read, []string{ids[5]}) || len(st.Result.Unread) != 148 {
		t.Errorf("read %v, %d unread", st.Result.Read, len(st.Result.Unread))
	}
	if len(st.Result.Forbidden) != 1 || st.Result.Forbidden[0].UserID != ids[0] || st.Result.Forbidden[0].Code != dingtalktest.ForbiddenSameContent || st.Result.Forbidden[0].Reason == "" {
		t.Errorf("forbidden %+v, want %s for identical content", st.Result.Forbidden, ids[0])
	}
	var eb errBody
	if res := call(t, h, "GET", "/v1/notices/nzzzzzzzzzzzzzzzzzzzzzzzz", nil, &eb); res.StatusCode != 404 || eb.Error != notify.CodeNotFound {
		t.Errorf("unknown notice: %d %+v", res.StatusCode, eb)
	}
	if res := call(t, h, "GET", "/v1/notices/"+a.ID+"?from_part=0", nil, &eb, invalidRequestHeader, "1"); res.StatusCode != 400 || eb.Field != "from_part" {
		t.Errorf("from_part=0: %d %+v", res.StatusCode, eb)
	}
}

// TestDepartmentResultTimesOut: DingTalk's getsendresult fails for a task
// of more than 100 people; the answer says so instead of failing.
func TestDepartmentResultTimesOut(t *testing.T) {
	e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 150})))
	h := e.handler(e.instance())
	var a notify.NoticeAnswer
	call(t, h, "POST", "/v1/notices", notify.NoticeRequest{DeptIDs: []int64{1}, Msg: dingtalk.TextMessage("everyone in 1")}, &a)
	var st notify.NoticeStatus
	if res := call(t, h, "GET", "/v1/notices/"+a.ID, nil, &st); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if st.Progress.ResultComplete || len(st.Notes) == 0 || !strings.Contains(strings.Join(st.Notes, " "), "100") {
		t.Errorf("progress %+v notes %v; want an incomplete result, explained", st.Progress, st.Notes)
	}
	if n := e.fake.CallCount("topapi/message/corpconversation/getsendresult"); n != 0 {
		t.Errorf("%d getsendresult calls for a task DingTalk cannot answer for", n)
	}
}

func TestRecall(t *testing.T) {
	e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 6000})))
	s := e.instance()
	h := e.handler(s)
	ids := userIDs(t, e.fake, 6000)
	var a notify.NoticeAnswer
	call(t, h, "POST", "/v1/notices", textNotice("oops", ids...), &a)
	if a.Status != notify.StatusScheduled || len(a.TaskIDs) != 50 {
		t.Fatalf("answer %s with %d tasks", a.Status, len(a.TaskIDs))
	}
	var r notify.RecallResult
	if res := call(t, h, "DELETE", "/v1/notices/"+a.ID, nil, &r); res.StatusCode != 200 {
		t.Fatalf("recall: %d", res.StatusCode)
	}
	if len(r.RecalledTaskIDs) != 50 || r.CancelledParts != 10 {
		t.Errorf("recalled %d tasks, cancelled %d parts; want 50 and 10", len(r.RecalledTaskIDs), r.CancelledParts)
	}
	for _, w := range e.fake.WorkNotices() {
		if !w.Recalled {
			t.Errorf("task %d not recalled at DingTalk", w.TaskID)
		}
	}
	e.clk.Advance(time.Minute)
	if rep, done, err := s.SendDue(t.Context(), time.Time{}); err != nil || !done || rep.PartsSent != 0 {
		t.Errorf("tick after recall: %+v %v %v; want nothing sent", rep, done, err)
	}
	var again notify.RecallResult
	if res := call(t, h, "DELETE", "/v1/notices/"+a.ID, nil, &again); res.StatusCode != 200 || len(again.RecalledTaskIDs) != 50 {
		t.Errorf("second recall: %d %+v", res.StatusCode, again)
	}
	var st notify.NoticeStatus
	call(t, h, "GET", "/v1/notices/"+a.ID+"?dingtalk=false", nil, &st)
	if st.Status != notify.StatusRecalled {
		t.Errorf("status %s", st.Status)
	}
	// A day later DingTalk can no longer recall.
	var b notify.NoticeAnswer
	call(t, h, "POST", "/v1/notices", textNotice("old news", ids[0]), &b)
	e.clk.Advance(25 * time.Hour)
	var eb errBody
	if res := call(t, h, "DELETE", "/v1/notices/"+b.ID, nil, &eb); res.StatusCode != http.StatusConflict || eb.Error != notify.CodeRecallNotPossible {
		t.Errorf("recall after 25 h: %d %+v", res.StatusCode, eb)
	}
}

func TestDirectoryReads(t *testing.T) {
	for _, withMirror := range []bool{true, false} {
		name := "dingtalk"
		if withMirror {
			name = "mirror"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 120, DeptSize: 10})))
			var opts []notify.Option
			if withMirror {
				opts = append(opts, notify.WithDirectory(orgDirectory(e.fake)))
			}
			h := e.handler(e.instance(opts...))
			org := e.fake.Org()
			u0 := org.Users[0]
			var u notify.UserAnswer
			res := call(t, h, "GET", "/v1/users/"+u0.UserID, nil, &u)
			if res.StatusCode != 200 || u.UserID != u0.UserID || u.Name != u0.Name || u.Source != name {
				t.Fatalf("user: %d %+v", res.StatusCode, u)
			}
			wantSynced := "never"
			if withMirror {
				wantSynced = start.Add(-5 * time.Minute).Format(time.RFC3339)
			}
			if got := res.Header.Get(notify.MirrorSyncedAtHeader); got != wantSynced {
				t.Errorf("%s = %q, want %q", notify.MirrorSyncedAtHeader, got, wantSynced)
			}
			var byUnion notify.UserAnswer
			if res := call(t, h, "GET", "/v1/users?unionid="+u0.UnionID, nil, &byUnion); res.StatusCode != 200 || byUnion.UserID != u0.UserID {
				t.Errorf("by unionid: %d %+v", res.StatusCode, byUnion)
			}
			var d notify.DepartmentAnswer
			if res := call(t, h, "GET", "/v1/departments/1", nil, &d); res.StatusCode != 200 || d.DeptID != 1 {
				t.Errorf("department: %d %+v", res.StatusCode, d)
			}
			var direct notify.MembersPage
			call(t, h, "GET", "/v1/departments/1/users?limit=3", nil, &direct)
			if direct.Recursive || len(direct.Users) > 3 {
				t.Errorf("direct members page: %+v", direct)
			}
			var eb errBody
			if res := call(t, h, "GET", "/v1/users/nobody-here", nil, &eb); res.StatusCode != 404 {
				t.Errorf("unknown user: %d %+v", res.StatusCode, eb)
			}
			if res := call(t, h, "GET", "/v1/departments/abc", nil, &eb, invalidRequestHeader, "1"); res.StatusCode != 400 || eb.Field != "id" {
				t.Errorf("bad department id: %d %+v", res.StatusCode, eb)
			}
			if !withMirror {
				return
			}
			// Recursive members of the organisation, paged to the end.
			seen := map[string]bool{}
			cursor := ""
			for pages := 0; ; pages++ {
				var p notify.MembersPage
				path := "/v1/departments/1/users?recursive=true&limit=50"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				if res := call(t, h, "GET", path, nil, &p); res.StatusCode != 200 || p.Total != 120 {
					t.Fatalf("page %d: %d %+v", pages, res.StatusCode, p.Total)
				}
				for _, u := range p.Users {
					seen[u.UserID] = true
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if len(seen) != 120 {
				t.Errorf("paged through %d users, want 120", len(seen))
			}
		})
	}
}

func TestLoginAndJSAPI(t *testing.T) {
	e := newEnv(t, memory)
	upstream := e.client()
	tokens, err := token.New(e.fake.AppKey(), e.st, token.FromClient(upstream), token.WithClock(e.clk.Now), token.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewJSAPISigner(tokens, e.fake.CorpID(), strconv.FormatInt(e.fake.AgentID(), 10))
	if err != nil {
		t.Fatal(err)
	}
	h := e.handler(e.instance(notify.WithJSAPISigner(signer), notify.WithDirectory(orgDirectory(e.fake))))
	u0 := e.fake.Org().Users[0]
	for _, kind := range []string{"scan", "in_app"} {
		code := e.fake.NewLoginCode(u0.UserID)
		if kind == "in_app" {
			code = e.fake.NewAuthCode(u0.UserID)
		}
		var a notify.LoginAnswer
		res := call(t, h, "POST", "/v1/login", notify.LoginRequest{Code: code, Kind: kind}, &a)
		if res.StatusCode != 200 || a.UserID != u0.UserID || a.User.Name != u0.Name || a.Source != "mirror" {
			t.Errorf("%s login: %d %+v", kind, res.StatusCode, a)
		}
		var eb errBody
		if res := call(t, h, "POST", "/v1/login", notify.LoginRequest{Code: code, Kind: kind}, &eb); res.StatusCode != 400 || eb.Error != notify.CodeDingTalkRejected {
			t.Errorf("%s code used twice: %d %+v", kind, res.StatusCode, eb)
		}
	}
	var eb errBody
	if res := call(t, h, "POST", "/v1/login", `{"code":"x","kind":"password"}`, &eb, invalidRequestHeader, "1"); res.StatusCode != 400 || eb.Field != "kind" {
		t.Errorf("bad kind: %d %+v", res.StatusCode, eb)
	}
	page := "https://app.example.com/page?x=1"
	var cfg token.JSAPIConfig
	if res := call(t, h, "POST", "/v1/jsapi/config", notify.JSAPIConfigRequest{URL: page}, &cfg); res.StatusCode != 200 {
		t.Fatalf("jsapi: %d", res.StatusCode)
	}
	if want := dingcrypto.JSAPISignature(e.fake.JSAPITicket(), cfg.NonceStr, cfg.TimeStamp, page); cfg.Signature != want || cfg.CorpID != e.fake.CorpID() {
		t.Errorf("jsapi config %+v, want signature %s", cfg, want)
	}
	if res := call(t, h, "POST", "/v1/jsapi/config", notify.JSAPIConfigRequest{URL: "not a url"}, &eb); res.StatusCode != 400 || eb.Field != "url" {
		t.Errorf("bad url: %d %+v", res.StatusCode, eb)
	}
	plain := e.handler(e.instance())
	if res := call(t, plain, "POST", "/v1/jsapi/config", notify.JSAPIConfigRequest{URL: page}, &eb); res.StatusCode != 501 || eb.Error != notify.CodeNotConfigured {
		t.Errorf("without a signer: %d %+v", res.StatusCode, eb)
	}
}

func TestRoutingAndAuth(t *testing.T) {
	e := newEnv(t, memory)
	h := e.handler(e.instance())
	var eb errBody
	if res := call(t, h, "GET", "/v1/notices/x", nil, &eb, "Authorization", "", invalidRequestHeader, "1"); res.StatusCode != 401 || eb.Error != "unauthorized" {
		t.Errorf("no key: %d %+v", res.StatusCode, eb)
	}
	if res := call(t, h, "POST", "/v1/notices", `{}`, &eb, "Authorization", "Bearer wrong-key-0000000000", invalidRequestHeader, "1"); res.StatusCode != 401 {
		t.Errorf("wrong key: %d", res.StatusCode)
	}
	if res := call(t, h, "PUT", "/v1/notices", `{}`, &eb, invalidRequestHeader, "route"); res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
		t.Errorf("PUT: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	if res := call(t, h, "GET", "/v2/anything", nil, &eb, invalidRequestHeader, "route"); res.StatusCode != 404 || eb.Error != "not_found" {
		t.Errorf("unknown path: %d %+v", res.StatusCode, eb)
	}
	var doc map[string]any
	if res := call(t, h, "GET", "/v1/openapi.json", nil, &doc, "Authorization", ""); res.StatusCode != 200 || doc["openapi"] != "3.1.0" {
		t.Errorf("openapi.json: %d %v", res.StatusCode, doc["openapi"])
	}
}

// TestWarnings: what DingTalk would do silently is said in the answer.
func TestWarnings(t *testing.T) {
	e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 6000, DeptSize: 6000, Fanout: 1})))
	s := e.instance(notify.WithDirectory(orgDirectory(e.fake)))
	ctx := t.Context()
	ids := userIDs(t, e.fake, 6)
	oa := &dingtalk.Message{MsgType: dingtalk.MsgTypeOA, OA: &dingtalk.OAContent{MessageURL: "https://example.com/o",
		Head: dingtalk.OAHead{BgColor: "FFBBBBBB", Text: "h"}, StatusBar: &dingtalk.OAStatusBar{StatusValue: "待审批"}, Body: dingtalk.OABody{Title: "t"}}}
	a, err := s.SendNotice(ctx, "svc", notify.NoticeRequest{UserIDs: ids, Msg: oa})
	if err != nil || !hasWarning(a, notify.WarnStatusBarIgnored) {
		t.Errorf("oa status bar to 6 people: %+v %v", a.Warnings, err)
	}
	a, err = s.SendNotice(ctx, "svc", notify.NoticeRequest{UserIDs: append(ids[:2:2], ids[0]), Msg: dingtalk.TextMessage("dups")})
	if err != nil || !hasWarning(a, notify.WarnDuplicateUserIDs) {
		t.Errorf("a userid twice: %+v %v", a.Warnings, err)
	}
	a, err = s.SendNotice(ctx, "svc", notify.NoticeRequest{ToAll: true, Msg: dingtalk.TextMessage("everyone")})
	if err != nil || !hasWarning(a, notify.WarnOverCallRecipients) || !hasWarning(a, notify.WarnDepartmentsUnchecked) {
		t.Errorf("to_all in an organisation of 6 000: %+v %v", a.Warnings, err)
	}
	// DingTalk's 500 notices a person a day.
	for i := range dingtalk.MaxNoticesPerUserPerDay - 1 { // and the oa notice: 500
		if i%100 == 0 {
			e.clk.Advance(time.Minute)
		}
		if _, err := s.SendNotice(ctx, "svc", textNotice(fmt.Sprintf("note %d", i), ids[5])); err != nil {
			t.Fatal(err)
		}
	}
	a, err = s.SendNotice(ctx, "svc", textNotice("one too many", ids[5]))
	if err != nil || !hasWarning(a, notify.WarnDailyLimit) {
		t.Fatalf("501st notice of the day: %+v %v", a.Warnings, err)
	}
	var st notify.NoticeStatus
	if st, err = s.Notice(ctx, a.ID, notify.StatusOptions{}); err != nil || len(st.Result.Forbidden) != 1 || st.Result.Forbidden[0].Code != dingtalktest.ForbiddenUserDaily {
		t.Errorf("DingTalk's result: %+v %v", st.Result, err)
	}
	e.clk.Advance(24 * time.Hour)
	if a, err = s.SendNotice(ctx, "svc", textNotice("a new day", ids[5])); err != nil || len(a.Warnings) != 0 {
		t.Errorf("the next day: %+v %v", a.Warnings, err)
	}
}
