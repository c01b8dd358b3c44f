package dingtalk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestListSchedules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/attendance/listschedule", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"workDate":"2026-11-30 00:00:00","offset":0,"size":200}`)
	}, readTestdata(t, "attendance_listschedule.json"))
	day := time.Date(2026, 11, 30, 15, 4, 5, 0, time.FixedZone("CST", 8*3600))
	var got []Schedule
	for s, err := range e.client.Attendance.AllSchedules(context.Background(), day) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if len(got) != 2 || got[0].CheckType != "OnDuty" || got[1].ChangedCheckTime != "2026-11-30 19:00:00" || got[0].GroupID != 1 {
		t.Errorf("schedules = %+v", got)
	}
}

func TestAllGroupsPagesAndGetGroup(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var offsets []int
	e.mux.HandleFunc("/topapi/attendance/getsimplegroups", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Offset, Size int }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &in)
		if in.Size != 10 {
			t.Errorf("size = %d, want 10", in.Size)
		}
		offsets = append(offsets, in.Offset)
		if in.Offset == 0 {
			fmt.Fprint(w, `{"errcode":0,"result":{"has_more":true,"groups":[{"group_id":9,"group_name":"g"}]}}`)
			return
		}
		fmt.Fprint(w, readTestdata(t, "attendance_getsimplegroups.json"))
	})
	var groups []AttendanceGroup
	for g, err := range e.client.Attendance.AllGroups(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	if len(groups) != 2 || fmt.Sprint(offsets) != "[0 1]" {
		t.Fatalf("groups = %d, offsets = %v", len(groups), offsets)
	}
	g := groups[1]
	if g.Type != "FIXED" || !g.IsDefault || g.WorkDayList[1] != "100" || g.SelectedClass[0].Setting.PermitLateMinutes != 10 ||
		g.SelectedClass[0].Sections[0].Times[1].CheckType != "OffDuty" {
		t.Errorf("group = %+v", g)
	}
	if _, err := e.client.Attendance.ListGroups(context.Background(), 0, 11); err == nil {
		t.Error("size 11 accepted")
	}

	e.handle(t, http.MethodPost, "/topapi/attendance/group/query", func(r *http.Request) {
		testJSONBody(t, r, `{"op_user_id":"manager4220","group_id":1}`)
	}, `{"errcode":0,"result":{"id":1,"name":"研发考勤","type":"FIXED","member_count":12,"shift_ids":[100],"work_day_list":[0,1,1,1,1,1,0],"wifis":["office"],"address_list":["杭州"],"manager_list":["manager4220"],"owner_user_id":"manager4220","url":"https://x"}}`)
	d, err := e.client.Attendance.GetGroup(context.Background(), "manager4220", 1)
	if err != nil || d.Name != "研发考勤" || d.ShiftIDs[0] != 100 || string(d.WorkDayList) != "[0,1,1,1,1,1,0]" {
		t.Errorf("GetGroup = %+v, %v", d, err)
	}
}
