package dingtalk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func TestCallLegacyNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		params any
		query  url.Values
		body   string
		reply  string
	}{
		{"dingtalk.corp.ext.listlabelgroups", http.MethodPost, "/topapi/extcontact/listlabelgroups",
			map[string]any{"size": 20, "offset": 0}, nil, `{"size":20,"offset":0}`, `{"errcode":0,"results":[{"name":"g"}]}`},
		{"corp.role.list", http.MethodPost, "/topapi/role/list", map[string]int{"size": 5}, nil, `{"size":5}`, `{"errcode":0}`},
		{"dingtalk.corp.message.corpconversation.asyncsend", http.MethodPost, "/topapi/message/corpconversation/asyncsend_v2",
			struct {
				AgentID int64  `json:"agent_id"`
				UserIDs string `json:"userid_list"`
			}{1, "u1"}, nil, `{"agent_id":1,"userid_list":"u1"}`, `{"errcode":0,"task_id":3}`},
		{"dingtalk.smartwork.bpms.processinstance.get", http.MethodPost, "/topapi/processinstance/get",
			map[string]string{"process_instance_id": "pi"}, nil, `{"process_instance_id":"pi"}`, `{"errcode":0}`},
		{"smartwork.attends.getsimplegroups", http.MethodPost, "/topapi/attendance/getsimplegroups", nil, nil, `{}`, `{"errcode":0}`},
		{"user/getUseridByUnionid", http.MethodPost, "/topapi/user/getbyunionid", map[string]string{"unionid": "x"}, nil, `{"unionid":"x"}`, `{"errcode":0}`},
		{"/topapi/v2/user/get", http.MethodPost, "/topapi/v2/user/get", map[string]string{"userid": "u"}, nil, `{"userid":"u"}`, `{"errcode":0}`},
		{"cspace/get_custom_space", http.MethodGet, "/cspace/get_custom_space",
			map[string]any{"domain": "d", "agent_id": 7}, url.Values{"domain": {"d"}, "agent_id": {"7"}}, "", `{"errcode":0,"spaceid":"1"}`},
		{"call_back/get_call_back_failed_result", http.MethodGet, "/call_back/get_call_back_failed_result", nil, url.Values{}, "", `{"errcode":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.handle(t, tt.method, tt.path, func(r *http.Request) {
				testOAPIToken(t, r)
				if tt.method == http.MethodGet {
					testQuery(t, r, tt.query)
					testNoBody(t, r)
				} else {
					testJSONBody(t, r, tt.body)
				}
			}, tt.reply)
			var out map[string]any
			if err := e.client.Call(context.Background(), tt.name, tt.params, &out); err != nil {
				t.Fatal(err)
			}
			if out["errcode"] != float64(0) {
				t.Errorf("out = %v, want the whole reply", out)
			}
		})
	}
}

func TestCallNewAPIByPath(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/v1.0/workflow/processInstances", func(r *http.Request) {
		testAPIToken(t, r)
		testJSONBody(t, r, `{"processCode":"P"}`)
	}, `{"instanceId":"x"}`)
	e.handle(t, http.MethodPost, "/v1.0/workflow/processes/instanceIds/query", nil, `{"result":{"list":[]}}`)
	var out struct {
		InstanceID string `json:"instanceId"`
	}
	if err := e.client.Call(context.Background(), "v1.0/workflow/processInstances", map[string]string{"processCode": "P"}, &out); err != nil || out.InstanceID != "x" {
		t.Errorf("Call = %+v, %v", out, err)
	}
}

func TestCallErrorsAndRetries(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := scripted(t, e, "/topapi/extcontact/list", `{"errcode":90018}`, `{"errcode":40035,"errmsg":"缺少参数"}`)
	err := e.client.Call(context.Background(), "dingtalk.corp.ext.list", map[string]int{"size": 1}, nil)
	var de *Error
	if !errors.As(err, &de) || de.ErrCode != 40035 || de.API != "topapi/extcontact/list" {
		t.Errorf("err = %v", err)
	}
	if hits.Load() != 2 {
		t.Errorf("hits = %d, want 2 (rate limit retried)", hits.Load())
	}
	if err := e.client.Call(context.Background(), "dingtalk.no.such.method", nil, nil); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("unknown name err = %v", err)
	}
}

func TestRegistryExtend(t *testing.T) {
	t.Parallel()
	reg := DefaultRegistry()
	if err := reg.Register("dingtalk.custom.thing", Method{Generation: OAPI, HTTPMethod: http.MethodGet, Path: "department/list", Safe: true}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Method{
		{Generation: OAPI, HTTPMethod: http.MethodPut, Path: "/x"},
		{Generation: OAPI, HTTPMethod: http.MethodGet, Path: ""},
		{Generation: OAPI, HTTPMethod: http.MethodGet, Path: "/x?a=1"},
		{Generation: Generation(9), HTTPMethod: http.MethodGet, Path: "/x"},
	} {
		if err := reg.Register("bad", bad); err == nil {
			t.Errorf("Register(%+v) accepted", bad)
		}
	}
	e := setup(t, WithRegistry(reg))
	e.handle(t, http.MethodGet, "/department/list", func(r *http.Request) {
		testQuery(t, r, url.Values{"fetch_child": {"true"}, "id": {"1"}})
	}, `{"errcode":0,"department":[]}`)
	if err := e.client.Call(context.Background(), "custom.thing", map[string]any{"id": 1, "fetch_child": true}, nil); err != nil {
		t.Error(err)
	}
	if err := e.client.Call(context.Background(), "/department/list", url.Values{"id": {"1"}, "fetch_child": {"true"}}, nil); err != nil {
		t.Error(err)
	}
	if _, ok := reg.Lookup("corp.ext.add"); !ok {
		t.Error("default names lost")
	}
}

// TestRegistryCoversSeedMap checks that every legacy name of the seed
// interface map resolves to its current endpoint.
func TestRegistryCoversSeedMap(t *testing.T) {
	t.Parallel()
	reg := DefaultRegistry()
	want := map[string]string{
		"dingtalk.corp.role.list":                                "/topapi/role/list",
		"dingtalk.corp.role.getrolegroup":                        "/topapi/role/getrolegroup",
		"dingtalk.corp.message.corpconversation.asyncsend":       "/topapi/message/corpconversation/asyncsend_v2",
		"dingtalk.corp.message.corpconversation.getsendprogress": "/topapi/message/corpconversation/getsendprogress",
		"dingtalk.corp.message.corpconversation.getsendresult":   "/topapi/message/corpconversation/getsendresult",
		"dingtalk.corp.ext.listlabelgroups":                      "/topapi/extcontact/listlabelgroups",
		"dingtalk.corp.ext.list":                                 "/topapi/extcontact/list",
		"dingtalk.corp.ext.add":                                  "/topapi/extcontact/create",
		"dingtalk.corp.ext.update":                               "/topapi/extcontact/update",
		"dingtalk.smartwork.attends.listschedule":                "/topapi/attendance/listschedule",
		"dingtalk.smartwork.attends.getsimplegroups":             "/topapi/attendance/getsimplegroups",
		"dingtalk.smartwork.bpms.processinstance.create":         "/topapi/processinstance/create",
		"dingtalk.smartwork.bpms.processinstance.list":           "/topapi/processinstance/listids",
		"dingtalk.smartwork.bpms.processinstance.get":            "/topapi/processinstance/get",
		"user/getuserinfo":                                       "/topapi/v2/user/getuserinfo",
		"call_back/register_call_back":                           "/call_back/register_call_back",
		"call_back/get_call_back":                                "/call_back/get_call_back",
		"call_back/update_call_back":                             "/call_back/update_call_back",
		"call_back/delete_call_back":                             "/call_back/delete_call_back",
		"call_back/get_call_back_failed_result":                  "/call_back/get_call_back_failed_result",
		"cspace/get_custom_space":                                "/cspace/get_custom_space",
		"get_jsapi_ticket":                                       "/get_jsapi_ticket",
		"topapi/extcontact/delete":                               "/topapi/extcontact/delete",
		"topapi/v2/department/listsubid":                         "/topapi/v2/department/listsubid",
		"topapi/user/listsimple":                                 "/topapi/user/listsimple",
	}
	for name, path := range want {
		m, ok := reg.Lookup(name)
		if !ok || m.Path != path {
			t.Errorf("Lookup(%q) = %+v, %v; want path %s", name, m, ok, path)
		}
	}
	// The new-API approval get shares its path with create: the path
	// names the create call, the get is reached by name.
	if m, _ := reg.Lookup("workflow.processInstances.get"); m.HTTPMethod != http.MethodGet || m.Path != "/v1.0/workflow/processInstances" || !m.Safe {
		t.Errorf("workflow.processInstances.get = %+v", m)
	}
	if m, _ := reg.Lookup("v1.0/workflow/processInstances"); m.HTTPMethod != http.MethodPost || m.Safe {
		t.Errorf("v1.0/workflow/processInstances = %+v, want the create call", m)
	}
	if m, _ := reg.Lookup("dingtalk.corp.message.corpconversation.asyncsend"); m.Safe {
		t.Error("work-notice send is marked safe to resend")
	}
}

func TestRegistryNames(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	r.Register("dingtalk.b.x", Method{Generation: OAPI, HTTPMethod: http.MethodPost, Path: "/p/b"})
	r.Register("a.x", Method{Generation: API, HTTPMethod: http.MethodGet, Path: "/v1.0/a"})
	got := r.Names()
	want := []string{"a.x", "b.x", "p/b", "v1.0/a"}
	if len(got) != len(want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Names = %v, want %v", got, want)
		}
	}
}
