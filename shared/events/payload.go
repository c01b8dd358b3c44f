package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// Family groups event types that share a payload shape.
type Family string

// The families with typed payloads; every other type is FamilyOther and
// read from Event.Payload directly.
const (
	FamilyUser             Family = "user"              // UserChange
	FamilyLabel            Family = "label"             // LabelChange
	FamilyDepartment       Family = "department"        // DepartmentChange
	FamilyApprovalInstance Family = "approval_instance" // ApprovalInstance
	FamilyApprovalTask     Family = "approval_task"     // ApprovalTask
	FamilyOrg              Family = "org"               // OrgChange
	FamilyOther            Family = "other"
)

var families = map[string]Family{
	"user_add_org":         FamilyUser,
	"user_modify_org":      FamilyUser,
	"user_leave_org":       FamilyUser,
	"user_active_org":      FamilyUser,
	"org_admin_add":        FamilyUser,
	"org_admin_remove":     FamilyUser,
	"label_user_change":    FamilyLabel,
	"org_dept_create":      FamilyDepartment,
	"org_dept_modify":      FamilyDepartment,
	"org_dept_remove":      FamilyDepartment,
	"bpms_instance_change": FamilyApprovalInstance,
	"bpms_task_change":     FamilyApprovalTask,
	"org_change":           FamilyOrg,
	"org_remove":           FamilyOrg,
}

// FamilyOf returns the family of an event type.
func FamilyOf(eventType string) Family {
	if f, ok := families[eventType]; ok {
		return f
	}
	return FamilyOther
}

// ErrWrongFamily is matched by the *ParseError of a typed accessor called
// on an event of another family (User on an approval event, say).
var ErrWrongFamily = errors.New("event is not of this family")

// ParseError is the error of a typed accessor: the payload does not have
// the shape its type promises. It is permanent (errors.Is ErrPermanent):
// a handler that returns it is not retried, since the payload will not
// change.
type ParseError struct {
	ID     string
	Type   string
	Family Family
	// Field is the payload key at fault, "" for the payload as a whole.
	Field string
	Err   error
}

// Error names the event, the family and the field.
func (e *ParseError) Error() string {
	where := ""
	if e.Field != "" {
		where = " field " + e.Field
	}
	return fmt.Sprintf("events: event %s (%s) as %s%s: %v", e.ID, e.Type, e.Family, where, e.Err)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// Is makes a ParseError match ErrPermanent.
func (e *ParseError) Is(target error) bool { return target == ErrPermanent }

// UserChange is the payload of the user family: user_add_org,
// user_modify_org, user_leave_org, user_active_org, org_admin_add and
// org_admin_remove.
type UserChange struct {
	UserIDs []string `json:"user_ids"`
	// Operator is the userid of who made the change (OptStaffId), when
	// DingTalk says.
	Operator string `json:"operator,omitempty"`
	// Diff is user_modify_org's diffInfo (console pushes only): the
	// changed fields before and after, as DingTalk sends them.
	Diff *UserDiff `json:"diff,omitempty"`
}

// UserDiff is user_modify_org's diffInfo.
type UserDiff struct {
	UserID string          `json:"userid"`
	Prev   json.RawMessage `json:"prev,omitempty"`
	Curr   json.RawMessage `json:"curr,omitempty"`
}

// LabelChange is label_user_change: users' roles (角色) changed.
type LabelChange struct {
	UserIDs  []string `json:"user_ids"`
	LabelIDs []int64  `json:"label_ids"`
	// Action is "add" or "remove", as DingTalk sends it.
	Action string `json:"action,omitempty"`
}

// DepartmentChange is the payload of org_dept_create, org_dept_modify and
// org_dept_remove.
type DepartmentChange struct {
	DeptIDs  []int64 `json:"dept_ids"`
	Operator string  `json:"operator,omitempty"`
}

// ApprovalInstance is bpms_instance_change: an approval (审批) instance
// started, finished or was revoked.
type ApprovalInstance struct {
	ProcessInstanceID string `json:"process_instance_id"`
	ProcessCode       string `json:"process_code,omitempty"`
	Title             string `json:"title,omitempty"`
	// Kind is the payload's type: "start", "finish" or "terminate".
	Kind string `json:"kind,omitempty"`
	// Result is "agree" or "refuse" on finish.
	Result string `json:"result,omitempty"`
	// StaffID is the originator's userid.
	StaffID    string    `json:"staff_id,omitempty"`
	BusinessID string    `json:"business_id,omitempty"`
	URL        string    `json:"url,omitempty"`
	CreateTime time.Time `json:"create_time,omitzero"`
	FinishTime time.Time `json:"finish_time,omitzero"`
}

// ApprovalTask is bpms_task_change: an approver's task started, finished
// or was cancelled.
type ApprovalTask struct {
	ProcessInstanceID string `json:"process_instance_id"`
	ProcessCode       string `json:"process_code,omitempty"`
	Title             string `json:"title,omitempty"`
	TaskID            int64  `json:"task_id,omitempty"`
	// Kind is "start", "finish" or "cancel".
	Kind string `json:"kind,omitempty"`
	// Result is "agree", "refuse" or "redirect" (a transfer).
	Result string `json:"result,omitempty"`
	// StaffID is the approver's userid.
	StaffID    string    `json:"staff_id,omitempty"`
	Remark     string    `json:"remark,omitempty"`
	BusinessID string    `json:"business_id,omitempty"`
	CreateTime time.Time `json:"create_time,omitzero"`
	FinishTime time.Time `json:"finish_time,omitzero"`
}

// OrgChange is org_change (the organisation's details changed) and
// org_remove (it was dissolved): only the envelope, which Event already
// carries.
type OrgChange struct {
	CorpID string    `json:"corp_id"`
	Time   time.Time `json:"time,omitzero"`
}

// User returns the payload of a user-family event.
func (e *Event) User() (UserChange, error) {
	var w struct {
		UserID     stringList `json:"UserId"`
		OptStaffID string     `json:"OptStaffId"`
		DiffInfo   *UserDiff  `json:"diffInfo"`
	}
	if err := e.decode(FamilyUser, &w); err != nil {
		return UserChange{}, err
	}
	if len(w.UserID) == 0 {
		return UserChange{}, e.parseError(FamilyUser, "UserId", errors.New("no user ids"))
	}
	return UserChange{UserIDs: w.UserID, Operator: w.OptStaffID, Diff: w.DiffInfo}, nil
}

// Label returns the payload of label_user_change.
func (e *Event) Label() (LabelChange, error) {
	var w struct {
		UserIDList  stringList `json:"userIdList"`
		UserID      stringList `json:"UserId"` // failed-push records
		LabelIDList int64List  `json:"labelIdList"`
		Action      string     `json:"action"`
	}
	if err := e.decode(FamilyLabel, &w); err != nil {
		return LabelChange{}, err
	}
	users := w.UserIDList
	if len(users) == 0 {
		users = w.UserID
	}
	if len(users) == 0 {
		return LabelChange{}, e.parseError(FamilyLabel, "userIdList", errors.New("no user ids"))
	}
	return LabelChange{UserIDs: users, LabelIDs: w.LabelIDList, Action: w.Action}, nil
}

// Department returns the payload of a department event.
func (e *Event) Department() (DepartmentChange, error) {
	var w struct {
		DeptID     int64List `json:"DeptId"`
		OptStaffID string    `json:"OptStaffId"`
	}
	if err := e.decode(FamilyDepartment, &w); err != nil {
		return DepartmentChange{}, err
	}
	if len(w.DeptID) == 0 {
		return DepartmentChange{}, e.parseError(FamilyDepartment, "DeptId", errors.New("no department ids"))
	}
	return DepartmentChange{DeptIDs: w.DeptID, Operator: w.OptStaffID}, nil
}

// approvalFields are the fields both approval events share.
type approvalFields struct {
	ProcessInstanceID string    `json:"processInstanceId"`
	ProcessCode       string    `json:"processCode"`
	Title             string    `json:"title"`
	Type              string    `json:"type"`
	Result            string    `json:"result"`
	StaffID           string    `json:"staffId"`
	BusinessID        string    `json:"businessId"`
	CreateTime        flexTime  `json:"createTime"`
	FinishTime        flexTime  `json:"finishTime"`
	URL               string    `json:"url"`
	Remark            string    `json:"remark"`
	TaskID            flexInt64 `json:"taskId"`
}

func (e *Event) approval(f Family) (approvalFields, error) {
	var w approvalFields
	if err := e.decode(f, &w); err != nil {
		return w, err
	}
	if w.ProcessInstanceID == "" {
		return w, e.parseError(f, "processInstanceId", errors.New("missing"))
	}
	return w, nil
}

// ApprovalInstance returns the payload of bpms_instance_change.
func (e *Event) ApprovalInstance() (ApprovalInstance, error) {
	w, err := e.approval(FamilyApprovalInstance)
	if err != nil {
		return ApprovalInstance{}, err
	}
	return ApprovalInstance{
		ProcessInstanceID: w.ProcessInstanceID, ProcessCode: w.ProcessCode, Title: w.Title, Kind: w.Type,
		Result: w.Result, StaffID: w.StaffID, BusinessID: w.BusinessID, URL: w.URL,
		CreateTime: time.Time(w.CreateTime), FinishTime: time.Time(w.FinishTime),
	}, nil
}

// ApprovalTask returns the payload of bpms_task_change.
func (e *Event) ApprovalTask() (ApprovalTask, error) {
	w, err := e.approval(FamilyApprovalTask)
	if err != nil {
		return ApprovalTask{}, err
	}
	return ApprovalTask{
		ProcessInstanceID: w.ProcessInstanceID, ProcessCode: w.ProcessCode, Title: w.Title, TaskID: int64(w.TaskID),
		Kind: w.Type, Result: w.Result, StaffID: w.StaffID, Remark: w.Remark, BusinessID: w.BusinessID,
		CreateTime: time.Time(w.CreateTime), FinishTime: time.Time(w.FinishTime),
	}, nil
}

// Org returns the payload of org_change and org_remove.
func (e *Event) Org() (OrgChange, error) {
	var w struct{}
	if err := e.decode(FamilyOrg, &w); err != nil {
		return OrgChange{}, err
	}
	return OrgChange{CorpID: e.CorpID, Time: e.Time}, nil
}

// decode checks the family and unmarshals the payload into w; encoding/json
// matches keys case-insensitively, which DingTalk's mixed spellings need.
func (e *Event) decode(f Family, w any) error {
	if got := FamilyOf(e.Type); got != f {
		return e.parseError(f, "", fmt.Errorf("%w: %s is %s", ErrWrongFamily, e.Type, got))
	}
	if err := json.Unmarshal(e.Payload, w); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		}
		return e.parseError(f, field, err)
	}
	return nil
}

func (e *Event) parseError(f Family, field string, err error) error {
	return &ParseError{ID: e.ID, Type: e.Type, Family: f, Field: field, Err: err}
}

// stringList reads ["a","b"], "a", numbers, or an array written as a JSON
// string ("[\"a\"]"), all of which DingTalk sends for id lists.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	raw, err := listElems(b)
	if err != nil {
		return err
	}
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		var s string
		if json.Unmarshal(e, &s) == nil {
			if s != "" {
				out = append(out, s)
			}
			continue
		}
		var n json.Number
		if err := json.Unmarshal(e, &n); err != nil {
			return typeError(e, reflect.TypeFor[stringList]())
		}
		out = append(out, n.String())
	}
	*l = out
	return nil
}

// int64List reads [1,2], ["1","2"], 1, "1" or "[1,2]".
type int64List []int64

func (l *int64List) UnmarshalJSON(b []byte) error {
	raw, err := listElems(b)
	if err != nil {
		return err
	}
	out := make([]int64, 0, len(raw))
	for _, e := range raw {
		var n flexInt64
		if err := n.UnmarshalJSON(e); err != nil {
			return err
		}
		out = append(out, int64(n))
	}
	*l = out
	return nil
}

// listElems returns the elements of a JSON array, of an array encoded as
// a JSON string, or the single scalar b; null is empty.
func listElems(b []byte) ([]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace([]byte(s)); len(t) > 0 && t[0] == '[' {
			b = t
		} else if s == "" {
			return nil, nil
		}
	}
	if len(b) > 0 && b[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return nil, err
		}
		return arr, nil
	}
	return []json.RawMessage{b}, nil
}

// flexInt64 reads a JSON number or a numeric string.
type flexInt64 int64

func (n *flexInt64) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" || s == `""` {
		return nil
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return typeError(b, reflect.TypeFor[int64]())
	}
	*n = flexInt64(v)
	return nil
}

// typeError reports a value of the wrong kind in the shape encoding/json
// uses, so the decoder adds the field's name.
func typeError(v []byte, t reflect.Type) error {
	desc := string(v)
	if len(desc) > 40 {
		desc = desc[:40] + "…"
	}
	return &json.UnmarshalTypeError{Value: desc, Type: t}
}

// flexTime reads a DingTalk timestamp: a number or a numeric string, in
// seconds or milliseconds (dingcrypto.ParseTimestamp). Zero is absent.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	var n flexInt64
	if err := n.UnmarshalJSON(b); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	v, err := dingcrypto.ParseTimestamp(strconv.FormatInt(int64(n), 10))
	if err != nil {
		return err
	}
	*t = flexTime(v.UTC())
	return nil
}
