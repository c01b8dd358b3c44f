package dingtalktest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Approval (OA 审批) limits.
const (
	processListMaxDays  = 120
	processListMaxAge   = 365
	processListMaxTotal = 10000
)

// FormValue is one approval form component value.
type FormValue struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	ExtValue string `json:"ext_value,omitempty"`
}

// ProcessInstance is an approval instance created through the API.
type ProcessInstance struct {
	ID               string
	ProcessCode      string
	Title            string
	OriginatorUserID string
	// DeptID is the originator's department; -1 means the root.
	DeptID     int64
	Approvers  []string
	CCList     []string
	Form       []FormValue
	BusinessID string
	// Status is NEW, RUNNING, TERMINATED, COMPLETED or CANCELED; Result is
	// agree, refuse or "".
	Status     string
	Result     string
	CreateTime time.Time
	FinishTime time.Time
}

type processState struct {
	n         uint64
	instances map[string]*ProcessInstance
	order     []string
}

func (p *processState) init() { p.instances = map[string]*ProcessInstance{} }

// ProcessInstances returns the approval instances in creation order.
func (s *Server) ProcessInstances() []ProcessInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProcessInstance, 0, len(s.processes.order))
	for _, id := range s.processes.order {
		out = append(out, cloneInstance(s.processes.instances[id]))
	}
	return out
}

func cloneInstance(p *ProcessInstance) ProcessInstance {
	c := *p
	c.Approvers, c.CCList, c.Form = slices.Clone(p.Approvers), slices.Clone(p.CCList), slices.Clone(p.Form)
	return c
}

// FinishProcessInstance ends an instance: result "agree" or "refuse" gives
// COMPLETED, "" gives TERMINATED (revoked).
func (s *Server) FinishProcessInstance(id, result string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.processes.instances[id]
	if p == nil {
		return fmt.Errorf("dingtalktest: process instance %q: %w", id, errNotFound)
	}
	switch result {
	case "agree", "refuse":
		p.Status = "COMPLETED"
	case "":
		p.Status = "TERMINATED"
	default:
		return fmt.Errorf("dingtalktest: result %q is not agree, refuse or empty", result)
	}
	p.Result, p.FinishTime = result, s.now()
	if p.Status == "TERMINATED" {
		s.emitProcess(id, "terminate")
	} else {
		s.emitProcess(id, "finish")
	}
	return nil
}

// StartProcessInstance starts an approval as topapi/processinstance/create
// would, without recording a call: p names the process code (PROC-…), the
// originator, the department (-1 for the root) and the form; the fake
// fills in the id, title, status and times. With WithAutoEvents the start
// is pushed as bpms_instance_change. It returns the new instance.
func (s *Server) StartProcessInstance(p ProcessInstance) (ProcessInstance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := cloneInstance(&p)
	if msg := s.createInstance(&c, s.now()); msg != "" {
		return ProcessInstance{}, fmt.Errorf("dingtalktest: start process instance: %s", msg)
	}
	return cloneInstance(&c), nil
}

// createInstance validates and stores a new instance. It returns an error
// message for the caller's envelope.
func (s *Server) createInstance(p *ProcessInstance, now time.Time) string {
	if !strings.HasPrefix(p.ProcessCode, "PROC-") {
		return "process_code 不合法"
	}
	u := s.dir.users[p.OriginatorUserID]
	if u == nil {
		return "originator_user_id 不存在"
	}
	if p.DeptID != -1 && s.dir.depts[p.DeptID] == nil {
		return "dept_id 不存在"
	}
	if len(p.Form) == 0 {
		return "form_component_values 不能为空"
	}
	for _, a := range append(slices.Clone(p.Approvers), p.CCList...) {
		if s.dir.users[a] == nil {
			return "审批人或抄送人 " + a + " 不存在"
		}
	}
	s.processes.n++
	p.ID = opaqueID("proc", s.processes.n)[:8] + "-" + opaqueID("proc", s.processes.n)[8:12] + "-" + opaqueID("proc", s.processes.n)[12:28]
	p.Title = u.Name + "提交的审批"
	p.Status = "RUNNING"
	p.CreateTime = now
	p.BusinessID = now.In(chinaTime).Format("200601021504") + fmt.Sprintf("%06d", s.processes.n)
	s.processes.instances[p.ID] = p
	s.processes.order = append(s.processes.order, p.ID)
	s.emitProcess(p.ID, "start")
	return ""
}

// POST topapi/processinstance/create
func (s *Server) processCreate(rq *request) reply {
	p := &ProcessInstance{}
	p.ProcessCode, _ = rq.params.str("process_code")
	p.OriginatorUserID, _ = rq.params.str("originator_user_id")
	dept, hasDept, err := rq.params.int64("dept_id")
	if err != nil {
		return badParam(err)
	}
	switch {
	case p.ProcessCode == "":
		return missing("process_code")
	case p.OriginatorUserID == "":
		return missing("originator_user_id")
	case !hasDept:
		return missing("dept_id")
	}
	p.DeptID = dept
	if has, err := rq.params.decode("form_component_values", &p.Form); err != nil {
		return badParam(err)
	} else if !has {
		return missing("form_component_values")
	}
	if len(p.Form) > 200 {
		return fail(400002, "无效的参数: form_component_values 最多200个")
	}
	if a, has, err := rq.params.strList("approvers"); err != nil {
		return badParam(err)
	} else if has {
		p.Approvers = a
	}
	var v2 []struct {
		Type    string   `json:"task_action_type"`
		UserIDs []string `json:"user_ids"`
	}
	if has, err := rq.params.decode("approvers_v2", &v2); err != nil {
		return badParam(err)
	} else if has {
		if p.Approvers != nil {
			return fail(400002, "无效的参数: approvers 与 approvers_v2 只能传一个")
		}
		for _, n := range v2 {
			if (n.Type == "AND" || n.Type == "OR") && len(n.UserIDs) < 2 {
				return fail(400002, "无效的参数: 会签/或签节点至少2人")
			}
			p.Approvers = append(p.Approvers, n.UserIDs...)
		}
	}
	if len(p.Approvers) > 20 {
		return fail(400002, "无效的参数: 审批人最多20个")
	}
	if cc, has, err := rq.params.strList("cc_list"); err != nil {
		return badParam(err)
	} else if has && len(p.Approvers) > 0 {
		if len(cc) > 20 {
			return fail(400002, "无效的参数: cc_list 最多20个")
		}
		p.CCList = cc
	}
	if msg := s.createInstance(p, rq.now); msg != "" {
		return fail(400002, "无效的参数: "+msg)
	}
	return ok(map[string]any{"process_instance_id": p.ID})
}

func cstTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format("2006-01-02 15:04:05")
}

func (s *Server) deptName(id int64) string {
	if id == -1 {
		id = RootDeptID
	}
	if d := s.dir.depts[id]; d != nil {
		return d.Name
	}
	return ""
}

// POST topapi/processinstance/get
func (s *Server) processGet(rq *request) reply {
	id, _ := rq.params.str("process_instance_id")
	if id == "" {
		return missing("process_instance_id")
	}
	p := s.processes.instances[id]
	if p == nil {
		return fail(400002, "无效的参数: process_instance_id 不存在")
	}
	form := []map[string]any{}
	for i, f := range p.Form {
		form = append(form, map[string]any{"name": f.Name, "value": f.Value, "ext_value": f.ExtValue, "id": fmt.Sprintf("TextField-%d", i), "component_type": "TextField"})
	}
	records := []map[string]any{{"userid": p.OriginatorUserID, "date": cstTime(p.CreateTime), "operation_type": "START_PROCESS_INSTANCE", "operation_result": "NONE"}}
	tasks := []map[string]any{}
	for i, a := range p.Approvers {
		status, result := "RUNNING", "NONE"
		if p.Status != "RUNNING" {
			status = "COMPLETED"
			result = strings.ToUpper(p.Result)
			if result == "" {
				status, result = "CANCELED", "NONE"
			}
		}
		tasks = append(tasks, map[string]any{"userid": a, "task_status": status, "task_result": result, "create_time": cstTime(p.CreateTime),
			"finish_time": cstTime(p.FinishTime), "taskid": int64(60000000000 + i), "url": "", "activity_id": fmt.Sprintf("act-%d", i)})
	}
	return ok(map[string]any{"process_instance": map[string]any{
		"title": p.Title, "create_time": cstTime(p.CreateTime), "finish_time": cstTime(p.FinishTime),
		"originator_userid": p.OriginatorUserID, "originator_dept_id": strconv.FormatInt(p.DeptID, 10),
		"originator_dept_name": s.deptName(p.DeptID), "status": p.Status, "result": p.Result,
		"approver_userids": nonNil(p.Approvers), "cc_userids": nonNil(p.CCList), "business_id": p.BusinessID,
		"biz_action": "NONE", "attached_process_instance_ids": []string{}, "main_process_instance_id": "",
		"form_component_values": form, "operation_records": records, "tasks": tasks,
	}})
}

// listInstances filters ids by code, time window and originators.
func (s *Server) listInstances(code string, start, end time.Time, users []string, statuses []string) []string {
	var ids []string
	for _, id := range s.processes.order {
		p := s.processes.instances[id]
		if p.ProcessCode != code || p.CreateTime.Before(start) || (!end.IsZero() && p.CreateTime.After(end)) {
			continue
		}
		if len(users) > 0 && !slices.Contains(users, p.OriginatorUserID) {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, p.Status) {
			continue
		}
		ids = append(ids, id)
		if len(ids) == processListMaxTotal {
			break
		}
	}
	return ids
}

// checkWindow applies the listids time-window rules.
func checkWindow(now, start, end time.Time, hasEnd bool) string {
	day := 24 * time.Hour
	if !hasEnd {
		if now.Sub(start) > processListMaxDays*day {
			return "start_time 距今不能超过120天"
		}
		return ""
	}
	if end.Sub(start) > processListMaxDays*day || end.Before(start) {
		return "end_time 与 start_time 间隔不能超过120天"
	}
	if now.Sub(start) > processListMaxAge*day {
		return "start_time 距今不能超过365天"
	}
	return ""
}

// POST topapi/processinstance/listids
func (s *Server) processListIDs(rq *request) reply {
	code, _ := rq.params.str("process_code")
	if code == "" {
		return missing("process_code")
	}
	startMS, rep, bad := rq.params.needInt64("start_time")
	if bad {
		return rep
	}
	endMS, hasEnd, err := rq.params.int64("end_time")
	if err != nil {
		return badParam(err)
	}
	size, hasSize, err := rq.params.int64("size")
	if err != nil || (hasSize && (size < 1 || size > 20)) {
		return fail(40069, "不合法的分页大小(1-20)")
	}
	if !hasSize {
		size = 20
	}
	cursor, _, err := rq.params.int64("cursor")
	if err != nil || cursor < 0 {
		return fail(40068, "不合法的偏移量")
	}
	users, _, err := rq.params.strList("userid_list")
	if err != nil {
		return badParam(err)
	}
	if len(users) > 10 {
		return fail(400002, "无效的参数: userid_list 最多10个")
	}
	start, end := time.UnixMilli(startMS), time.Time{}
	if hasEnd {
		end = time.UnixMilli(endMS)
	}
	if msg := checkWindow(rq.now, start, end, hasEnd); msg != "" {
		return fail(400002, "无效的参数: "+msg)
	}
	ids := s.listInstances(code, start, end, users, nil)
	from := min(int(cursor), len(ids))
	to := min(from+int(size), len(ids))
	res := map[string]any{"list": nonNil(ids[from:to])}
	if to < len(ids) {
		res["next_cursor"] = to
	}
	return ok(map[string]any{"result": res})
}

// New API (/v1.0/workflow).

func v1BadParam(msg string) reply {
	return newFail(http.StatusBadRequest, "invalidParameter", msg)
}

// POST /v1.0/workflow/processInstances
func (s *Server) v1ProcessCreate(rq *request) reply {
	var in struct {
		OriginatorUserID string `json:"originatorUserId"`
		ProcessCode      string `json:"processCode"`
		DeptID           *int64 `json:"deptId"`
		MicroappAgentID  int64  `json:"microappAgentId"`
		Approvers        []struct {
			ActionType string   `json:"actionType"`
			UserIDs    []string `json:"userIds"`
		} `json:"approvers"`
		CCList              []string `json:"ccList"`
		CCPosition          string   `json:"ccPosition"`
		FormComponentValues []struct {
			Name     string `json:"name"`
			Value    string `json:"value"`
			ExtValue string `json:"extValue"`
		} `json:"formComponentValues"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	switch {
	case in.ProcessCode == "":
		return v1BadParam("processCode is mandatory")
	case in.OriginatorUserID == "":
		return v1BadParam("originatorUserId is mandatory")
	case len(in.FormComponentValues) == 0:
		return v1BadParam("formComponentValues is mandatory")
	case len(in.FormComponentValues) > 150:
		return v1BadParam("formComponentValues: at most 150")
	case len(in.CCList) > 50:
		return v1BadParam("ccList: at most 50")
	}
	p := &ProcessInstance{ProcessCode: in.ProcessCode, OriginatorUserID: in.OriginatorUserID, DeptID: -1, CCList: in.CCList}
	if in.DeptID != nil {
		p.DeptID = *in.DeptID
	}
	for _, a := range in.Approvers {
		if (a.ActionType == "AND" || a.ActionType == "OR") && len(a.UserIDs) < 2 {
			return v1BadParam("approvers: AND/OR needs at least 2 users")
		}
		p.Approvers = append(p.Approvers, a.UserIDs...)
	}
	for _, f := range in.FormComponentValues {
		p.Form = append(p.Form, FormValue{Name: f.Name, Value: f.Value, ExtValue: f.ExtValue})
	}
	if msg := s.createInstance(p, rq.now); msg != "" {
		return v1BadParam(msg)
	}
	return newOK(map[string]any{"instanceId": p.ID})
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04Z")
}

// GET /v1.0/workflow/processInstances?processInstanceId=
func (s *Server) v1ProcessGet(rq *request) reply {
	id := rq.r.URL.Query().Get("processInstanceId")
	if id == "" {
		return v1BadParam("processInstanceId is mandatory")
	}
	p := s.processes.instances[id]
	if p == nil {
		return newFail(http.StatusBadRequest, "invalidParameter.processInstanceId.notFound", "审批实例不存在")
	}
	form := []map[string]any{}
	for i, f := range p.Form {
		form = append(form, map[string]any{"name": f.Name, "value": f.Value, "extValue": f.ExtValue, "id": fmt.Sprintf("TextField-%d", i), "componentType": "TextField"})
	}
	tasks := []map[string]any{}
	for i, a := range p.Approvers {
		status, result := "RUNNING", "NONE"
		if p.Status != "RUNNING" {
			status, result = "COMPLETED", strings.ToUpper(p.Result)
			if result == "" {
				status, result = "CANCELED", "NONE"
			}
		}
		tasks = append(tasks, map[string]any{"taskId": int64(60000000000 + i), "userId": a, "status": status, "result": result,
			"createTime": isoTime(p.CreateTime), "finishTime": isoTime(p.FinishTime), "processInstanceId": p.ID, "activityId": fmt.Sprintf("act-%d", i)})
	}
	return newOK(map[string]any{"success": true, "result": map[string]any{
		"title": p.Title, "createTime": isoTime(p.CreateTime), "finishTime": isoTime(p.FinishTime),
		"originatorUserId": p.OriginatorUserID, "originatorDeptId": strconv.FormatInt(p.DeptID, 10),
		"originatorDeptName": s.deptName(p.DeptID), "status": p.Status, "result": p.Result,
		"approverUserIds": nonNil(p.Approvers), "ccUserIds": nonNil(p.CCList), "businessId": p.BusinessID,
		"bizAction": "NONE", "formComponentValues": form, "tasks": tasks,
		"operationRecords": []map[string]any{{"userId": p.OriginatorUserID, "date": isoTime(p.CreateTime), "type": "START_PROCESS_INSTANCE", "result": "NONE"}},
	}})
}

// POST /v1.0/workflow/processes/instanceIds/query
func (s *Server) v1ProcessListIDs(rq *request) reply {
	var in struct {
		ProcessCode string   `json:"processCode"`
		StartTime   int64    `json:"startTime"`
		EndTime     int64    `json:"endTime"`
		NextToken   flexInt  `json:"nextToken"`
		MaxResults  int64    `json:"maxResults"`
		UserIDs     []string `json:"userIds"`
		Statuses    []string `json:"statuses"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	switch {
	case in.ProcessCode == "":
		return v1BadParam("processCode is mandatory")
	case in.StartTime == 0:
		return v1BadParam("startTime is mandatory")
	case in.MaxResults < 0 || in.MaxResults > 20:
		return v1BadParam("maxResults must be 1-20")
	case in.NextToken < 0:
		return v1BadParam("nextToken is invalid")
	}
	if in.MaxResults == 0 {
		in.MaxResults = 20
	}
	start, end := time.UnixMilli(in.StartTime), time.Time{}
	if in.EndTime != 0 {
		end = time.UnixMilli(in.EndTime)
	}
	if msg := checkWindow(rq.now, start, end, in.EndTime != 0); msg != "" {
		return v1BadParam(msg)
	}
	ids := s.listInstances(in.ProcessCode, start, end, in.UserIDs, in.Statuses)
	from := min(int(in.NextToken), len(ids))
	to := min(from+int(in.MaxResults), len(ids))
	res := map[string]any{"list": nonNil(ids[from:to])}
	if to < len(ids) {
		res["nextToken"] = strconv.Itoa(to)
	}
	return newOK(map[string]any{"success": true, "result": res})
}

// flexInt accepts a JSON number or a numeric string, since the reply's
// nextToken is a string that clients send back.
type flexInt int64

// UnmarshalJSON accepts 42, "42", "" and null.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexInt(n)
	return nil
}
