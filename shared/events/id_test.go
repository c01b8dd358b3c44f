package events_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
)

func TestEventIDSameEvent(t *testing.T) {
	t.Parallel()
	// Each group is one event as it may arrive; every member must get the
	// group's id, and no two groups may share one.
	groups := []struct {
		name string
		raws []string
	}{
		{"register user push", []string{
			`{"EventType":"user_add_org","TimeStamp":"1772442000000","UserId":["u1","u2"],"CorpId":"dingA"}`,
			`{"EventType":"user_add_org","TimeStamp":1772442000000,"UserId":["u2","u1"],"CorpId":"dingA","OptStaffId":"m1"}`,
			`{"eventType":"user_add_org","timeStamp":"1772442000000","userid":["u1","u2"],"corpId":"dingA"}`,
			`{"EventType":"user_add_org","TimeStamp":"1772442000","UserId":["u1","u2"],"CorpId":"dingA"}`, // seconds
		}},
		{"other users", []string{`{"EventType":"user_add_org","TimeStamp":"1772442000000","UserId":["u1"],"CorpId":"dingA"}`}},
		{"other time", []string{`{"EventType":"user_add_org","TimeStamp":"1772442000001","UserId":["u1","u2"],"CorpId":"dingA"}`}},
		{"other type", []string{`{"EventType":"user_modify_org","TimeStamp":"1772442000000","UserId":["u1","u2"],"CorpId":"dingA"}`}},
		{"other corp", []string{`{"EventType":"user_add_org","TimeStamp":"1772442000000","UserId":["u1","u2"],"CorpId":"dingB"}`}},
		{"dept as numbers or strings", []string{
			`{"EventType":"org_dept_modify","DeptId":[581208264,2],"TimeStamp":"1772442000123","CorpId":"dingA"}`,
			`{"EventType":"org_dept_modify","deptId":["2","581208264"],"EventTime":1772442000123,"CorpId":"dingA"}`,
		}},
		{"approval", []string{
			`{"EventType":"bpms_instance_change","processInstanceId":"pi-1","EventTime":1772442000000,"CorpId":"dingA","type":"finish"}`,
			`{"EventType":"bpms_instance_change","processInstanceId":"pi-1","EventTime":"1772442000000","corpId":"dingA","type":"finish","title":"x"}`,
		}},
		{"no time: the payload decides", []string{`{"EventType":"org_change","CorpId":"dingA"}`, `{ "EventType" : "org_change", "CorpId" : "dingA" }`}},
		{"no time, other payload", []string{`{"EventType":"org_change","CorpId":"dingA","x":1}`}},
		{"eventId", []string{
			`{"eventId":"6a3f0c2b9f1e4d7c8b5a","EventType":"user_modify_org","EventTime":1,"userId":["u1"]}`,
			`{"EventId":"6a3f0c2b9f1e4d7c8b5a","EventType":"user_add_org","EventTime":2,"userId":["u9"]}`,
		}},
	}
	seen := map[string]string{}
	for _, g := range groups {
		var id string
		for i, raw := range g.raws {
			ev, err := events.NewEvent([]byte(raw), events.SourcePush, time.Now())
			if err != nil {
				t.Fatalf("%s #%d: %v", g.name, i, err)
			}
			if i == 0 {
				id = ev.ID
			} else if ev.ID != id {
				t.Errorf("%s #%d: id %s, want %s", g.name, i, ev.ID, id)
			}
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s share id %s", g.name, other, id)
		}
		seen[id] = g.name
	}
	if seen["6a3f0c2b9f1e4d7c8b5a"] != "eventId" {
		t.Errorf("DingTalk's eventId is not the id: %v", seen)
	}
	shape := regexp.MustCompile(`^ev-[0-9a-f]{32}$`)
	for id, name := range seen {
		if name != "eventId" && !shape.MatchString(id) {
			t.Errorf("%s: id %q is not ev- and 32 hex digits", name, id)
		}
	}
	if got := events.EventID("has space/and slash", "x", "", nil, time.Time{}); !shape.MatchString(got) {
		t.Errorf("an eventId unfit for a key gives %q, want it hashed", got)
	}
}

// TestEventIDPinned pins the documented derivation, so that ids stay the
// same across releases (they are dedupe keys in stored logs).
func TestEventIDPinned(t *testing.T) {
	t.Parallel()
	ev, err := events.NewEvent([]byte(`{"EventType":"user_add_org","TimeStamp":"1700000000123","UserId":["u2","u1"],"CorpId":"ding0123456789abcdef"}`), events.SourcePush, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// printf "dingfn-event/1\nuser_add_org\nding0123456789abcdef\nuserid=u1,u2\n1700000000123" | sha256sum | cut -c1-32
	const want = "ev-94609326a3b97f3567366846b72deea2"
	if ev.ID != want {
		t.Errorf("id = %s, want %s", ev.ID, want)
	}
}

// TestFailedResultSameID checks that an event recovered from
// get_call_back_failed_result gets the id of its push, for each shape
// DingTalk nests the data in.
func TestFailedResultSameID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, push, failed string
	}{
		{"users",
			`{"EventType":"user_leave_org","TimeStamp":"1772442000000","UserId":["u1"],"CorpId":"dingA","OptStaffId":"m"}`,
			`{"call_back_tag":"user_leave_org","event_time":1772442000000,"user_leave_org":{"userid":["u1"],"corpid":"dingA"}}`},
		{"departments",
			`{"EventType":"org_dept_create","TimeStamp":"1772442000000","DeptId":[7],"CorpId":"dingA"}`,
			`{"call_back_tag":"org_dept_create","event_time":"1772442000000","org_dept_create":{"deptid":[7],"corpid":"dingA"}}`},
		{"approvals",
			`{"EventType":"bpms_task_change","processInstanceId":"pi-9","taskId":5,"EventTime":1772442000000,"CorpId":"dingA","type":"start"}`,
			`{"call_back_tag":"bpms_task_change","event_time":1772442000000,"bpms_task_change":{"corpid":"dingA","bpmsCallBackData":{"EventType":"bpms_task_change","processInstanceId":"pi-9","taskId":5,"EventTime":1772442000000,"CorpId":"dingA","type":"start"}}}`},
		{"roles",
			`{"EventType":"label_user_change","userIdList":["u1"],"labelIdList":[3],"TimeStamp":1772442000000,"CorpId":"dingA","action":"add"}`,
			`{"call_back_tag":"label_user_change","event_time":1772442000000,"label_user_change":{"corpid":"dingA","roleLabelChange":{"userIdList":["u1"],"labelIdList":[3],"action":"add"}}}`},
		{"other, nested as a string",
			`{"EventType":"chat_disband","ChatId":"c1","TimeStamp":1772442000000,"CorpId":"dingA"}`,
			`{"call_back_tag":"chat_disband","event_time":1772442000000,"chat_disband":{"corpid":"dingA","callbackData":"{\"EventType\":\"chat_disband\",\"ChatId\":\"c1\",\"TimeStamp\":1772442000000,\"CorpId\":\"dingA\"}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pushed, err := events.NewEvent([]byte(tt.push), events.SourcePush, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var f dingtalk.FailedEvent
			if err := json.Unmarshal([]byte(tt.failed), &f); err != nil {
				t.Fatal(err)
			}
			rec, err := events.FailedEvent(f, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if rec.ID != pushed.ID || rec.Type != pushed.Type || rec.CorpID != pushed.CorpID || !rec.Time.Equal(pushed.Time) {
				t.Errorf("recovered %+v\nwant id %s type %s corp %s time %v", rec, pushed.ID, pushed.Type, pushed.CorpID, pushed.Time)
			}
			if rec.Source != events.SourceFailedResult {
				t.Errorf("source = %q", rec.Source)
			}
		})
	}
}

func TestFailedEventMalformed(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		`{"call_back_tag":"","event_time":1,"x":{}}`,
		`{"call_back_tag":"user_add_org","event_time":1}`,
		`{"call_back_tag":"user_add_org","event_time":1,"user_add_org":[1]}`,
	} {
		var f dingtalk.FailedEvent
		if err := json.Unmarshal([]byte(raw), &f); err != nil {
			continue // the client already refuses it
		}
		if ev, err := events.FailedEvent(f, time.Now()); err == nil {
			t.Errorf("FailedEvent(%s) = %+v, want an error", raw, ev)
		}
	}
}
