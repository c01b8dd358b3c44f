package dingtalktest

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/replies from the fake's current answers")

// TestReplyShapes pins the fake's reply bodies for the demo organisation to
// testdata/replies/*.json, so a change of shape is a visible diff. Request
// ids are left out. Run with -update after an intended change and review
// the diff against the API reference.
func TestReplyShapes(t *testing.T) {
	s, clk := newTestServer(t, WithDemoOrg(), WithAPIQPSLimit("topapi/role/getrolegroup", 1))
	tok := getToken(t, s)
	task := sendNotice(t, s, map[string]any{"userid_list": "wangwu,ghost", "msg": textMsg("上线通知")}).get("task_id")
	proc := oapiJSON(t, s, "topapi/processinstance/create", tok, map[string]any{
		"process_code": "PROC-LEAVE", "originator_user_id": "wangwu", "dept_id": 3, "approvers": "lisi",
		"form_component_values": []map[string]string{{"name": "请假类型", "value": "年假"}},
	}).str("process_instance_id")
	s.AddFailedEvent("user_add_org", clk.Now(), map[string]any{"userid": []string{"lisi"}})

	cases := []struct {
		name string
		r    func() result
	}{
		{"gettoken", func() result {
			return oapiGet(t, s, "gettoken", url.Values{"appkey": {s.AppKey()}, "appsecret": {s.AppSecret()}})
		}},
		{"v1.0-oauth2-accessToken", func() result {
			return v1(t, s, http.MethodPost, "v1.0/oauth2/accessToken", "", map[string]string{"appKey": s.AppKey(), "appSecret": s.AppSecret()})
		}},
		{"get_jsapi_ticket", func() result { return oapiGet(t, s, "get_jsapi_ticket", url.Values{"access_token": {tok}}) }},
		{"department-listsub", func() result {
			return oapiJSON(t, s, "topapi/v2/department/listsub", tok, map[string]any{"dept_id": 2})
		}},
		{"department-listsubid", func() result {
			return oapiJSON(t, s, "topapi/v2/department/listsubid", tok, map[string]any{"dept_id": 1})
		}},
		{"department-get", func() result { return oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 2}) }},
		{"user-get", func() result { return oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "chenjing"}) }},
		{"user-list", func() result {
			return oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 3, "cursor": 0, "size": 2})
		}},
		{"user-listsimple-last", func() result {
			return oapiJSON(t, s, "topapi/user/listsimple", tok, map[string]any{"dept_id": 3, "cursor": 2, "size": 2})
		}},
		{"user-listid", func() result { return oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 3}) }},
		{"user-getbyunionid", func() result {
			u, _ := s.User("lisi")
			return oapiJSON(t, s, "topapi/user/getbyunionid", tok, map[string]any{"unionid": u.UnionID})
		}},
		{"role-list", func() result { return oapiJSON(t, s, "topapi/role/list", tok, map[string]any{"offset": 0, "size": 1}) }},
		{"role-getrolegroup", func() result { return oapiJSON(t, s, "topapi/role/getrolegroup", tok, map[string]any{"group_id": 1}) }},
		{"message-getsendprogress", func() result {
			return oapiJSON(t, s, "topapi/message/corpconversation/getsendprogress", tok, map[string]any{"agent_id": s.AgentID(), "task_id": task})
		}},
		{"message-getsendresult", func() result {
			return oapiJSON(t, s, "topapi/message/corpconversation/getsendresult", tok, map[string]any{"agent_id": s.AgentID(), "task_id": task})
		}},
		{"processinstance-get", func() result {
			return oapiJSON(t, s, "topapi/processinstance/get", tok, map[string]any{"process_instance_id": proc})
		}},
		{"v1.0-workflow-processInstances-get", func() result {
			return v1(t, s, http.MethodGet, "v1.0/workflow/processInstances?processInstanceId="+proc, tok, nil)
		}},
		{"processinstance-listids", func() result {
			return oapiJSON(t, s, "topapi/processinstance/listids", tok, map[string]any{"process_code": "PROC-LEAVE", "start_time": t0.Add(-time.Hour).UnixMilli()})
		}},
		{"attendance-getsimplegroups", func() result {
			return oapiJSON(t, s, "topapi/attendance/getsimplegroups", tok, map[string]any{"offset": 0, "size": 1})
		}},
		{"attendance-listschedule", func() result {
			return oapiJSON(t, s, "topapi/attendance/listschedule", tok, map[string]any{"workDate": "2026-11-30", "offset": 0, "size": 2})
		}},
		{"extcontact-listlabelgroups", func() result {
			return oapiJSON(t, s, "topapi/extcontact/listlabelgroups", tok, map[string]any{"offset": 0, "size": 1})
		}},
		{"extcontact-list", func() result {
			return oapiJSON(t, s, "topapi/extcontact/list", tok, map[string]any{"offset": 0, "size": 1})
		}},
		{"cspace-get_custom_space", func() result {
			return oapiGet(t, s, "cspace/get_custom_space", url.Values{"access_token": {tok}, "domain": {"dingfn"}})
		}},
		{"call_back-get_call_back_failed_result", func() result {
			return oapiGet(t, s, "call_back/get_call_back_failed_result", url.Values{"access_token": {tok}})
		}},
		{"error-88-invalid-token", func() result { return oapiJSON(t, s, "topapi/v2/user/get", "bogus", map[string]any{"userid": "lisi"}) }},
		{"error-22-unknown-api", func() result { return oapiJSON(t, s, "topapi/v2/no/such", tok, nil) }},
		{"error-90018-qps", func() result { return oapiJSON(t, s, "topapi/role/getrolegroup", tok, map[string]any{"group_id": 1}) }},
		{"error-v1.0-InvalidAuthentication", func() result {
			return v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", "bogus", nil)
		}},
	}
	for _, c := range cases {
		r := c.r()
		delete(r.body, "request_id")
		delete(r.body, "requestid")
		got, err := json.MarshalIndent(map[string]any{"status": r.status, "body": r.body}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("testdata", "replies", c.name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test -run TestReplyShapes -update)", c.name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: reply changed:\n got %s\nwant %s", c.name, got, want)
		}
	}
}
