package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/schedule"
)

// bodyLimit bounds the JSON body of a console action.
const bodyLimit = 64 << 10

// syncState is the console's sync: the run it started, and the last tick
// it saw.
type syncState struct {
	running   bool
	startedAt time.Time
	progress  *directory.Report
	last      *TickView
}

// SyncProgress takes the directory walk's report so far during a sync the
// console started (pass it to the walk's progress option); the page
// shows it as the progress of "sync now".
func (c *Console) SyncProgress(r directory.Report) {
	c.mu.Lock()
	if c.sync.running {
		c.sync.progress = &r
	}
	c.mu.Unlock()
	c.Publish(TopicSync)
}

// RecordSync takes the report of a tick the sync timer ran, so the page
// shows the last tick whichever way it ran. A tick in which no step was
// due is not recorded.
func (c *Console) RecordSync(rep *schedule.Report, err error) {
	c.recordTick("timer", rep, err)
}

func (c *Console) recordTick(trigger string, rep *schedule.Report, err error) {
	if err == nil && (rep == nil || !slices.ContainsFunc(rep.Steps, func(s schedule.StepReport) bool { return s.Status != schedule.StatusNotDue })) {
		return
	}
	v := tickView(c.now(), trigger, rep, err)
	c.mu.Lock()
	c.sync.last = v
	c.mu.Unlock()
	c.Publish(TopicSync, TopicMirror, TopicNotices)
}

// postSync starts the sync tick's steps now; the stream shows its
// progress and its report.
func (c *Console) postSync(w http.ResponseWriter, r *http.Request) {
	if c.src.Sync == nil {
		httpapi.WriteErrorBody(w, r, http.StatusNotImplemented, httpapi.ErrorBody{Error: "not_configured", Missing: "sync",
			Message: "this console has no sync runner"})
		return
	}
	var body struct{}
	if r.ContentLength != 0 {
		if httpapi.DecodeJSON(w, r, &body, bodyLimit) != nil {
			return
		}
	}
	c.mu.Lock()
	if c.sync.running {
		at := c.sync.startedAt
		c.mu.Unlock()
		httpapi.WriteError(w, r, http.StatusConflict, "sync_running", fmt.Sprintf("a sync the console started at %s is still running", at.UTC().Format(time.RFC3339)))
		return
	}
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		httpapi.WriteError(w, r, http.StatusServiceUnavailable, "closing", "the console is shutting down")
		return
	}
	c.sync.running, c.sync.startedAt, c.sync.progress = true, c.now(), nil
	c.wg.Add(1)
	c.mu.Unlock()
	go c.runSync()
	c.Publish(TopicSync)
	v, err := c.syncView(r.Context())
	if err != nil {
		httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"running": true})
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, v)
}

func (c *Console) runSync() {
	defer c.wg.Done()
	rep, err := c.src.Sync.RunNow(c.ctx)
	if err != nil {
		c.log.Warn("console: sync now failed", "err", err)
	}
	c.mu.Lock()
	c.sync.running, c.sync.progress = false, nil
	c.sync.last = tickView(c.now(), "console", rep, err)
	c.mu.Unlock()
	c.Publish(TopicSync, TopicMirror, TopicNotices, TopicOverview)
}

// NoticeForm is the body of POST /console/api/notices: a text or
// markdown work notice (工作通知) to userids, departments or everyone.
type NoticeForm struct {
	UserIDs []string `json:"userids"`
	DeptIDs []int64  `json:"dept_ids"`
	ToAll   bool     `json:"to_all"`
	// MsgType is "text" or "markdown"; Title is a markdown notice's title.
	MsgType string `json:"msgtype"`
	Title   string `json:"title"`
	Content string `json:"content"`
}

// postNotice sends the form's notice through notify, as the API would
// for the caller "console".
func (c *Console) postNotice(w http.ResponseWriter, r *http.Request) {
	if c.src.Notify == nil {
		httpapi.WriteErrorBody(w, r, http.StatusNotImplemented, httpapi.ErrorBody{Error: "not_configured", Missing: "notify",
			Message: "this console has no notify service"})
		return
	}
	var f NoticeForm
	if httpapi.DecodeJSON(w, r, &f, bodyLimit) != nil {
		return
	}
	req := notify.NoticeRequest{UserIDs: f.UserIDs, DeptIDs: f.DeptIDs, ToAll: f.ToAll}
	switch f.MsgType {
	case "text":
		req.Msg = dingtalk.TextMessage(f.Content)
	case "markdown":
		req.Msg = dingtalk.MarkdownMessage(f.Title, f.Content)
	default:
		httpapi.WriteErrorBody(w, r, http.StatusBadRequest, httpapi.ErrorBody{Error: "invalid_request", Field: "msgtype", Rule: "enum",
			Message: fmt.Sprintf("msgtype %q: the form sends text or markdown (the API at /notify/v1/notices takes every type)", truncate(f.MsgType, 40))})
		return
	}
	a, err := c.src.Notify.SendNotice(r.Context(), c.caller, req)
	c.Publish(TopicNotices)
	if err != nil {
		notify.AsError(err).Write(w, r)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, a)
}

// simulatorAction is the body of POST /console/api/simulator/{action};
// each action reads the fields it needs.
type simulatorAction struct {
	UserID   string  `json:"userid"`
	Name     string  `json:"name"`
	Title    string  `json:"title"`
	DeptID   int64   `json:"dept_id"`
	DeptIDs  []int64 `json:"dept_ids"`
	ParentID int64   `json:"parent_id"`
	// Approvers start an approval; InstanceID and Result finish one.
	Approvers  []string `json:"approvers"`
	InstanceID string   `json:"instance_id"`
	Result     string   `json:"result"`
}

// SimulatorActions are the actions of POST /console/api/simulator/{action}.
var SimulatorActions = []string{
	"add-user", "rename-user", "move-user", "remove-user",
	"add-department", "rename-department", "remove-department",
	"start-approval", "finish-approval",
}

// postSimulator makes the simulated DingTalk change its organisation or
// its approvals; it pushes the resulting event to the callback, as
// DingTalk does, and the stream shows the event and the mirror's change.
func (c *Console) postSimulator(w http.ResponseWriter, r *http.Request) {
	fake := c.src.Simulator
	action := r.PathValue("action")
	switch {
	case fake == nil:
		httpapi.WriteErrorBody(w, r, http.StatusNotImplemented, httpapi.ErrorBody{Error: "not_configured", Missing: "simulator",
			Message: "the console runs against a real DingTalk; the simulator's buttons are in dingfn dev without DINGTALK_APP_KEY"})
		return
	case !slices.Contains(SimulatorActions, action):
		httpapi.WriteError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("no simulator action %q; actions: %s",
			truncate(action, 40), strings.Join(SimulatorActions, ", ")))
		return
	}
	var a simulatorAction
	if httpapi.DecodeJSON(w, r, &a, bodyLimit) != nil {
		return
	}
	if field, msg := a.missing(action); field != "" {
		httpapi.WriteErrorBody(w, r, http.StatusBadRequest, httpapi.ErrorBody{Error: "invalid_request", Field: field, Rule: "required", Message: msg})
		return
	}
	result, err := a.apply(fake, action)
	if err != nil {
		httpapi.WriteError(w, r, http.StatusBadRequest, "simulator_refused", err.Error())
		return
	}
	c.Publish(TopicSimulator, TopicApprovals)
	httpapi.WriteJSON(w, http.StatusOK, result)
}

// missing names the first field an action needs that the body lacks.
func (a simulatorAction) missing(action string) (field, message string) {
	need := func(ok bool, field, what string) (string, string) {
		if ok {
			return "", ""
		}
		return field, fmt.Sprintf("%s needs %s", action, what)
	}
	switch action {
	case "add-user":
		if f, m := need(strings.TrimSpace(a.Name) != "", "name", "the person's name"); f != "" {
			return f, m
		}
		return need(a.DeptID != 0 || len(a.DeptIDs) > 0, "dept_id", "a department")
	case "rename-user":
		if f, m := need(a.UserID != "", "userid", "the userid"); f != "" {
			return f, m
		}
		return need(strings.TrimSpace(a.Name) != "", "name", "the new name")
	case "move-user":
		if f, m := need(a.UserID != "", "userid", "the userid"); f != "" {
			return f, m
		}
		return need(a.DeptID != 0 || len(a.DeptIDs) > 0, "dept_ids", "the departments to put the person in")
	case "remove-user":
		return need(a.UserID != "", "userid", "the userid")
	case "add-department":
		if f, m := need(strings.TrimSpace(a.Name) != "", "name", "the department's name"); f != "" {
			return f, m
		}
		return need(a.ParentID != 0, "parent_id", "the parent department")
	case "rename-department":
		if f, m := need(a.DeptID != 0, "dept_id", "the department"); f != "" {
			return f, m
		}
		return need(strings.TrimSpace(a.Name) != "", "name", "the new name")
	case "remove-department":
		return need(a.DeptID != 0, "dept_id", "the department")
	case "start-approval":
		return need(a.UserID != "", "userid", "the originator's userid")
	case "finish-approval":
		if f, m := need(a.InstanceID != "", "instance_id", "the approval instance"); f != "" {
			return f, m
		}
		return need(a.Result == "agree" || a.Result == "refuse" || a.Result == "terminate", "result", "result agree, refuse or terminate")
	}
	return "", ""
}

// SimulatorResult is the answer to a simulator action.
type SimulatorResult struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	// UserID, DeptID and InstanceID name what an action created.
	UserID     string `json:"userid,omitempty"`
	DeptID     int64  `json:"dept_id,omitempty"`
	InstanceID string `json:"instance_id,omitempty"`
}

func (a simulatorAction) depts() []int64 {
	if len(a.DeptIDs) > 0 {
		return a.DeptIDs
	}
	return []int64{a.DeptID}
}

// apply carries an action out on the simulated DingTalk.
func (a simulatorAction) apply(fake *dingtalktest.Server, action string) (SimulatorResult, error) {
	pushed := " DingTalk pushes the event to the callback."
	switch action {
	case "add-user":
		u, err := fake.AddUser(dingtalktest.User{UserID: a.UserID, Name: strings.TrimSpace(a.Name), Title: a.Title, DeptIDs: a.depts()})
		if err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, UserID: u.UserID, Message: fmt.Sprintf("%s (%s) joined.%s", u.Name, u.UserID, pushed)}, nil
	case "rename-user":
		if err := fake.RenameUser(a.UserID, strings.TrimSpace(a.Name)); err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, UserID: a.UserID, Message: fmt.Sprintf("%s is now called %s.%s", a.UserID, strings.TrimSpace(a.Name), pushed)}, nil
	case "move-user":
		if err := fake.MoveUser(a.UserID, a.depts()...); err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, UserID: a.UserID, Message: fmt.Sprintf("%s moved to %v.%s", a.UserID, a.depts(), pushed)}, nil
	case "remove-user":
		if err := fake.RemoveUser(a.UserID); err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, UserID: a.UserID, Message: fmt.Sprintf("%s left the organisation.%s", a.UserID, pushed)}, nil
	case "add-department":
		d, err := fake.AddDepartment(dingtalktest.Department{ParentID: a.ParentID, Name: strings.TrimSpace(a.Name)})
		if err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, DeptID: d.ID, Message: fmt.Sprintf("department %s (%d) created.%s", d.Name, d.ID, pushed)}, nil
	case "rename-department":
		if err := fake.RenameDepartment(a.DeptID, strings.TrimSpace(a.Name)); err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, DeptID: a.DeptID, Message: fmt.Sprintf("department %d is now called %s.%s", a.DeptID, strings.TrimSpace(a.Name), pushed)}, nil
	case "remove-department":
		if err := fake.RemoveDepartment(a.DeptID); err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, DeptID: a.DeptID, Message: fmt.Sprintf("department %d removed.%s", a.DeptID, pushed)}, nil
	case "start-approval":
		u, ok := fake.User(a.UserID)
		if !ok {
			return SimulatorResult{}, fmt.Errorf("no user %q in the simulated organisation", a.UserID)
		}
		approvers := a.Approvers
		if len(approvers) == 0 {
			approvers = managerOf(fake, u)
		}
		p, err := fake.StartProcessInstance(dingtalktest.ProcessInstance{ProcessCode: DemoProcessCode, OriginatorUserID: u.UserID,
			DeptID: u.DeptIDs[0], Approvers: approvers, Form: []dingtalktest.FormValue{{Name: "请假类型", Value: "年假"}, {Name: "天数", Value: "1"}}})
		if err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, InstanceID: p.ID, Message: fmt.Sprintf("%s started.%s", p.Title, pushed)}, nil
	case "finish-approval":
		result := a.Result
		if result == "terminate" {
			result = ""
		}
		if err := fake.FinishProcessInstance(a.InstanceID, result); err != nil {
			return SimulatorResult{}, err
		}
		return SimulatorResult{OK: true, InstanceID: a.InstanceID, Message: fmt.Sprintf("approval %s: %s.%s", a.InstanceID, a.Result, pushed)}, nil
	}
	return SimulatorResult{}, errors.New("unknown action")
}

// DemoProcessCode is the process (审批模板) of the approvals the console
// starts: a day of annual leave.
const DemoProcessCode = "PROC-DINGFN-LEAVE"

// managerOf returns the manager of the originator's first department
// (not the originator), the usual first approver.
func managerOf(fake *dingtalktest.Server, u dingtalktest.User) []string {
	for _, id := range u.DeptIDs {
		for id != 0 {
			d, ok := fake.Department(id)
			if !ok {
				break
			}
			for _, m := range d.ManagerUserIDs {
				if m != u.UserID {
					return []string{m}
				}
			}
			id = d.ParentID
		}
	}
	return nil
}
