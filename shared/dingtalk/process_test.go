package dingtalk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestCreateInstance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/v1.0/workflow/processInstances", func(r *http.Request) {
		testAPIToken(t, r)
		testJSONBody(t, r, `{"originatorUserId":"zhangsan","processCode":"PROC-1","deptId":-1,"approvers":[{"actionType":"AND","userIds":["a","b"]}],"ccList":["c"],"ccPosition":"FINISH","formComponentValues":[{"name":"事由","value":"出差"}]}`)
	}, `{"instanceId":"pi-1"}`)
	id, err := e.client.Process.CreateInstance(context.Background(), &CreateProcessInstanceRequest{
		OriginatorUserID: "zhangsan", ProcessCode: "PROC-1", DeptID: -1,
		Approvers: []ProcessApprover{{ActionType: "AND", UserIDs: []string{"a", "b"}}}, CCList: []string{"c"}, CCPosition: "FINISH",
		FormComponentValues: []FormComponentValue{{Name: "事由", Value: "出差"}},
	})
	if err != nil || id != "pi-1" {
		t.Errorf("CreateInstance = %q, %v", id, err)
	}
	if _, err := e.client.Process.CreateInstance(context.Background(), &CreateProcessInstanceRequest{ProcessCode: "P", OriginatorUserID: "u"}); err == nil {
		t.Error("no form values accepted")
	}
}

func TestGetInstance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodGet, "/v1.0/workflow/processInstances", func(r *http.Request) {
		testAPIToken(t, r)
		testQuery(t, r, url.Values{"processInstanceId": {"pi-1"}})
		testNoBody(t, r)
	}, readTestdata(t, "process_get.json"))
	p, err := e.client.Process.GetInstance(context.Background(), "pi-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != "COMPLETED" || p.Result != "agree" || p.OriginatorDeptID != "-1" || len(p.OperationRecords) != 2 ||
		p.OperationRecords[1].Attachments[0].FileID != "f1" || p.Tasks[0].TaskID != 6178 || p.FormComponentValues[0].ComponentType != "TextField" {
		t.Errorf("instance = %+v", p)
	}
}

func TestAllInstanceIDs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var tokens []int64
	e.mux.HandleFunc("/v1.0/workflow/processes/instanceIds/query", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testAPIToken(t, r)
		var in ListInstanceIDsRequest
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatal(err)
		}
		if in.ProcessCode != "PROC-1" || in.StartTime != 1700000000000 || in.MaxResults != 20 || !reflect.DeepEqual(in.Statuses, []string{"COMPLETED"}) {
			t.Errorf("request = %s", b)
		}
		tokens = append(tokens, in.NextToken)
		if in.NextToken == 0 {
			fmt.Fprint(w, `{"success":true,"result":{"list":["a","b"],"nextToken":"20"}}`)
			return
		}
		fmt.Fprint(w, `{"success":true,"result":{"list":["c"]}}`)
	})
	var ids []string
	for id, err := range e.client.Process.AllInstanceIDs(context.Background(), ListInstanceIDsRequest{ProcessCode: "PROC-1", StartTime: 1700000000000, Statuses: []string{"COMPLETED"}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if !reflect.DeepEqual(ids, []string{"a", "b", "c"}) || !reflect.DeepEqual(tokens, []int64{0, 20}) {
		t.Errorf("ids = %v, tokens = %v", ids, tokens)
	}
	if _, err := e.client.Process.ListInstanceIDs(context.Background(), ListInstanceIDsRequest{ProcessCode: "P", StartTime: 1, MaxResults: 21}); err == nil {
		t.Error("MaxResults 21 accepted")
	}
}
