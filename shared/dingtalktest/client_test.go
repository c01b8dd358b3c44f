package dingtalktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
)

// fastRetries keeps the client's retry behaviour but not its real-time
// waits.
var fastRetries = dingtalk.RetryPolicy{
	MaxAttempts: 3, MaxRateLimitRetries: 5,
	QPSDelay: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
}

// setup starts a fake on a manual clock and a client pointed at it.
func setup(t *testing.T, opts []dingtalktest.Option, copts ...dingtalk.Option) (*dingtalktest.Server, *dingtalk.Client, *dingtalktest.ManualClock) {
	t.Helper()
	clk := dingtalktest.NewManualClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	s := dingtalktest.NewServer(append([]dingtalktest.Option{dingtalktest.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(s.Close)
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(),
		append([]dingtalk.Option{dingtalk.WithBaseURLs(s.URL, s.URL), dingtalk.WithRetryPolicy(fastRetries)}, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, clk
}

// echoReceiver is a callback endpoint answering every event with an
// encrypted success.
func echoReceiver(t *testing.T, token, key, owner string) *httptest.Server {
	t.Helper()
	cr, err := dingcrypto.New(token, key, owner)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Encrypt string }
		json.NewDecoder(r.Body).Decode(&body)
		q := r.URL.Query()
		if _, err := cr.Decrypt(q.Get("signature")+q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body.Encrypt); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		env, _ := cr.Encrypt([]byte("success"))
		json.NewEncoder(w).Encode(env)
	}))
	t.Cleanup(hs.Close)
	return hs
}

// TestSeedInterfaceMap exercises every row of the seed interface map (§10
// of the API reference) through the typed client against the fake, in
// order, each row checking the fake's state or the reply.
func TestSeedInterfaceMap(t *testing.T) {
	s, c, clk := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	var (
		deptID int64
		userID string
		taskID int64
		procID string
	)
	const cbToken, cbKey = "seedtoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	cb := echoReceiver(t, cbToken, cbKey, s.CorpID())

	rows := []struct {
		capability string
		run        func(t *testing.T) error
	}{
		{"获取AccessToken", func(t *testing.T) error {
			tok, err := c.Auth.GetAccessToken(ctx)
			if err != nil {
				return err
			}
			if tok.Value != s.AccessToken() || tok.ExpiresIn != 2*time.Hour {
				return fmt.Errorf("token %v, want the fake's current token for 2h", tok)
			}
			return nil
		}},
		{"获取部门列表", func(t *testing.T) error {
			var names []string
			for d, err := range c.Contact.WalkDepartments(ctx, dingtalk.RootDepartmentID, "") {
				if err != nil {
					return err
				}
				names = append(names, d.Name)
			}
			if len(names) != len(s.Org().Departments)-1 || !slices.Contains(names, "后端组") {
				return fmt.Errorf("walked %v", names)
			}
			return nil
		}},
		{"获取部门详情", func(t *testing.T) error {
			d, err := c.Contact.GetDepartment(ctx, 2, "")
			if err != nil {
				return err
			}
			if d.Name != "研发中心" || d.MemberCount != 5 || !slices.Equal(d.DeptManagerUserIDList, []string{"lisi"}) {
				return fmt.Errorf("department %+v", d)
			}
			return nil
		}},
		{"创建部门", func(t *testing.T) error {
			id, err := c.Contact.CreateDepartment(ctx, &dingtalk.CreateDepartmentRequest{Name: "测试组", ParentID: 2})
			if err != nil {
				return err
			}
			deptID = id
			if d, ok := s.Department(id); !ok || d.ParentID != 2 {
				return fmt.Errorf("fake has %+v", d)
			}
			return nil
		}},
		{"更新部门", func(t *testing.T) error {
			if err := c.Contact.UpdateDepartment(ctx, &dingtalk.UpdateDepartmentRequest{DeptID: deptID, Name: "质量组"}); err != nil {
				return err
			}
			if d, _ := s.Department(deptID); d.Name != "质量组" {
				return fmt.Errorf("name %q", d.Name)
			}
			return nil
		}},
		{"删除部门", func(t *testing.T) error {
			if err := c.Contact.DeleteDepartment(ctx, deptID); err != nil {
				return err
			}
			if _, ok := s.Department(deptID); ok {
				return errors.New("still there")
			}
			return nil
		}},
		{"获取成员详情", func(t *testing.T) error {
			u, err := c.Contact.GetUser(ctx, "chenjing", "")
			if err != nil {
				return err
			}
			fu, _ := s.User("chenjing")
			if u.Name != "陈静" || u.UnionID != fu.UnionID || !slices.Equal(u.DeptIDList, []int64{3, 4}) {
				return fmt.Errorf("user %+v", u)
			}
			return nil
		}},
		{"创建成员", func(t *testing.T) error {
			cu, err := c.Contact.CreateUser(ctx, &dingtalk.CreateUserRequest{Name: "新人", Mobile: "13800009999", DeptIDList: dingtalk.CommaInts{3, 5}})
			if err != nil {
				return err
			}
			userID = cu.UserID
			if u, ok := s.User(userID); !ok || u.UnionID != cu.UnionID || len(u.DeptIDs) != 2 {
				return fmt.Errorf("fake has %+v", u)
			}
			return nil
		}},
		{"更新成员", func(t *testing.T) error {
			if err := c.Contact.UpdateUser(ctx, &dingtalk.UpdateUserRequest{UserID: userID, Title: dingtalk.String("实习生"), DeptIDList: dingtalk.CommaInts{4}}); err != nil {
				return err
			}
			if u, _ := s.User(userID); u.Title != "实习生" || !slices.Equal(u.DeptIDs, []int64{4}) {
				return fmt.Errorf("fake has %+v", u)
			}
			return nil
		}},
		{"删除成员", func(t *testing.T) error {
			if err := c.Contact.DeleteUser(ctx, userID); err != nil {
				return err
			}
			if _, ok := s.User(userID); ok {
				return errors.New("still there")
			}
			return nil
		}},
		{"获取部门成员", func(t *testing.T) error {
			simple, err := c.Contact.ListSimpleUsers(ctx, dingtalk.ListUsersRequest{DeptID: 3, Size: 1})
			if err != nil {
				return err
			}
			if !simple.HasMore || simple.NextCursor != 1 || simple.List[0].UserID != "wangwu" {
				return fmt.Errorf("listsimple %+v", simple)
			}
			var all []string
			for u, err := range c.Contact.AllUsers(ctx, dingtalk.ListUsersRequest{DeptID: 3, Size: 2}) {
				if err != nil {
					return err
				}
				all = append(all, u.UserID)
			}
			ids, err := c.Contact.ListUserIDs(ctx, 3)
			if err != nil {
				return err
			}
			if !slices.Equal(all, ids) || len(ids) != 3 {
				return fmt.Errorf("AllUsers %v, ListUserIDs %v", all, ids)
			}
			return nil
		}},
		{"获取角色列表", func(t *testing.T) error {
			var groups []string
			for g, err := range c.Contact.AllRoleGroups(ctx) {
				if err != nil {
					return err
				}
				groups = append(groups, g.Name)
			}
			if len(groups) != 3 {
				return fmt.Errorf("role groups %v", groups)
			}
			return nil
		}},
		{"获取角色组信息", func(t *testing.T) error {
			g, err := c.Contact.GetRoleGroup(ctx, 2)
			if err != nil {
				return err
			}
			if g.GroupName != "职务" || len(g.Roles) != 3 {
				return fmt.Errorf("role group %+v", g)
			}
			return nil
		}},
		{"企业会话消息异步发送", func(t *testing.T) error {
			id, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"wangwu", "nobody"}, Msg: dingtalk.TextMessage("上线通知")})
			if err != nil {
				return err
			}
			taskID = id
			if n := s.NoticesDeliveredTo("wangwu"); len(n) != 1 || n[0].TaskID != id {
				return fmt.Errorf("delivered %+v", n)
			}
			return nil
		}},
		{"获取异步发送企业会话消息的发送进度", func(t *testing.T) error {
			p, err := c.Message.SendProgress(ctx, s.AgentID(), taskID)
			if err != nil {
				return err
			}
			if p.Status != 2 || p.ProgressInPercent != 100 {
				return fmt.Errorf("progress %+v", p)
			}
			return nil
		}},
		{"获取异步向企业会话发送消息的结果", func(t *testing.T) error {
			r, err := c.Message.SendResult(ctx, s.AgentID(), taskID)
			if err != nil {
				return err
			}
			if !slices.Equal(r.UnreadUserIDList, []string{"wangwu"}) || !slices.Equal(r.InvalidUserIDList, []string{"nobody"}) {
				return fmt.Errorf("result %+v", r)
			}
			return nil
		}},
		{"注册事件回调接口", func(t *testing.T) error {
			return c.Callback.Register(ctx, &dingtalk.CallbackConfig{Tags: []string{"user_add_org"}, Token: cbToken, AESKey: cbKey, URL: cb.URL})
		}},
		{"查询事件回调接口", func(t *testing.T) error {
			cfg, err := c.Callback.Get(ctx)
			if err != nil {
				return err
			}
			if cfg.URL != cb.URL || cfg.Token != cbToken || !slices.Equal(cfg.Tags, []string{"user_add_org"}) {
				return fmt.Errorf("config %#v", cfg)
			}
			return nil
		}},
		{"更新事件回调接口", func(t *testing.T) error {
			if err := c.Callback.Update(ctx, &dingtalk.CallbackConfig{Tags: []string{"user_add_org", "user_leave_org"}, Token: cbToken, AESKey: cbKey, URL: cb.URL}); err != nil {
				return err
			}
			if r, _ := s.CallbackRegistration(); len(r.Tags) != 2 {
				return fmt.Errorf("registration %+v", r.Tags)
			}
			return nil
		}},
		{"删除事件回调接口", func(t *testing.T) error {
			if err := c.Callback.Delete(ctx); err != nil {
				return err
			}
			if _, ok := s.CallbackRegistration(); ok {
				return errors.New("still registered")
			}
			return nil
		}},
		{"获取回调失败的结果", func(t *testing.T) error {
			for i := range 205 {
				s.AddFailedEvent("user_leave_org", clk.Now().Add(time.Duration(i)*time.Millisecond), map[string]any{"userid": []string{fmt.Sprint("u", i)}})
			}
			n := 0
			for ev, err := range c.Callback.AllFailedResults(ctx) {
				if err != nil {
					return err
				}
				if ev.Tag != "user_leave_org" || !json.Valid(ev.Data) {
					return fmt.Errorf("event %+v", ev)
				}
				n++
			}
			if n != 205 || s.CallCount("call_back/get_call_back_failed_result") != 2 {
				return fmt.Errorf("got %d events in %d calls", n, s.CallCount("call_back/get_call_back_failed_result"))
			}
			return nil
		}},
		{"获取企业下的自定义空间", func(t *testing.T) error {
			id, err := c.CSpace.GetCustomSpace(ctx, "dingfn", s.AgentID())
			if err != nil {
				return err
			}
			if id == "" {
				return errors.New("empty spaceid")
			}
			return nil
		}},
		{"标签列表", func(t *testing.T) error {
			var n int
			for g, err := range c.ExtContact.AllLabelGroups(ctx) {
				if err != nil {
					return err
				}
				n += len(g.Labels)
			}
			if n != 6 {
				return fmt.Errorf("%d labels", n)
			}
			return nil
		}},
		{"外部联系人列表", func(t *testing.T) error {
			var n int
			for _, err := range c.ExtContact.All(ctx) {
				if err != nil {
					return err
				}
				n++
			}
			if n != 3 {
				return fmt.Errorf("%d contacts", n)
			}
			return nil
		}},
		{"添加企业外部联系人", func(t *testing.T) error {
			id, err := c.ExtContact.Create(ctx, &dingtalk.ExtContactRequest{Name: "客户甲", Mobile: "13600000001", StateCode: "86", FollowerUserID: "sunqi", LabelIDs: []int64{101}})
			if err != nil {
				return err
			}
			userID = id
			return nil
		}},
		{"修改企业外部联系人", func(t *testing.T) error {
			if err := c.ExtContact.Update(ctx, &dingtalk.ExtContactRequest{UserID: userID, Name: "客户乙", FollowerUserID: "sunqi", LabelIDs: []int64{102}}); err != nil {
				return err
			}
			ec := s.ExternalContacts()
			if last := ec[len(ec)-1]; last.Name != "客户乙" || last.Mobile != "13600000001" {
				return fmt.Errorf("contact %+v", last)
			}
			return nil
		}},
		{"删除企业外部联系人", func(t *testing.T) error {
			if err := c.ExtContact.Delete(ctx, userID); err != nil {
				return err
			}
			if len(s.ExternalContacts()) != 3 {
				return errors.New("not deleted")
			}
			return nil
		}},
		{"通过CODE换取用户身份", func(t *testing.T) error {
			info, err := c.Auth.GetUserInfo(ctx, s.NewAuthCode("zhangsan"))
			if err != nil {
				return err
			}
			if info.UserID != "zhangsan" || info.SysLevel != 1 || !info.Sys {
				return fmt.Errorf("info %+v", info)
			}
			return nil
		}},
		{"考勤排班接口", func(t *testing.T) error {
			n := 0
			for sc, err := range c.Attendance.AllSchedules(ctx, time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))) {
				if err != nil {
					return err
				}
				if sc.UserID == "" || sc.PlanCheckTime == "" {
					return fmt.Errorf("schedule %+v", sc)
				}
				n++
			}
			if n == 0 || n%2 != 0 {
				return fmt.Errorf("%d schedules", n)
			}
			return nil
		}},
		{"考勤组详情接口", func(t *testing.T) error {
			var ids []int64
			for g, err := range c.Attendance.AllGroups(ctx) {
				if err != nil {
					return err
				}
				ids = append(ids, g.GroupID)
			}
			if len(ids) != 3 {
				return fmt.Errorf("groups %v", ids)
			}
			g, err := c.Attendance.GetGroup(ctx, "zhangsan", ids[0])
			if err != nil {
				return err
			}
			if g.ID != ids[0] || g.Type != "FIXED" {
				return fmt.Errorf("group %+v", g)
			}
			return nil
		}},
		{"发起审批实例", func(t *testing.T) error {
			id, err := c.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{
				OriginatorUserID: "wangwu", ProcessCode: "PROC-LEAVE", DeptID: 3,
				Approvers:           []dingtalk.ProcessApprover{{ActionType: "NONE", UserIDs: []string{"lisi"}}},
				FormComponentValues: []dingtalk.FormComponentValue{{Name: "请假类型", Value: "年假"}},
			})
			if err != nil {
				return err
			}
			procID = id
			if ps := s.ProcessInstances(); len(ps) != 1 || ps[0].ID != id {
				return fmt.Errorf("fake has %+v", ps)
			}
			return nil
		}},
		{"获取审批实例列表", func(t *testing.T) error {
			var ids []string
			for id, err := range c.Process.AllInstanceIDs(ctx, dingtalk.ListInstanceIDsRequest{ProcessCode: "PROC-LEAVE", StartTime: clk.Now().Add(-time.Hour).UnixMilli()}) {
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			if !slices.Equal(ids, []string{procID}) {
				return fmt.Errorf("ids %v", ids)
			}
			return nil
		}},
		{"获取审批实例详情", func(t *testing.T) error {
			if err := s.FinishProcessInstance(procID, "agree"); err != nil {
				return err
			}
			p, err := c.Process.GetInstance(ctx, procID)
			if err != nil {
				return err
			}
			if p.Status != "COMPLETED" || p.Result != "agree" || p.OriginatorUserID != "wangwu" || p.OriginatorDeptID != "3" {
				return fmt.Errorf("instance %+v", p)
			}
			return nil
		}},
		{"获取jsapi_ticket", func(t *testing.T) error {
			tok, err := c.Auth.GetAccessToken(ctx)
			if err != nil {
				return err
			}
			tk, err := c.Auth.GetJSAPITicket(ctx, tok.Value)
			if err != nil {
				return err
			}
			if tk.Value == "" || tk.Value != s.JSAPITicket() {
				return fmt.Errorf("ticket %v, fake has another", tk)
			}
			return nil
		}},
		{"获取部门id列表", func(t *testing.T) error {
			var ids []int64
			for id, err := range c.Contact.WalkDepartmentIDs(ctx, dingtalk.RootDepartmentID) {
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			if len(ids) != len(s.Org().Departments)-1 {
				return fmt.Errorf("ids %v", ids)
			}
			return nil
		}},
		{"获取子部门ID列表", func(t *testing.T) error {
			ids, err := c.Contact.ListSubDepartmentIDs(ctx, 2)
			if err != nil {
				return err
			}
			if !slices.Equal(ids, []int64{3, 4}) {
				return fmt.Errorf("ids %v", ids)
			}
			return nil
		}},
	}
	for _, row := range rows {
		// Rows share the fake's state, so they run in order.
		t.Run(row.capability, func(t *testing.T) {
			if err := row.run(t); err != nil {
				t.Fatalf("%s: %v", row.capability, err)
			}
		})
	}
	// The token was fetched once for the whole map.
	if n := s.TokenIssues(); n != 1 {
		t.Errorf("token issued %d times, want 1", n)
	}
}

// TestLegacyNamesThroughCall drives the old SDK names of the seed map
// through Client.Call.
func TestLegacyNamesThroughCall(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	var labels struct {
		Results []dingtalk.LabelGroup `json:"results"`
	}
	if err := c.Call(ctx, "dingtalk.corp.ext.listlabelgroups", map[string]any{"offset": 0, "size": 20}, &labels); err != nil {
		t.Fatal(err)
	}
	if len(labels.Results) != 2 {
		t.Fatalf("label groups %+v", labels)
	}
	var roles struct {
		Result dingtalk.RolePage `json:"result"`
	}
	if err := c.Call(ctx, "corp.role.list", map[string]any{"offset": 0, "size": 10}, &roles); err != nil {
		t.Fatal(err)
	}
	if len(roles.Result.List) != 3 {
		t.Fatalf("roles %+v", roles)
	}
	var created struct {
		ProcessInstanceID string `json:"process_instance_id"`
	}
	err := c.Call(ctx, "smartwork.bpms.processinstance.create", map[string]any{
		"process_code": "PROC-LEAVE", "originator_user_id": "wangwu", "dept_id": 3,
		"form_component_values": []map[string]string{{"name": "类型", "value": "事假"}},
	}, &created)
	if err != nil || created.ProcessInstanceID == "" {
		t.Fatalf("TOP process create: %v %+v", err, created)
	}
	if s.CallCount("topapi/processinstance/create") != 1 {
		t.Fatal("TOP name did not reach topapi/processinstance/create")
	}
	var sent struct {
		TaskID int64 `json:"task_id"`
	}
	if err := c.Call(ctx, "corp.message.corpconversation.asyncsend", map[string]any{
		"agent_id": s.AgentID(), "userid_list": "lisi", "msg": map[string]any{"msgtype": "text", "text": map[string]string{"content": "hi"}},
	}, &sent); err != nil || sent.TaskID == 0 {
		t.Fatalf("TOP asyncsend: %v %+v", err, sent)
	}
	if err := c.Call(ctx, "no.such.method", nil, nil); !errors.Is(err, dingtalk.ErrUnknownMethod) {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestLoginFlowAndUnionID(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	id, err := c.Auth.LoginUser(ctx, s.NewLoginCode("liuyang"))
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "liuyang" || id.Nick != "刘洋" || id.CorpID != s.CorpID() {
		t.Fatalf("identity %+v", id)
	}
	u, err := c.Auth.UserIDByUnionID(ctx, id.UnionID)
	if err != nil || u.UserID != "liuyang" {
		t.Fatalf("by unionid: %v %+v", err, u)
	}
	ut, err := c.Auth.UserAccessToken(ctx, s.NewLoginCode("huangli"))
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.Auth.GetMe(ctx, ut.AccessToken); err != nil || me.Nick != "黄丽" {
		t.Fatalf("me: %v %+v", err, me)
	}
	if _, err := c.Auth.RefreshUserAccessToken(ctx, ut.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth.UserAccessToken(ctx, "not-a-code"); err == nil {
		t.Fatal("bad code accepted")
	}
}

func TestRobotThroughClient(t *testing.T) {
	t.Parallel()
	const secret = "SECclienttestsecret"
	// The fake runs on the real clock here: the client signs with time.Now.
	s := dingtalktest.NewServer(dingtalktest.WithRobot("hook", dingtalktest.RobotConfig{Secret: secret, Keywords: []string{"发布"}}))
	t.Cleanup(s.Close)
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL), dingtalk.WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Robot.Send(ctx, dingtalk.Webhook{AccessToken: "hook", Secret: secret}, dingtalk.RobotMarkdown("发布", "**v1.2 发布完成**")); err != nil {
		t.Fatal(err)
	}
	err = c.Robot.Send(ctx, dingtalk.Webhook{AccessToken: "hook", Secret: "SECwrong"}, dingtalk.RobotText("发布"))
	var de *dingtalk.Error
	if !errors.As(err, &de) || de.ErrCode != 310000 {
		t.Fatalf("wrong secret: %v", err)
	}
	if got := s.RobotMessages("hook"); len(got) != 1 || got[0].MsgType != "markdown" {
		t.Fatalf("robot messages %+v", got)
	}
}

// TestTokenInvalidationMidRun: the fake invalidates tokens between calls;
// the client refreshes once and the call succeeds, on both API generations.
func TestTokenInvalidationMidRun(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	if _, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil {
		t.Fatal(err)
	}
	s.InvalidateTokens()
	if _, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil {
		t.Fatalf("after invalidation: %v", err)
	}
	if n := s.CallCount("topapi/v2/user/get"); n != 3 {
		t.Fatalf("user/get called %d times, want 3 (ok, 88/40014, retried ok)", n)
	}
	if n := s.TokenIssues(); n != 2 {
		t.Fatalf("tokens issued %d, want 2", n)
	}
	// New API: 400 InvalidAuthentication, refresh, retry.
	id, err := c.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{OriginatorUserID: "wangwu", ProcessCode: "PROC-A", DeptID: 3,
		FormComponentValues: []dingtalk.FormComponentValue{{Name: "a", Value: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	s.InvalidateTokens()
	if _, err := c.Process.GetInstance(ctx, id); err != nil {
		t.Fatalf("new API after invalidation: %v", err)
	}
	if n := s.TokenIssues(); n != 3 {
		t.Fatalf("tokens issued %d, want 3", n)
	}
}

// TestTokenInvalidationDoesNotResendNotice: a work notice rejected for its
// token was not delivered, so the client may send it again with a fresh
// token: exactly one delivery.
func TestTokenInvalidationDoesNotDuplicateNotice(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	if _, err := c.Auth.GetAccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	s.InvalidateTokens()
	if _, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"lisi"}, Msg: dingtalk.TextMessage("x")}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.NoticesDeliveredTo("lisi")); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
}

// TestRateLimitBackoff: the fake allows 1 call per second to user/get; a
// clock that moves 400 ms per request lets the client's retries after
// 90018 succeed.
func TestRateLimitBackoff(t *testing.T) {
	t.Parallel()
	clk := dingtalktest.NewManualClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	step := func() time.Time { clk.Advance(400 * time.Millisecond); return clk.Now() }
	s := dingtalktest.NewServer(dingtalktest.WithClock(step), dingtalktest.WithDemoOrg(),
		dingtalktest.WithAPIQPSLimit("topapi/v2/user/get", 1), dingtalktest.WithAPIQPSLimit("v1.0/workflow/processInstances", 1))
	t.Cleanup(s.Close)
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL), dingtalk.WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"lisi", "wangwu", "zhaoliu"} {
		if _, err := c.Contact.GetUser(ctx, u, ""); err != nil {
			t.Fatalf("GetUser(%s): %v", u, err)
		}
	}
	throttled := 0
	for _, call := range s.Calls() {
		if call.Errcode == 90018 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("the fake never throttled; the test proves nothing")
	}
	// Without retries left the typed error says rate limited.
	c2, _ := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
		dingtalk.WithRetryPolicy(dingtalk.RetryPolicy{MaxAttempts: 1, MaxRateLimitRetries: 0, QPSDelay: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	s.SetQPSLimit("topapi/v2/user/get", 0)
	s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Times: 1})
	if _, err := c2.Contact.GetUser(ctx, "lisi", ""); !dingtalk.IsTransient(err) {
		t.Fatalf("busy without retries: %v, want transient", err)
	}
}

// TestClientLimiterStaysUnderFakeLimit: with DingTalk's 20 QPS enforced on
// the real clock, the client's default limiter never trips it.
func TestClientLimiterStaysUnderFakeLimit(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes about two seconds of real time")
	}
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg(), dingtalktest.WithQPSLimit(20))
	t.Cleanup(s.Close)
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := c.Contact.ListUserIDs(context.Background(), 3); err != nil {
			t.Fatal(err)
		}
	}
	for _, call := range s.Calls() {
		if call.Errcode == 90018 {
			t.Fatalf("client exceeded 20 QPS: %+v", call)
		}
	}
}

// TestClientConvergesOnAppQuota: the app's real quota for user/get (5 QPS)
// is below the client's default limit (15/s). A burst of concurrent reads
// all succeed: the client slows that API down after the first 90018
// answers instead of spending every call's retries, and keeps the pace of
// an API DingTalk does not throttle. The test runs on synctest's fake
// clock, so its half minute of DingTalk time takes no wall time.
func TestClientConvergesOnAppQuota(t *testing.T) {
	t.Parallel()
	const reads, others, quota = 60, 30, 5
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg(), dingtalktest.WithAPIQPSLimit("topapi/v2/user/get", quota))
	t.Cleanup(s.Close)
	synctest.Test(t, func(t *testing.T) {
		c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
			dingtalk.WithHTTPClient(&http.Client{Transport: s.Transport()}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		start := time.Now()
		var wg sync.WaitGroup
		var readsDone, othersDone time.Duration
		var mu sync.Mutex
		var errs []error
		run := func(n int, call func() error, done *time.Duration) {
			var inner sync.WaitGroup
			for range n {
				inner.Go(func() {
					if err := call(); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				})
			}
			inner.Wait()
			*done = time.Since(start)
		}
		wg.Go(func() {
			run(reads, func() error { _, err := c.Contact.GetUser(ctx, "lisi", ""); return err }, &readsDone)
		})
		wg.Go(func() {
			run(others, func() error { _, err := c.Contact.ListUserIDs(ctx, 3); return err }, &othersDone)
		})
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d of %d calls failed, first: %v", len(errs), reads+others, errs[0])
		}
		throttled := 0
		for _, call := range s.Calls() {
			if call.Errcode == 90018 {
				throttled++
			}
		}
		if throttled == 0 || throttled > reads/5 {
			t.Errorf("%d answers of 90018, want some (the quota is below the default limit) and at most %d", throttled, reads/5)
		}
		// At the quota the reads take 12 s; a client stuck at its floor
		// would take over a minute.
		if ideal := time.Duration(reads/quota) * time.Second; readsDone > 2*ideal {
			t.Errorf("%d reads took %v, want under %v", reads, readsDone, 2*ideal)
		}
		// The unthrottled API kept its own pace (15/s plus a burst of 3).
		if othersDone > 3*time.Second {
			t.Errorf("%d calls of an unthrottled API took %v, want under 3s", others, othersDone)
		}
	})
}

// TestTransportInProcess: a client on the in-process transport sees what a
// client over the network sees, dropped connections included.
func TestTransportInProcess(t *testing.T) {
	t.Parallel()
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	t.Cleanup(s.Close)
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
		dingtalk.WithHTTPClient(&http.Client{Transport: s.Transport()}), dingtalk.WithRetryPolicy(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: dingtalktest.FaultDrop, Times: 1})
	if u, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil || u.UserID != "lisi" {
		t.Fatalf("GetUser after a dropped connection = %+v, %v", u, err)
	}
	s.InjectFault("topapi/message/corpconversation/asyncsend_v2", dingtalktest.Fault{Kind: dingtalktest.FaultDropAfter, Times: 1})
	_, err = c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"lisi"}, Msg: dingtalk.TextMessage("x")})
	if !dingtalk.IsTransient(err) {
		t.Fatalf("notice after a drop: %v, want a transient transport error", err)
	}
	if n := s.CallCount("topapi/message/corpconversation/asyncsend_v2"); n != 1 || len(s.WorkNotices()) != 1 {
		t.Fatalf("notice sent %d times, recorded %d; want 1 and 1 (it ran, the reply was lost)", n, len(s.WorkNotices()))
	}
}

// TestRobotSignedWhenSent: messages queued behind a robot's rate limit are
// signed when they leave, not when they were queued; DingTalk refuses a
// signature more than an hour old. On synctest's fake clock the queue's
// hours pass at once.
func TestRobotSignedWhenSent(t *testing.T) {
	t.Parallel()
	const secret = "SECqueuedsecret"
	s := dingtalktest.NewServer(dingtalktest.WithRobot("hook", dingtalktest.RobotConfig{Secret: secret}))
	t.Cleanup(s.Close)
	synctest.Test(t, func(t *testing.T) {
		c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
			dingtalk.WithHTTPClient(&http.Client{Transport: s.Transport()}),
			dingtalk.WithRobotRateLimit(rate.Every(40*time.Minute), 1))
		if err != nil {
			t.Fatal(err)
		}
		hook := dingtalk.Webhook{AccessToken: "hook", Secret: secret}
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				if err := c.Robot.Send(context.Background(), hook, dingtalk.RobotText(fmt.Sprint("排队消息 ", i))); err != nil {
					t.Errorf("message %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if got := len(s.RobotMessages("hook")); got != 3 {
			t.Fatalf("robot accepted %d messages, want 3", got)
		}
		if waited := time.Since(start); waited < 80*time.Minute {
			t.Fatalf("the queue took %v, want the limiter's 80 minutes", waited)
		}
	})
}

func TestFaultRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reads := []struct {
		name  string
		fault dingtalktest.FaultKind
		times int
	}{
		{"busy -1", dingtalktest.FaultBusy, 2},
		{"502", dingtalktest.FaultBadGateway, 2},
		{"dropped connection", dingtalktest.FaultDrop, 1},
	}
	for _, tt := range reads {
		t.Run("read "+tt.name, func(t *testing.T) {
			s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
			s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: tt.fault, Times: tt.times})
			if _, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil {
				t.Fatalf("GetUser: %v", err)
			}
			if n := s.CallCount("topapi/v2/user/get"); n != tt.times+1 {
				t.Fatalf("calls %d, want %d", n, tt.times+1)
			}
		})
	}
	t.Run("new API 500", func(t *testing.T) {
		s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
		id, err := c.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{OriginatorUserID: "wangwu", ProcessCode: "PROC-A", DeptID: 3,
			FormComponentValues: []dingtalk.FormComponentValue{{Name: "a", Value: "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		s.InjectFault("v1.0/workflow/processInstances", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Times: 1})
		if _, err := c.Process.GetInstance(ctx, id); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("busy notice is retried once delivered", func(t *testing.T) {
		s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
		s.InjectFault("topapi/message/corpconversation/asyncsend_v2", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Times: 1})
		if _, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"lisi"}, Msg: dingtalk.TextMessage("x")}); err != nil {
			t.Fatal(err)
		}
		if n := len(s.WorkNotices()); n != 1 {
			t.Fatalf("%d notices", n)
		}
	})
	ambiguous := []dingtalktest.FaultKind{dingtalktest.FaultDropAfter, dingtalktest.FaultBadGateway}
	for _, k := range ambiguous {
		t.Run("notice not resent after "+k.String(), func(t *testing.T) {
			s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
			s.InjectFault("topapi/message/corpconversation/asyncsend_v2", dingtalktest.Fault{Kind: k, Times: 1})
			_, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"lisi"}, Msg: dingtalk.TextMessage("扣款通知")})
			if err == nil {
				t.Fatal("ambiguous failure reported as success")
			}
			if n := s.CallCount("topapi/message/corpconversation/asyncsend_v2"); n != 1 {
				t.Fatalf("notice sent %d times, want 1", n)
			}
		})
	}
	t.Run("slow answer bounded by the caller's deadline", func(t *testing.T) {
		s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
		if _, err := c.Auth.GetAccessToken(ctx); err != nil {
			t.Fatal(err)
		}
		s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: dingtalktest.FaultSlow})
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := c.Contact.GetUser(tctx, "lisi", "")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("slow call: %v, want deadline exceeded", err)
		}
		s.ClearFaults()
		if _, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSyncLargeOrg mirrors a 100 000-user directory (1 000 departments)
// through the client's walkers, as functions/sync does.
func TestSyncLargeOrg(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("pages 100 000 users")
	}
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 100_000, DeptSize: 100})},
		dingtalk.WithRateLimit(1e6, 1000))
	ctx := context.Background()
	seen := make(map[string]bool, 100_000)
	depts := []int64{dingtalk.RootDepartmentID}
	for id, err := range c.Contact.WalkDepartmentIDs(ctx, dingtalk.RootDepartmentID) {
		if err != nil {
			t.Fatal(err)
		}
		depts = append(depts, id)
	}
	for _, d := range depts {
		for u, err := range c.Contact.AllSimpleUsers(ctx, dingtalk.ListUsersRequest{DeptID: d}) {
			if err != nil {
				t.Fatal(err)
			}
			seen[u.UserID] = true
		}
	}
	if len(seen) != s.UserCount() {
		t.Fatalf("synced %d users, want %d", len(seen), s.UserCount())
	}
}

// TestErrorClassification: every DingTalk failure class the fake produces
// is recognised by the client's predicates, and a token that keeps failing
// is refreshed once, not forever.
func TestErrorClassification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	noRetry := dingtalk.RetryPolicy{MaxAttempts: 1, MaxRateLimitRetries: 0, QPSDelay: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	tests := []struct {
		fault dingtalktest.FaultKind
		is    func(error) bool
		name  string
	}{
		{dingtalktest.FaultTokenInvalid, dingtalk.IsTokenInvalid, "IsTokenInvalid"},
		{dingtalktest.FaultRateLimited, dingtalk.IsRateLimited, "IsRateLimited"},
		{dingtalktest.FaultQuotaExhausted, dingtalk.IsQuotaExhausted, "IsQuotaExhausted"},
		{dingtalktest.FaultBusy, dingtalk.IsTransient, "IsTransient"},
		{dingtalktest.FaultBadGateway, dingtalk.IsTransient, "IsTransient"},
		{dingtalktest.FaultIPBlock, dingtalk.IsRateLimited, "IsRateLimited"},
	}
	for _, tt := range tests {
		for _, api := range []string{"old", "new"} {
			t.Run(tt.fault.String()+" "+api, func(t *testing.T) {
				s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()}, dingtalk.WithRetryPolicy(noRetry))
				var err error
				if api == "old" {
					s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: tt.fault})
					_, err = c.Contact.GetUser(ctx, "lisi", "")
				} else {
					s.InjectFault("v1.0/workflow/processInstances", dingtalktest.Fault{Kind: tt.fault})
					_, err = c.Process.GetInstance(ctx, "x")
				}
				if !tt.is(err) {
					t.Fatalf("%v: %s is false", err, tt.name)
				}
				var de *dingtalk.Error
				if !errors.As(err, &de) || de.API == "" {
					t.Fatalf("not a *dingtalk.Error with the API name: %#v", err)
				}
				if tt.fault == dingtalktest.FaultTokenInvalid && s.TokenIssues() > 2 {
					t.Fatalf("token refreshed %d times for one call", s.TokenIssues())
				}
			})
		}
	}
}

// TestPagesAreNotTheIPBlock: a proxy's 404 or 403 page is reported with
// its status, neither rate limited nor retried; the block is recognised by
// what it sends, as JSON or as a page, with DingTalk's 5-minute wait.
func TestPagesAreNotTheIPBlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		fault   dingtalktest.Fault
		blocked bool
		status  int
	}{
		{"proxy 404", dingtalktest.Fault{Kind: dingtalktest.FaultPage}, false, 404},
		{"proxy 403", dingtalktest.Fault{Kind: dingtalktest.FaultPage, Status: 403, Message: "<html><body>Access denied by policy</body></html>"}, false, 403},
		{"block JSON", dingtalktest.Fault{Kind: dingtalktest.FaultIPBlock}, true, 200},
		{"block page", dingtalktest.Fault{Kind: dingtalktest.FaultIPBlockPage}, true, 200},
		{"block page 403", dingtalktest.Fault{Kind: dingtalktest.FaultIPBlockPage, Status: 403}, true, 403},
	}
	for _, tt := range tests {
		for _, api := range []string{"topapi/v2/user/get", "v1.0/workflow/processInstances"} {
			t.Run(tt.name+" "+api, func(t *testing.T) {
				t.Parallel()
				s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
				if _, err := c.Auth.GetAccessToken(ctx); err != nil {
					t.Fatal(err)
				}
				s.InjectFault(api, tt.fault)
				var err error
				if api == "topapi/v2/user/get" {
					_, err = c.Contact.GetUser(ctx, "lisi", "")
				} else {
					_, err = c.Process.GetInstance(ctx, "x")
				}
				var de *dingtalk.Error
				if !errors.As(err, &de) || de.HTTPStatus != tt.status {
					t.Fatalf("err = %v, want a *dingtalk.Error with HTTP %d", err, tt.status)
				}
				if dingtalk.IsRateLimited(err) != tt.blocked || (tt.blocked && de.RetryAfter < 5*time.Minute) {
					t.Fatalf("IsRateLimited = %v, RetryAfter = %v; want %v with ≥ 5m for the block", dingtalk.IsRateLimited(err), de.RetryAfter, tt.blocked)
				}
				if dingtalk.IsTransient(err) {
					t.Fatalf("%v reported as transient", err)
				}
				// Neither is resent: the block's wait is beyond MaxDelay, a
				// page is not a rate limit.
				if n := s.CallCount(api); n != 1 {
					t.Fatalf("%s called %d times, want 1", api, n)
				}
			})
		}
	}
}

func TestQuotaExhaustedIsNotRetried(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg(), dingtalktest.WithMonthlyQuota(1)})
	ctx := context.Background()
	if _, err := c.CSpace.GetCustomSpace(ctx, "a", 0); err != nil {
		t.Fatal(err)
	}
	_, err := c.CSpace.GetCustomSpace(ctx, "b", 0)
	if !dingtalk.IsQuotaExhausted(err) {
		t.Fatalf("%v, want quota exhausted", err)
	}
	if n := s.CallCount("cspace/get_custom_space"); n != 2 {
		t.Fatalf("%d calls, want 2 (no retry of 90020)", n)
	}
	// Contacts are exempt.
	if _, err := c.Contact.ListUserIDs(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func TestMorePaging(t *testing.T) {
	t.Parallel()
	s, c, clk := setup(t, []dingtalktest.Option{dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 400})})
	ctx := context.Background()
	// Approval ids across pages (the new API's nextToken is a string).
	var want []string
	for i := range 25 {
		clk.Advance(time.Second)
		id, err := c.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{OriginatorUserID: "user000001", ProcessCode: "PROC-P", DeptID: -1,
			FormComponentValues: []dingtalk.FormComponentValue{{Name: "n", Value: fmt.Sprint(i)}}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	var got []string
	for id, err := range c.Process.AllInstanceIDs(ctx, dingtalk.ListInstanceIDsRequest{ProcessCode: "PROC-P", StartTime: clk.Now().Add(-time.Hour).UnixMilli(), MaxResults: 10}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("AllInstanceIDs %d ids, want %d", len(got), len(want))
	}
	page, err := c.Process.ListInstanceIDs(ctx, dingtalk.ListInstanceIDsRequest{ProcessCode: "PROC-P", StartTime: clk.Now().Add(-time.Hour).UnixMilli(), MaxResults: 20})
	if err != nil || page.NextToken != 20 || len(page.List) != 20 {
		t.Fatalf("first page %+v, %v", page, err)
	}
	// Role groups by pages of one.
	rp, err := c.Contact.ListRoles(ctx, 0, 1)
	if err != nil || !rp.HasMore || len(rp.List) != 1 {
		t.Fatalf("ListRoles %+v %v", rp, err)
	}
	// Attendance groups; a work notice to everyone and its recall.
	n := 0
	for _, err := range c.Attendance.AllGroups(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d groups", n)
	}
	task, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), ToAllUser: true, Msg: dingtalk.MarkdownMessage("公告", "全员大会")})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.WorkNotices()[0].Delivered); got != 400 {
		t.Fatalf("delivered to %d", got)
	}
	// More than 100 recipients: getsendresult times out on DingTalk.
	if _, err := c.Message.SendResult(ctx, s.AgentID(), task); !dingtalk.IsTransient(err) {
		t.Fatalf("SendResult over 100 recipients: %v, want a transient failure", err)
	}
	if err := c.Message.Recall(ctx, s.AgentID(), task); err != nil {
		t.Fatal(err)
	}
	if !s.WorkNotices()[0].Recalled {
		t.Fatal("not recalled")
	}
}

func TestLegacyAuthEndpoints(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, nil, dingtalk.WithLegacyAuthEndpoints())
	ctx := context.Background()
	tok, err := c.Auth.GetAccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := c.Auth.GetJSAPITicket(ctx, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if s.CallCount("gettoken") != 1 || s.CallCount("get_jsapi_ticket") != 1 || tk.Value != s.JSAPITicket() {
		t.Fatalf("legacy endpoints not used: gettoken %d, get_jsapi_ticket %d", s.CallCount("gettoken"), s.CallCount("get_jsapi_ticket"))
	}
}

// TestConfigErrorsAreNotRetried: a missing permission (88/60011, 403) or
// an IP not on the whitelist (60020) is final, and is not mistaken for a
// token problem.
func TestConfigErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	faults := []struct {
		name string
		f    dingtalktest.Fault
		new  bool
	}{
		{"88/60011", dingtalktest.Fault{Kind: dingtalktest.FaultError, SubCode: "60011", Message: "应用尚未开通所需的权限"}, false},
		{"60020", dingtalktest.Fault{Kind: dingtalktest.FaultError, Errcode: 60020, Message: "访问ip不在白名单之中"}, false},
		{"403 permission", dingtalktest.Fault{Kind: dingtalktest.FaultError, Status: 403, Code: "Forbidden.AccessDenied.AccessTokenPermissionDenied", Message: "没有调用该接口的权限"}, true},
		{"403 whitelist", dingtalktest.Fault{Kind: dingtalktest.FaultError, Status: 403, Code: "Forbidden.AccessDenied.IpNotInWhiteList", Message: "ip不在白名单"}, true},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
			api := "topapi/v2/user/get"
			call := func() error { _, err := c.Contact.GetUser(ctx, "lisi", ""); return err }
			if tt.new {
				api = "v1.0/workflow/processInstances"
				call = func() error { _, err := c.Process.GetInstance(ctx, "x"); return err }
			}
			s.InjectFault(api, tt.f)
			err := call()
			if err == nil || dingtalk.IsTokenInvalid(err) || dingtalk.IsTransient(err) || dingtalk.IsRateLimited(err) {
				t.Fatalf("%v: misclassified", err)
			}
			if n := s.CallCount(api); n != 1 {
				t.Fatalf("%d calls, want 1 (not retried)", n)
			}
		})
	}
}

// TestTokenExpiryOnTheFakesClock: the fake's token expires (its clock
// jumps two hours) while the client still trusts its cache; the client
// sees 88/42001, refreshes once and succeeds.
func TestTokenExpiryOnTheFakesClock(t *testing.T) {
	t.Parallel()
	s, c, clk := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	if _, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2*time.Hour + time.Second)
	if _, err := c.Contact.GetUser(ctx, "lisi", ""); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	calls := s.Calls()
	var subs []string
	for _, call := range calls {
		if call.API == "topapi/v2/user/get" && call.Errcode == 88 {
			subs = append(subs, "88")
		}
	}
	if len(subs) != 1 || s.TokenIssues() != 2 {
		t.Fatalf("expired-token rejections %d, tokens issued %d; want 1 and 2", len(subs), s.TokenIssues())
	}
}

// TestRateLimitedWriteIsRetried: 90018 means DingTalk refused the call,
// so even a work notice is safely sent again, and delivered once.
func TestRateLimitedWriteIsRetried(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	s.InjectFault("topapi/message/corpconversation/asyncsend_v2", dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited, Times: 1})
	if _, err := c.Message.Send(context.Background(), &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"lisi"}, Msg: dingtalk.TextMessage("x")}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.NoticesDeliveredTo("lisi")); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
}

// TestRobotThrottleThroughClient: with the client's own robot limiter
// lifted, the fake's 20-per-minute rule answers 410100, which the client
// reports as rate limited with DingTalk's 10-minute mute and does not
// resend.
func TestRobotThrottleThroughClient(t *testing.T) {
	t.Parallel()
	clk := dingtalktest.NewManualClock(time.Now()) // the client signs with the real time
	s := dingtalktest.NewServer(dingtalktest.WithClock(clk.Now), dingtalktest.WithRobot("hook", dingtalktest.RobotConfig{Secret: "SECx"}))
	t.Cleanup(s.Close)
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL), dingtalk.WithRetryPolicy(fastRetries),
		dingtalk.WithRobotRateLimit(1e6, 100))
	if err != nil {
		t.Fatal(err)
	}
	hook := dingtalk.Webhook{AccessToken: "hook", Secret: "SECx"}
	for i := range dingtalktest.RobotMaxPerMinute {
		if err := c.Robot.Send(context.Background(), hook, dingtalk.RobotText(fmt.Sprint("告警 ", i))); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	err = c.Robot.Send(context.Background(), hook, dingtalk.RobotText("one too many"))
	var de *dingtalk.Error
	if !dingtalk.IsRateLimited(err) || !errors.As(err, &de) || de.ErrCode != 410100 || de.RetryAfter < 10*time.Minute {
		t.Fatalf("21st message: %v", err)
	}
	if n := s.CallCount("robot/send"); n != dingtalktest.RobotMaxPerMinute+1 {
		t.Fatalf("robot/send called %d times, want %d (no resend)", n, dingtalktest.RobotMaxPerMinute+1)
	}
}

// TestInvalidRequestsNeverReachDingTalk: what DingTalk would reject, the
// client rejects before sending; what only DingTalk can judge is sent once.
func TestInvalidRequestsNeverReachDingTalk(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg(), dingtalktest.WithRobot("hook", dingtalktest.RobotConfig{})})
	ctx := context.Background()
	many := make(dingtalk.CommaStrings, 101)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	if _, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: many, Msg: dingtalk.TextMessage("x")}); err == nil {
		t.Error("101 recipients accepted")
	}
	if _, err := c.Message.Send(ctx, &dingtalk.WorkNotice{AgentID: s.AgentID(), UserIDList: dingtalk.CommaStrings{"lisi"}, Msg: &dingtalk.Message{MsgType: "text"}}); err == nil {
		t.Error("text message without text accepted")
	}
	mentions := make([]string, 51)
	for i := range mentions {
		mentions[i] = fmt.Sprint("u", i)
	}
	if err := c.Robot.Send(ctx, dingtalk.Webhook{AccessToken: "hook"}, dingtalk.RobotText("x", mentions...)); err == nil {
		t.Error("51 mentions accepted")
	}
	if n := s.CallCount("topapi/message/corpconversation/asyncsend_v2") + s.CallCount("robot/send"); n != 0 {
		t.Fatalf("%d invalid requests reached the fake", n)
	}
	// A used 免登 code is DingTalk's to reject, once.
	code := s.NewAuthCode("lisi")
	if _, err := c.Auth.GetUserInfo(ctx, code); err != nil {
		t.Fatal(err)
	}
	_, err := c.Auth.GetUserInfo(ctx, code)
	var de *dingtalk.Error
	if !errors.As(err, &de) || de.ErrCode != 40078 {
		t.Fatalf("reused code: %v", err)
	}
	if n := s.CallCount("topapi/v2/user/getuserinfo"); n != 2 {
		t.Fatalf("getuserinfo called %d times, want 2", n)
	}
	// A department removed mid-walk surfaces as an error, not a short list.
	if err := s.MoveUser("chenjing", 5); err != nil {
		t.Fatal(err)
	}
	s.InjectFault("topapi/v2/department/listsub", dingtalktest.Fault{Kind: dingtalktest.FaultError, Errcode: 60003, Message: "部门不存在", Times: 1})
	walked := 0
	var walkErr error
	for _, err := range c.Contact.WalkDepartments(ctx, dingtalk.RootDepartmentID, "") {
		if err != nil {
			walkErr = err
			break
		}
		walked++
	}
	if walkErr == nil {
		t.Fatalf("walk hid a failed listsub (%d departments)", walked)
	}
}

// TestPageCalls covers the single-page calls behind the iterators.
func TestPageCalls(t *testing.T) {
	t.Parallel()
	s, c, clk := setup(t, []dingtalktest.Option{dingtalktest.WithDemoOrg()})
	ctx := context.Background()
	subs, err := c.Contact.ListSubDepartments(ctx, 2, "")
	if err != nil || len(subs) != 2 || subs[0].Name != "后端组" || subs[0].ParentID != 2 {
		t.Fatalf("ListSubDepartments %+v %v", subs, err)
	}
	page, err := c.Contact.ListUsers(ctx, dingtalk.ListUsersRequest{DeptID: 3, Size: 2, OrderField: dingtalk.OrderEntryAsc})
	if err != nil || !page.HasMore || page.NextCursor != 2 || page.List[0].UserID != "wangwu" || !page.List[0].Leader {
		t.Fatalf("ListUsers %+v %v", page, err)
	}
	s.AddFailedEvent("org_dept_create", clk.Now(), map[string]any{"deptid": []int64{9}})
	fr, err := c.Callback.FailedResults(ctx)
	if err != nil || fr.HasMore || len(fr.FailedList) != 1 || fr.FailedList[0].Tag != "org_dept_create" || fr.FailedList[0].EventTime != clk.Now().UnixMilli() {
		t.Fatalf("FailedResults %+v %v", fr, err)
	}
	gp, err := c.Attendance.ListGroups(ctx, 1, 1)
	if err != nil || !gp.HasMore || len(gp.Groups) != 1 || gp.Groups[0].Type != "TURN" {
		t.Fatalf("ListGroups %+v %v", gp, err)
	}
	sp, err := c.Attendance.ListSchedules(ctx, clk.Now(), 0, 2)
	if err != nil || len(sp.Schedules) != 2 || sp.Schedules[0].CheckType != "OnDuty" || sp.Schedules[1].CheckType != "OffDuty" {
		t.Fatalf("ListSchedules %+v %v", sp, err)
	}
	ec, err := c.ExtContact.List(ctx, 1, 2)
	if err != nil || len(ec) != 2 || ec[0].Name != "孙悟空" {
		t.Fatalf("ExtContact.List %+v %v", ec, err)
	}
	lg, err := c.ExtContact.ListLabelGroups(ctx, 0, 1)
	if err != nil || len(lg) != 1 || lg[0].Name != "客户类型" || len(lg[0].Labels) != 3 {
		t.Fatalf("ListLabelGroups %+v %v", lg, err)
	}
	space, err := c.CSpace.GetCustomSpace(ctx, "dingfn", 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.Get(s.URL + "/cspace/get_custom_space?domain=dingfn&access_token=" + s.AccessToken())
	if err != nil {
		t.Fatal(err)
	}
	var raw struct{ Spaceid json.Number }
	json.NewDecoder(r.Body).Decode(&raw)
	r.Body.Close()
	if space != raw.Spaceid.String() {
		t.Fatalf("GetCustomSpace %q, fake sent %s", space, raw.Spaceid)
	}
	if u := c.Auth.LoginURL("https://app.example.com/cb", "xyz"); !strings.Contains(u, "client_id="+s.AppKey()) || !strings.Contains(u, "response_type=code") {
		t.Fatalf("LoginURL %s", u)
	}
}
