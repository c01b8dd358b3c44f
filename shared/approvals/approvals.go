// Package approvals keeps the approval (OA 审批) instances dingfn has heard
// about in the store table "approvals", so your services read an
// approval's status, result, form and tasks without calling DingTalk.
//
// The callback's built-in handler for bpms_instance_change and
// bpms_task_change calls Writer.Sync with the instance id the event
// names: Sync fetches the whole instance from DingTalk (the event carries
// only a summary) and stores it, unless the stored row is newer.
//
// # Table
//
// Logical name "approvals" (DINGFN_TABLE_PREFIX applies), keyed by the
// process instance id; the JSON value is Approval:
//
//	{"process_instance_id","process_code","title","status","result",
//	 "originator_userid","originator_dept_id","business_id","biz_action",
//	 "create_time","finish_time","approver_userids":[…],"cc_userids":[…],
//	 "form_values":[{"id","name","value","ext_value","component_type"}],
//	 "tasks":[{"task_id","userid","status","result","create_time","finish_time","activity_id"}],
//	 "operation_records":[{"userid","date","type","result","remark"}],
//	 "hash","fetched_at","changed_at"}
//
// status is NEW, RUNNING, TERMINATED, COMPLETED or CANCELED; result
// agree or refuse (COMPLETED + agree is approved). Times are DingTalk's
// strings. Rows never expire.
//
// # Newer never loses to older
//
// Two fetches of one instance (an event and its redelivery, a task event
// and an instance event) may finish in either order. A row is replaced
// only by a fetch that is at least as far along — status ranks NEW <
// RUNNING < the final ones — and, at the same rank, started no earlier
// than the stored one (fetched_at); the comparison and the write are one
// conditional write (record.Update). An unchanged instance costs no write.
package approvals

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// Table is the logical table of approvals.
const Table = "approvals"

// Approval is an approval instance as the table keeps it.
type Approval struct {
	ProcessInstanceID string      `json:"process_instance_id"`
	ProcessCode       string      `json:"process_code,omitempty"`
	Title             string      `json:"title"`
	Status            string      `json:"status"`
	Result            string      `json:"result"`
	OriginatorUserID  string      `json:"originator_userid"`
	OriginatorDeptID  string      `json:"originator_dept_id,omitempty"`
	BusinessID        string      `json:"business_id,omitempty"`
	BizAction         string      `json:"biz_action,omitempty"`
	CreateTime        string      `json:"create_time,omitempty"`
	FinishTime        string      `json:"finish_time,omitempty"`
	ApproverUserIDs   []string    `json:"approver_userids,omitempty"`
	CCUserIDs         []string    `json:"cc_userids,omitempty"`
	FormValues        []FormValue `json:"form_values"`
	Tasks             []Task      `json:"tasks"`
	OperationRecords  []Operation `json:"operation_records,omitempty"`
	// Hash covers every field above; a fetch with the same hash is not
	// written.
	Hash string `json:"hash"`
	// FetchedAt is when the fetch that produced the row started.
	FetchedAt time.Time `json:"fetched_at"`
	// ChangedAt is when the row last changed.
	ChangedAt time.Time `json:"changed_at"`
}

// FormValue is one form field.
type FormValue struct {
	ID            string `json:"id,omitempty"`
	Name          string `json:"name"`
	Value         string `json:"value"`
	ExtValue      string `json:"ext_value,omitempty"`
	ComponentType string `json:"component_type,omitempty"`
}

// Task is one approver's task.
type Task struct {
	TaskID     string `json:"task_id"`
	UserID     string `json:"userid"`
	Status     string `json:"status"`
	Result     string `json:"result,omitempty"`
	CreateTime string `json:"create_time,omitempty"`
	FinishTime string `json:"finish_time,omitempty"`
	ActivityID string `json:"activity_id,omitempty"`
}

// Operation is one entry of the instance's history.
type Operation struct {
	UserID string `json:"userid"`
	Date   string `json:"date,omitempty"`
	Type   string `json:"type,omitempty"`
	Result string `json:"result,omitempty"`
	Remark string `json:"remark,omitempty"`
}

// rank orders statuses by progress; an instance never goes back.
func rank(status string) int {
	switch status {
	case "NEW":
		return 1
	case "RUNNING":
		return 2
	case "COMPLETED", "TERMINATED", "CANCELED":
		return 3
	default:
		return 0
	}
}

// API is the DingTalk call Sync needs: *dingtalk.ProcessService.
type API interface {
	GetInstance(ctx context.Context, instanceID string) (*dingtalk.ProcessInstance, error)
}

var _ API = (*dingtalk.ProcessService)(nil)

// Writer fetches approval instances and stores them.
type Writer struct {
	st  store.Store
	api API
	now func() time.Time
}

// NewWriter returns a Writer storing into st what api returns; now is the
// clock of fetched_at and changed_at (nil: time.Now).
func NewWriter(st store.Store, api API, now func() time.Time) (*Writer, error) {
	if st == nil || api == nil {
		return nil, errors.New("approvals: NewWriter needs a store and a DingTalk client")
	}
	if now == nil {
		now = time.Now
	}
	return &Writer{st: st, api: api, now: now}, nil
}

// Change says what Sync did.
type Change string

// The changes Sync reports.
const (
	Created   Change = "created"
	Updated   Change = "updated"
	Unchanged Change = "unchanged"
	// Stale: the stored row was newer than this fetch, and was kept.
	Stale Change = "stale"
)

// Sync fetches instance id from DingTalk and stores it unless the stored
// row is newer (see the package documentation). processCode, which the
// event carries and the instance does not, is kept when given ("" keeps
// the stored one).
func (w *Writer) Sync(ctx context.Context, id, processCode string) (Change, error) {
	if id == "" {
		return "", errors.New("approvals: Sync: empty instance id")
	}
	started := w.now().UTC()
	p, err := w.api.GetInstance(ctx, id)
	if err != nil {
		return "", fmt.Errorf("approvals: fetch %s: %w", id, err)
	}
	fetched := fromInstance(id, p)
	fetched.FetchedAt = started
	var change Change
	_, err = record.Update(ctx, w.st, Table, id, func(cur Approval, found bool) (Approval, error) {
		next := fetched
		next.ProcessCode = processCode
		if next.ProcessCode == "" {
			next.ProcessCode = cur.ProcessCode
		}
		next.Hash = hash(next)
		switch {
		case !found:
			change = Created
		case rank(next.Status) < rank(cur.Status) || (rank(next.Status) == rank(cur.Status) && next.FetchedAt.Before(cur.FetchedAt)):
			change = Stale
			return cur, record.ErrNoChange
		case cur.Hash == next.Hash:
			change = Unchanged
			return cur, record.ErrNoChange
		default:
			change = Updated
		}
		next.ChangedAt = w.now().UTC()
		return next, nil
	}, record.WithReplaceMalformed())
	if err != nil {
		return "", fmt.Errorf("approvals: store %s: %w", id, err)
	}
	return change, nil
}

// Get returns the stored approval, or an error matching store.ErrNotFound.
func Get(ctx context.Context, st store.Store, id string) (Approval, error) {
	r, err := record.Get[Approval](ctx, st, Table, id)
	if err != nil {
		return Approval{}, fmt.Errorf("approvals: %s: %w", id, err)
	}
	return r.Value, nil
}

// fromInstance builds the row of instance id from DingTalk's answer
// (without the fetch times).
func fromInstance(id string, p *dingtalk.ProcessInstance) Approval {
	a := Approval{
		ProcessInstanceID: id, Title: p.Title, Status: p.Status, Result: p.Result,
		OriginatorUserID: p.OriginatorUserID, OriginatorDeptID: p.OriginatorDeptID,
		BusinessID: p.BusinessID, BizAction: p.BizAction, CreateTime: p.CreateTime, FinishTime: p.FinishTime,
		ApproverUserIDs: p.ApproverUserIDs, CCUserIDs: p.CCUserIDs,
		FormValues: []FormValue{}, Tasks: []Task{},
	}
	for _, f := range p.FormComponentValues {
		a.FormValues = append(a.FormValues, FormValue{ID: f.ID, Name: f.Name, Value: f.Value, ExtValue: f.ExtValue, ComponentType: f.ComponentType})
	}
	for _, t := range p.Tasks {
		a.Tasks = append(a.Tasks, Task{TaskID: strconv.FormatInt(t.TaskID, 10), UserID: t.UserID, Status: t.Status, Result: t.Result,
			CreateTime: t.CreateTime, FinishTime: t.FinishTime, ActivityID: t.ActivityID})
	}
	for _, o := range p.OperationRecords {
		a.OperationRecords = append(a.OperationRecords, Operation{UserID: o.UserID, Date: o.Date, Type: o.Type, Result: o.Result, Remark: o.Remark})
	}
	return a
}

// hash covers the content fields: all but the hash and the times.
func hash(a Approval) string {
	a.Hash, a.FetchedAt, a.ChangedAt = "", time.Time{}, time.Time{}
	b, _ := json.Marshal(a)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
