package dingtalktest

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestProcessInstancesOldAPI(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithDemoOrg())
	tok := s.AccessToken()
	create := map[string]any{
		"process_code": "PROC-LEAVE", "originator_user_id": "wangwu", "dept_id": 3,
		"form_component_values": []map[string]string{{"name": "请假类型", "value": "年假"}, {"name": "天数", "value": "2"}},
		"approvers":             "lisi,zhangsan", "cc_list": "chenjing",
	}
	r := oapiJSON(t, s, "topapi/processinstance/create", tok, create)
	wantErrcode(t, r, 0)
	id := r.str("process_instance_id")
	g := oapiJSON(t, s, "topapi/processinstance/get", tok, map[string]any{"process_instance_id": id})
	wantErrcode(t, g, 0)
	if g.str("process_instance", "status") != "RUNNING" || g.str("process_instance", "originator_dept_id") != "3" ||
		g.str("process_instance", "create_time") != "2026-11-30 17:00:00" || len(g.get("process_instance", "tasks").([]any)) != 2 {
		t.Fatalf("get: %s", g.raw)
	}
	if err := s.FinishProcessInstance(id, "agree"); err != nil {
		t.Fatal(err)
	}
	g = oapiJSON(t, s, "topapi/processinstance/get", tok, map[string]any{"process_instance_id": id})
	if g.str("process_instance", "status") != "COMPLETED" || g.str("process_instance", "result") != "agree" {
		t.Fatalf("finished: %s", g.raw)
	}
	// Form-encoded create with the values as a JSON string.
	f := oapiForm(t, s, "topapi/processinstance/create", tok, url.Values{
		"process_code": {"PROC-LEAVE"}, "originator_user_id": {"zhengshi"}, "dept_id": {"-1"},
		"form_component_values": {`[{"name":"请假类型","value":"病假"}]`},
	})
	wantErrcode(t, f, 0)

	bad := []struct {
		name string
		body map[string]any
		want int
	}{
		{"no form", map[string]any{"process_code": "PROC-X", "originator_user_id": "wangwu", "dept_id": 3}, 40035},
		{"bad code", map[string]any{"process_code": "X", "originator_user_id": "wangwu", "dept_id": 3, "form_component_values": []map[string]string{{"name": "a", "value": "b"}}}, 400002},
		{"OR with one user", map[string]any{"process_code": "PROC-X", "originator_user_id": "wangwu", "dept_id": 3,
			"form_component_values": []map[string]string{{"name": "a", "value": "b"}},
			"approvers_v2":          []map[string]any{{"task_action_type": "OR", "user_ids": []string{"lisi"}}}}, 400002},
	}
	for _, b := range bad {
		wantErrcodeNamed(t, b.name, oapiJSON(t, s, "topapi/processinstance/create", tok, b.body), b.want)
	}

	// listids pages without has_more; next_cursor is absent at the end.
	for i := range 23 {
		clk.Advance(time.Minute)
		create["form_component_values"] = []map[string]string{{"name": "n", "value": fmt.Sprint(i)}}
		wantErrcode(t, oapiJSON(t, s, "topapi/processinstance/create", tok, create), 0)
	}
	start := t0.Add(-time.Hour).UnixMilli()
	var ids []any
	cursor := 0
	for {
		r := oapiJSON(t, s, "topapi/processinstance/listids", tok, map[string]any{"process_code": "PROC-LEAVE", "start_time": start, "size": 10, "cursor": cursor})
		wantErrcode(t, r, 0)
		ids = append(ids, r.get("result", "list").([]any)...)
		nc := r.get("result", "next_cursor")
		if nc == nil {
			break
		}
		cursor = int(nc.(float64))
	}
	if len(ids) != 25 {
		t.Fatalf("listids found %d, want 25", len(ids))
	}
	r = oapiJSON(t, s, "topapi/processinstance/listids", tok, map[string]any{"process_code": "PROC-LEAVE", "start_time": start, "userid_list": "zhengshi"})
	if len(r.get("result", "list").([]any)) != 1 {
		t.Fatalf("listids by user: %s", r.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/processinstance/listids", tok, map[string]any{"process_code": "PROC-LEAVE", "start_time": t0.Add(-121 * 24 * time.Hour).UnixMilli()}), 400002)
	wantErrcode(t, oapiJSON(t, s, "topapi/processinstance/listids", tok, map[string]any{"process_code": "PROC-LEAVE", "start_time": start, "size": 21}), 40069)
}

func TestProcessInstancesNewAPI(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	tok := s.AccessToken()
	body := map[string]any{
		"processCode": "PROC-EXPENSE", "originatorUserId": "liuyang", "deptId": 5,
		"approvers":           []map[string]any{{"actionType": "NONE", "userIds": []string{"sunqi"}}},
		"formComponentValues": []map[string]string{{"name": "金额", "value": "100"}},
	}
	r := v1(t, s, http.MethodPost, "v1.0/workflow/processInstances", tok, body)
	if r.status != 200 || r.str("instanceId") == "" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.str("instanceId")
	g := v1(t, s, http.MethodGet, "v1.0/workflow/processInstances?processInstanceId="+id, tok, nil)
	if g.status != 200 || g.get("success") != true || g.str("result", "status") != "RUNNING" || g.str("result", "originatorUserId") != "liuyang" {
		t.Fatalf("get: %d %s", g.status, g.raw)
	}
	wantCode(t, v1(t, s, http.MethodGet, "v1.0/workflow/processInstances?processInstanceId=nope", tok, nil), 400, "invalidParameter.processInstanceId.notFound")
	for range 2 {
		v1(t, s, http.MethodPost, "v1.0/workflow/processInstances", tok, body)
	}
	q := map[string]any{"processCode": "PROC-EXPENSE", "startTime": t0.Add(-time.Hour).UnixMilli(), "maxResults": 2}
	l := v1(t, s, http.MethodPost, "v1.0/workflow/processes/instanceIds/query", tok, q)
	if l.status != 200 || len(l.get("result", "list").([]any)) != 2 || l.str("result", "nextToken") != "2" {
		t.Fatalf("list: %s", l.raw)
	}
	q["nextToken"] = l.str("result", "nextToken")
	l = v1(t, s, http.MethodPost, "v1.0/workflow/processes/instanceIds/query", tok, q)
	if len(l.get("result", "list").([]any)) != 1 || l.get("result", "nextToken") != nil {
		t.Fatalf("last page: %s", l.raw)
	}
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/workflow/processInstances", "", body), 400, "AuthenticationFailed.MissingParameter")
}

func TestAttendance(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithGeneratedOrg(OrgSpec{Users: 300}))
	tok := s.AccessToken()
	r := oapiJSON(t, s, "topapi/attendance/getsimplegroups", tok, map[string]any{"offset": 0, "size": 10})
	wantErrcode(t, r, 0)
	groups := r.get("result", "groups").([]any)
	total := 0
	for _, g := range groups {
		total += int(g.(map[string]any)["member_count"].(float64))
	}
	if len(groups) != 3 || total != 300 || r.get("result", "has_more") != false {
		t.Fatalf("groups %d, members %d: %s", len(groups), total, r.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/attendance/getsimplegroups", tok, map[string]any{"offset": 0, "size": 11}), 40069)
	q := oapiJSON(t, s, "topapi/attendance/group/query", tok, map[string]any{"op_user_id": "user000000", "group_id": 1001})
	wantErrcode(t, q, 0)
	if q.str("result", "type") != "FIXED" {
		t.Fatalf("group/query: %s", q.raw)
	}
	// Monday: FIXED and TURN members have two checks each.
	count := func(day string) int {
		n, off := 0, 0
		for {
			r := oapiJSON(t, s, "topapi/attendance/listschedule", tok, map[string]any{"workDate": day, "offset": off, "size": 200})
			wantErrcode(t, r, 0)
			n += len(r.get("result", "schedules").([]any))
			if r.get("result", "has_more") != true {
				return n
			}
			off += 200
		}
	}
	fixed, turn := 0, 0
	for _, g := range groups {
		m := g.(map[string]any)
		switch m["type"] {
		case "FIXED":
			fixed = int(m["member_count"].(float64))
		case "TURN":
			turn = int(m["member_count"].(float64))
		}
	}
	if got := count("2026-11-30 00:00:00"); got != 2*(fixed+turn) {
		t.Fatalf("Monday schedules %d, want %d", got, 2*(fixed+turn))
	}
	if got := count("2026-12-05"); got != 2*turn {
		t.Fatalf("Saturday schedules %d, want %d (TURN only)", got, 2*turn)
	}
}

func TestExtContacts(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	tok := s.AccessToken()
	r := oapiJSON(t, s, "topapi/extcontact/listlabelgroups", tok, map[string]any{"offset": 0, "size": 100})
	wantErrcode(t, r, 0)
	if len(r.get("results").([]any)) != 2 {
		t.Fatalf("label groups: %s", r.raw)
	}
	contact := map[string]any{"name": "新客户", "mobile": "13711112222", "state_code": "86", "follower_user_id": "sunqi", "label_ids": []int{101}}
	c := oapiJSON(t, s, "topapi/extcontact/create", tok, map[string]any{"contact": contact})
	wantErrcode(t, c, 0)
	id := c.str("userid")
	wantErrcode(t, oapiJSON(t, s, "topapi/extcontact/create", tok, map[string]any{"contact": contact}), 60200)
	contact["mobile"], contact["label_ids"] = "13711113333", []int{}
	wantErrcode(t, oapiJSON(t, s, "topapi/extcontact/create", tok, map[string]any{"contact": contact}), 60204)
	contact["mobile"], contact["label_ids"] = "abc", []int{101}
	wantErrcode(t, oapiJSON(t, s, "topapi/extcontact/create", tok, map[string]any{"contact": contact}), 60103)
	wantErrcode(t, oapiJSON(t, s, "topapi/extcontact/update", tok, map[string]any{"contact": map[string]any{"user_id": id, "name": "老客户", "follower_user_id": "sunqi", "label_ids": []int{102}}}), 0)
	l := oapiJSON(t, s, "topapi/extcontact/list", tok, map[string]any{"offset": 0, "size": 100})
	list := l.get("results").([]any)
	last := list[len(list)-1].(map[string]any)
	if len(list) != 4 || last["name"] != "老客户" || last["mobile"] != "13711112222" {
		t.Fatalf("list: %s", l.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/extcontact/delete", tok, map[string]any{"user_id": id}), 0)
	wantErrcode(t, oapiJSON(t, s, "topapi/extcontact/delete", tok, map[string]any{"user_id": id}), 60121)
	if len(s.ExternalContacts()) != 3 {
		t.Fatal("delete did not remove the contact")
	}
}

func TestCSpaceAndQuota(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithMonthlyQuota(2))
	tok := s.AccessToken()
	r := oapiGet(t, s, "cspace/get_custom_space", url.Values{"access_token": {tok}, "domain": {"dingfn"}})
	wantErrcode(t, r, 0)
	if _, isNum := r.get("spaceid").(float64); !isNum {
		t.Fatalf("spaceid %s", r.raw)
	}
	wantErrcode(t, oapiGet(t, s, "cspace/get_custom_space", url.Values{"access_token": {tok}, "domain": {"too-long-domain"}}), 40035)
	// Two counted calls used the quota; contacts stay free, cspace does not.
	wantErrcode(t, oapiGet(t, s, "cspace/get_custom_space", url.Values{"access_token": {tok}, "domain": {"x"}}), 90020)
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 0)
	if s.QuotaUsed() != 2 {
		t.Fatalf("QuotaUsed = %d, want 2", s.QuotaUsed())
	}
	// A new natural month (China time) resets it.
	clk.Set(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)) // 2026-12-01 00:00 CST
	wantErrcode(t, oapiGet(t, s, "cspace/get_custom_space", url.Values{"access_token": {s.AccessToken()}, "domain": {"x"}}), 0)
}

// Every new-API call that takes a JSON body answers a missing or non-JSON
// one with DingTalk's 400 MissingBody.
func TestNewAPIMissingBody(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	tok := s.AccessToken()
	for _, path := range []string{
		"v1.0/oauth2/accessToken", "v1.0/oauth2/userAccessToken",
		"v1.0/workflow/processInstances", "v1.0/workflow/processes/instanceIds/query",
	} {
		t.Run(path, func(t *testing.T) {
			wantCode(t, v1(t, s, http.MethodPost, path, tok, nil), http.StatusBadRequest, "MissingBody")
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/"+path, stringsReader(`{"x":`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-acs-dingtalk-access-token", tok)
			wantCode(t, do(t, req), http.StatusBadRequest, "MissingBody")
		})
	}
}

// StartProcessInstance starts what the create API would, readable through
// get, and refuses what the API refuses.
func TestStartProcessInstance(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	p, err := s.StartProcessInstance(ProcessInstance{ProcessCode: "PROC-LEAVE", OriginatorUserID: "wangwu", DeptID: 3,
		Approvers: []string{"lisi"}, Form: []FormValue{{Name: "请假类型", Value: "年假"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Status != "RUNNING" || p.Title != "王五提交的审批" {
		t.Fatalf("started %+v", p)
	}
	g := oapiJSON(t, s, "topapi/processinstance/get", s.AccessToken(), map[string]any{"process_instance_id": p.ID})
	wantErrcode(t, g, 0)
	if g.str("process_instance", "status") != "RUNNING" {
		t.Fatalf("get: %s", g.raw)
	}
	if _, err := s.StartProcessInstance(ProcessInstance{ProcessCode: "PROC-LEAVE", OriginatorUserID: "nobody", DeptID: 3,
		Form: []FormValue{{Name: "a", Value: "b"}}}); err == nil {
		t.Fatal("an unknown originator must be refused")
	}
	if n := len(s.ProcessInstances()); n != 1 {
		t.Fatalf("%d instances after one refused start, want 1", n)
	}
}
