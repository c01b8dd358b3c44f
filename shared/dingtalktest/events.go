package dingtalktest

import (
	"slices"
	"strconv"
)

// UserEvent builds a contact event about users (user_add_org,
// user_modify_org, user_leave_org, user_active_org, org_admin_add, …) in
// the shape register_call_back subscriptions receive, as observed on the
// wire: string TimeStamp and the operator in OptStaffId.
func (s *Server) UserEvent(eventType string, userIDs ...string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{
		"EventType": eventType, "UserId": slices.Clone(userIDs), "CorpId": s.corpID,
		"TimeStamp": strconv.FormatInt(s.now().UnixMilli(), 10), "OptStaffId": s.operator(),
	}
}

// DeptEvent builds a department event (org_dept_create, org_dept_modify,
// org_dept_remove) in the register_call_back shape.
func (s *Server) DeptEvent(eventType string, deptIDs ...int64) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{
		"EventType": eventType, "DeptId": slices.Clone(deptIDs), "CorpId": s.corpID,
		"TimeStamp": strconv.FormatInt(s.now().UnixMilli(), 10), "OptStaffId": s.operator(),
	}
}

// ProcessEvent builds a bpms_instance_change event for an instance created
// through the fake: type "start", or "finish" with its result, or
// "terminate". ok is false for an unknown instance.
func (s *Server) ProcessEvent(instanceID, typ string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.processes.instances[instanceID]
	if p == nil {
		return nil, false
	}
	ev := map[string]any{
		"EventType": "bpms_instance_change", "processInstanceId": p.ID, "processCode": p.ProcessCode,
		"corpId": s.corpID, "CorpId": s.corpID, "createTime": p.CreateTime.UnixMilli(), "title": p.Title,
		"type": typ, "staffId": p.OriginatorUserID, "businessId": p.BusinessID,
		"EventTime": s.now().UnixMilli(),
	}
	if typ != "start" && !p.FinishTime.IsZero() {
		ev["finishTime"] = p.FinishTime.UnixMilli()
	}
	if typ == "finish" && p.Result != "" {
		ev["result"] = p.Result
	}
	return ev, true
}

// operator is the admin who "made" a change: the first admin, if any.
func (s *Server) operator() string {
	for _, id := range s.dir.ids() {
		if s.dir.users[id].Admin {
			return id
		}
	}
	return ""
}
