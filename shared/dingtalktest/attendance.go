package dingtalktest

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"
)

// Attendance (考勤): three fixed attendance groups; every user belongs to
// one, chosen by a hash of the userid so mutations do not reshuffle others.

type attendanceGroup struct {
	id       int64
	name     string
	kind     string // FIXED, TURN or NONE
	classID  int64
	workDays []string
}

var attendanceGroups = []attendanceGroup{
	{1001, "总部考勤组", "FIXED", 5001, []string{"0", "1", "1", "1", "1", "1", "0"}},
	{1002, "研发排班组", "TURN", 5002, []string{"1", "1", "1", "1", "1", "1", "1"}},
	{1003, "弹性考勤组", "NONE", 0, []string{"0", "1", "1", "1", "1", "1", "0"}},
}

type slot struct {
	user string
	g    attendanceGroup
}

// scheduleKey identifies a computed day of schedules.
type scheduleKey struct {
	gen     uint64
	day     int64
	fixedOK bool
}

func groupByID(id int64) attendanceGroup {
	return attendanceGroups[slices.IndexFunc(attendanceGroups, func(g attendanceGroup) bool { return g.id == id })]
}

// AttendanceGroupOf returns the id of the attendance group of userid.
func AttendanceGroupOf(userid string) int64 {
	h := fnv.New32a()
	h.Write([]byte(userid))
	return attendanceGroups[h.Sum32()%uint32(len(attendanceGroups))].id
}

func (s *Server) groupMembers(id int64) []string {
	var out []string
	for _, u := range s.dir.ids() {
		if AttendanceGroupOf(u) == id {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) groupFields(g attendanceGroup, members int) map[string]any {
	owner := ""
	if len(s.dir.ids()) > 0 {
		owner = s.dir.ids()[0]
	}
	classes := []int64{}
	selected := []map[string]any{}
	if g.classID != 0 {
		classes = append(classes, g.classID)
		selected = append(selected, map[string]any{
			"class_id": g.classID, "class_name": "正常班",
			"sections": []map[string]any{{"times": []map[string]any{
				{"check_time": "2020-01-01 09:00:00", "check_type": "OnDuty", "across": 0},
				{"check_time": "2020-01-01 18:00:00", "check_type": "OffDuty", "across": 0},
			}}},
			"setting": map[string]any{"class_setting_id": g.classID + 1000, "permit_late_minutes": 10},
		})
	}
	return map[string]any{
		"group_id": g.id, "group_name": g.name, "is_default": g.id == 1001, "type": g.kind,
		"member_count": members, "default_class_id": g.classID, "owner_user_id": owner,
		"manager_list": []string{owner}, "dept_name_list": []string{s.deptName(RootDeptID)},
		"work_day_list": g.workDays, "classes_list": classes, "selected_class": selected,
	}
}

// POST topapi/attendance/getsimplegroups
func (s *Server) attendanceGroups(rq *request) reply {
	offset, size, rep, bad := offsetSize(rq, 10, 10)
	if bad {
		return rep
	}
	groups := []map[string]any{}
	end := min(offset+size, len(attendanceGroups))
	for i := min(offset, len(attendanceGroups)); i < end; i++ {
		g := attendanceGroups[i]
		groups = append(groups, s.groupFields(g, len(s.groupMembers(g.id))))
	}
	return ok(map[string]any{"result": map[string]any{"has_more": end < len(attendanceGroups), "groups": groups}})
}

// POST topapi/attendance/group/query
func (s *Server) attendanceGroupQuery(rq *request) reply {
	op, _ := rq.params.str("op_user_id")
	if op == "" {
		return missing("op_user_id")
	}
	id, rep, bad := rq.params.needInt64("group_id")
	if bad {
		return rep
	}
	for _, g := range attendanceGroups {
		if g.id != id {
			continue
		}
		f := s.groupFields(g, len(s.groupMembers(id)))
		return ok(map[string]any{"result": map[string]any{
			"id": g.id, "name": g.name, "type": g.kind, "member_count": f["member_count"],
			"shift_ids": f["classes_list"], "work_day_list": g.workDays, "wifis": []string{},
			"address_list": []string{"杭州市余杭区"}, "manager_list": f["manager_list"],
			"owner_user_id": f["owner_user_id"], "url": "",
		}})
	}
	return fail(400002, "无效的参数: 考勤组不存在")
}

func parseWorkDate(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).In(chinaTime), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, chinaTime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("workDate %q is not yyyy-MM-dd[ HH:mm:ss] or ms", s)
}

// POST topapi/attendance/listschedule: two checks (OnDuty 09:00, OffDuty
// 18:00) per scheduled user on workDate. Fixed shifts exist only on work
// days and for the next 15 days.
func (s *Server) attendanceSchedules(rq *request) reply {
	wd, _ := rq.params.str("workDate")
	if wd == "" {
		return missing("workDate")
	}
	day, err := parseWorkDate(wd)
	if err != nil {
		return badParam(err)
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, chinaTime)
	off, n, rep, bad := offsetSize(rq, 200, 200)
	if bad {
		return rep
	}
	offset, size := int64(off), int64(n)
	fixedOK := day.Sub(rq.now) <= 15*24*time.Hour
	key := scheduleKey{gen: s.dir.gen, day: day.Unix(), fixedOK: fixedOK}
	scheduled, cached := s.schedules[key]
	if !cached {
		// Paging 100 000 users' schedules must not rescan the org per page.
		for _, u := range s.dir.ids() {
			g := groupByID(AttendanceGroupOf(u))
			switch {
			case g.kind == "NONE":
				continue
			case g.kind == "FIXED" && (g.workDays[day.Weekday()] == "0" || !fixedOK):
				continue
			}
			scheduled = append(scheduled, slot{u, g})
		}
		if len(s.schedules) > 16 {
			clear(s.schedules)
		}
		s.schedules[key] = scheduled
	}
	total := int64(len(scheduled) * 2)
	list := []map[string]any{}
	for i := offset; i < min(offset+size, total); i++ {
		sl := scheduled[i/2]
		check, at := "OnDuty", day.Add(9*time.Hour)
		if i%2 == 1 {
			check, at = "OffDuty", day.Add(18*time.Hour)
		}
		list = append(list, map[string]any{
			"plan_id": 7000000000 + i, "check_type": check, "approve_id": 0, "userid": sl.user,
			"class_id": sl.g.classID, "class_setting_id": sl.g.classID + 1000,
			"plan_check_time": at.Format("2006-01-02 15:04:05"), "group_id": sl.g.id,
		})
	}
	return ok(map[string]any{"result": map[string]any{"has_more": offset+size < total, "schedules": list}})
}
