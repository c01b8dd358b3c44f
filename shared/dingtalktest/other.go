package dingtalktest

import (
	"fmt"
	"hash/fnv"
	"regexp"
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

// External contacts (外部联系人).

// ExternalContact is an external contact of the organisation.
type ExternalContact struct {
	UserID         string   `json:"userid"`
	Name           string   `json:"name"`
	Mobile         string   `json:"mobile"`
	StateCode      string   `json:"state_code"`
	Title          string   `json:"title"`
	CompanyName    string   `json:"company_name"`
	Address        string   `json:"address"`
	Remark         string   `json:"remark"`
	Email          string   `json:"email"`
	FollowerUserID string   `json:"follower_user_id"`
	LabelIDs       []int64  `json:"label_ids"`
	ShareDeptIDs   []int64  `json:"share_dept_ids"`
	ShareUserIDs   []string `json:"share_user_ids"`
}

type labelGroup struct {
	name   string
	color  int64
	labels []role
}

var extLabelGroups = []labelGroup{
	{"客户类型", -15220075, []role{{101, "重要客户"}, {102, "普通客户"}, {103, "潜在客户"}}},
	{"行业", -31578, []role{{201, "制造业"}, {202, "互联网"}, {203, "金融"}}},
}

func labelExists(id int64) bool {
	for _, g := range extLabelGroups {
		for _, l := range g.labels {
			if l.id == id {
				return true
			}
		}
	}
	return false
}

type extState struct {
	n        uint64
	contacts []*ExternalContact
}

func (e *extState) init() {}

// seed adds a few contacts followed by the first user.
func (e *extState) seed(follower string) {
	if follower == "" {
		return
	}
	for i, c := range []struct{ name, company string }{{"钱多多", "多多贸易有限公司"}, {"孙悟空", "花果山科技"}, {"周小川", "川流物流"}} {
		e.n++
		e.contacts = append(e.contacts, &ExternalContact{
			UserID: fmt.Sprintf("ext%06d", e.n), Name: c.name, Mobile: fmt.Sprintf("1370000%04d", i), StateCode: "86",
			CompanyName: c.company, FollowerUserID: follower, LabelIDs: []int64{101 + int64(i%2)},
			ShareDeptIDs: []int64{}, ShareUserIDs: []string{},
		})
	}
}

// ExternalContacts returns the external contacts in creation order.
func (s *Server) ExternalContacts() []ExternalContact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ExternalContact, 0, len(s.ext.contacts))
	for _, c := range s.ext.contacts {
		x := *c
		x.LabelIDs, x.ShareDeptIDs, x.ShareUserIDs = slices.Clone(c.LabelIDs), slices.Clone(c.ShareDeptIDs), slices.Clone(c.ShareUserIDs)
		out = append(out, x)
	}
	return out
}

// offsetSize reads the offset/size pair of an offset-paged call: size is
// 1..max and def when absent.
func offsetSize(rq *request, max, def int64) (int, int, reply, bool) {
	offset, _, err := rq.params.int64("offset")
	if err != nil || offset < 0 {
		return 0, 0, fail(40068, "不合法的偏移量"), true
	}
	size, has, err := rq.params.int64("size")
	if err != nil || (has && (size < 1 || size > max)) {
		return 0, 0, fail(40069, fmt.Sprintf("不合法的分页大小(1-%d)", max)), true
	}
	if !has {
		size = def
	}
	return int(offset), int(size), reply{}, false
}

// POST topapi/extcontact/listlabelgroups
func (s *Server) extLabelGroups(rq *request) reply {
	off, size, rep, bad := offsetSize(rq, 100, 20)
	if bad {
		return rep
	}
	out := []map[string]any{}
	for i := min(off, len(extLabelGroups)); i < min(off+size, len(extLabelGroups)); i++ {
		g := extLabelGroups[i]
		labels := []map[string]any{}
		for _, l := range g.labels {
			labels = append(labels, map[string]any{"id": l.id, "name": l.name})
		}
		out = append(out, map[string]any{"name": g.name, "color": g.color, "labels": labels})
	}
	return ok(map[string]any{"results": out})
}

// POST topapi/extcontact/list
func (s *Server) extList(rq *request) reply {
	off, size, rep, bad := offsetSize(rq, 100, 20)
	if bad {
		return rep
	}
	out := []*ExternalContact{}
	for i := min(off, len(s.ext.contacts)); i < min(off+size, len(s.ext.contacts)); i++ {
		out = append(out, s.ext.contacts[i])
	}
	return ok(map[string]any{"results": out})
}

var phoneRE = regexp.MustCompile(`^(\+\d{1,4}-)?\d{5,20}$`)

// validateContact checks a contact object; create says whether mobile and
// state_code are required.
func (s *Server) validateContact(c *ExternalContact, create bool) (reply, bool) {
	switch {
	case c.Name == "":
		return fail(40036, "缺少参数 contact.name"), true
	case c.FollowerUserID == "":
		return fail(40036, "缺少参数 contact.follower_user_id"), true
	case create && c.Mobile == "":
		return fail(40036, "缺少参数 contact.mobile"), true
	case create && c.StateCode == "":
		return fail(40036, "缺少参数 contact.state_code"), true
	case len(c.LabelIDs) == 0:
		return fail(60204, "标签不能为空"), true
	case len(c.ShareDeptIDs) > 20 || len(c.ShareUserIDs) > 20:
		return fail(400002, "无效的参数: 共享部门或共享人最多20个"), true
	}
	if create && !phoneRE.MatchString(c.Mobile) {
		return fail(60103, "手机号码不合法"), true
	}
	if s.dir.users[c.FollowerUserID] == nil {
		return fail(60121, "负责人不存在"), true
	}
	for _, l := range c.LabelIDs {
		if !labelExists(l) {
			return fail(400002, fmt.Sprintf("无效的参数: 标签 %d 不存在", l)), true
		}
	}
	return reply{}, false
}

// POST topapi/extcontact/create
func (s *Server) extCreate(rq *request) reply {
	var c ExternalContact
	if has, err := rq.params.decode("contact", &c); err != nil {
		return badParam(err)
	} else if !has {
		return fail(40036, "缺少参数 contact")
	}
	if rep, bad := s.validateContact(&c, true); bad {
		return rep
	}
	for _, x := range s.ext.contacts {
		if x.Mobile == c.Mobile && x.StateCode == c.StateCode {
			return fail(60200, "外部联系人已存在")
		}
	}
	s.ext.n++
	c.UserID = fmt.Sprintf("ext%06d", s.ext.n)
	c.ShareDeptIDs, c.ShareUserIDs = nonNilInts(c.ShareDeptIDs), nonNil(c.ShareUserIDs)
	s.ext.contacts = append(s.ext.contacts, &c)
	return ok(map[string]any{"userid": c.UserID})
}

// POST topapi/extcontact/update
func (s *Server) extUpdate(rq *request) reply {
	var in struct {
		ExternalContact
		UserID string `json:"user_id"`
	}
	if has, err := rq.params.decode("contact", &in); err != nil {
		return badParam(err)
	} else if !has {
		return fail(40036, "缺少参数 contact")
	}
	if in.UserID == "" {
		return fail(40036, "缺少参数 contact.user_id")
	}
	i := slices.IndexFunc(s.ext.contacts, func(c *ExternalContact) bool { return c.UserID == in.UserID })
	if i < 0 {
		return fail(60121, "外部联系人不存在")
	}
	c := in.ExternalContact
	if rep, bad := s.validateContact(&c, false); bad {
		return rep
	}
	old := s.ext.contacts[i]
	c.UserID, c.Mobile, c.StateCode = old.UserID, old.Mobile, old.StateCode
	c.ShareDeptIDs, c.ShareUserIDs = nonNilInts(c.ShareDeptIDs), nonNil(c.ShareUserIDs)
	s.ext.contacts[i] = &c
	return ok(nil)
}

// POST topapi/extcontact/delete
func (s *Server) extDelete(rq *request) reply {
	id, _ := rq.params.str("user_id")
	if id == "" {
		return fail(40036, "缺少参数 user_id")
	}
	i := slices.IndexFunc(s.ext.contacts, func(c *ExternalContact) bool { return c.UserID == id })
	if i < 0 {
		return fail(60121, "外部联系人不存在")
	}
	s.ext.contacts = slices.Delete(s.ext.contacts, i, i+1)
	return ok(nil)
}

// Custom space (钉盘自定义空间).

var domainRE = regexp.MustCompile(`^[A-Za-z0-9]{1,10}$`)

// GET cspace/get_custom_space?domain=&agent_id=. spaceid is a number, as in
// DingTalk's example (its field table says String).
func (s *Server) cspaceGet(rq *request) reply {
	domain, _ := rq.params.str("domain")
	if domain == "" {
		return missing("domain")
	}
	if !domainRE.MatchString(domain) {
		return fail(40035, "不合法的参数: domain 须为不超过10位的字母或数字")
	}
	if a, has, err := rq.params.int64("agent_id"); err != nil || (has && a != s.agentID) {
		return fail(40056, "不合法的agentid")
	}
	h := fnv.New32a()
	h.Write([]byte(domain))
	return ok(map[string]any{"spaceid": int64(1000000000 + h.Sum32()%1000000000)})
}
