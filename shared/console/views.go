package console

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/redact"
	"github.com/dingfn/dingfn/shared/schedule"
)

// The view types below are everything the page receives. None has a
// field for a token, ticket, key or secret, and none embeds a stored row
// of a feature package: each is built field by field.

// Overview says what the console runs against and which panels it has.
type Overview struct {
	// Mode is "simulated" (dingfn dev's fake DingTalk) or "dingtalk".
	Mode string `json:"mode"`
	// Panels lists the views this console has (the topics it streams).
	Panels []Topic `json:"panels"`
	// CanSync says the "sync now" button works.
	CanSync bool `json:"can_sync"`
	// CanSend says the notice form works.
	CanSend bool `json:"can_send"`
	// Robots are the configured group robots' names.
	Robots []string `json:"robots"`
	// CorpName is the organisation's name (its root department), when the
	// mirror or the simulator knows it.
	CorpName string `json:"corp_name,omitempty"`
}

// OrgView is an organisation as a tree of departments with their direct
// members.
type OrgView struct {
	// Source is "mirror" (dingfn's copy in the store) or "simulator" (the
	// simulated DingTalk's own organisation).
	Source      string  `json:"source"`
	Departments int     `json:"departments"`
	Users       int     `json:"users"`
	Roots       []*Dept `json:"roots"`
	// MembersOmitted says the organisation has more than MaxTreeUsers
	// people, so departments list their member counts only.
	MembersOmitted bool `json:"members_omitted,omitempty"`
	// SyncedAt is the mirror's last complete walk (mirror only).
	SyncedAt *time.Time `json:"synced_at,omitempty"`
}

// Dept is one department of an OrgView.
type Dept struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Managers []string `json:"managers,omitempty"`
	// MemberCount is the number of direct members.
	MemberCount int      `json:"member_count"`
	Members     []Person `json:"members,omitempty"`
	Children    []*Dept  `json:"children,omitempty"`
}

// Person is one member of a department.
type Person struct {
	UserID string `json:"userid"`
	Name   string `json:"name"`
	Title  string `json:"title,omitempty"`
	Leader bool   `json:"leader,omitempty"`
	Admin  bool   `json:"admin,omitempty"`
}

// MaxTreeUsers is the largest organisation whose members the tree lists;
// above it departments show counts only.
const MaxTreeUsers = 2000

// SyncView is the sync: a run the console started and its progress, the
// last tick the console saw, and the mirror's own record of its walks.
type SyncView struct {
	CanSync bool `json:"can_sync"`
	Running bool `json:"running"`
	// StartedAt is when the running sync started.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// Progress is the directory walk's report so far, while it runs.
	Progress *WalkProgress `json:"progress,omitempty"`
	// Last is the last tick that ran a step, from "sync now" or the timer.
	Last *TickView `json:"last,omitempty"`
	// LastComplete is the mirror's last complete walk; Walk the walk in
	// progress (possibly over several ticks).
	LastComplete *CompleteWalk `json:"last_complete,omitempty"`
	Walk         *WalkProgress `json:"walk,omitempty"`
}

// TickView is one tick of the sync function.
type TickView struct {
	At time.Time `json:"at"`
	// Trigger is "console" (the button) or "timer".
	Trigger string `json:"trigger"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	// Steps are the steps' entries of the tick's report.
	Steps []json.RawMessage `json:"steps"`
}

// CompleteWalk is the mirror's last complete walk.
type CompleteWalk struct {
	StartedAt   time.Time        `json:"started_at"`
	CompletedAt time.Time        `json:"completed_at"`
	Ticks       int              `json:"ticks"`
	Users       int              `json:"users"`
	Departments int              `json:"departments"`
	Totals      directory.Totals `json:"totals"`
	GuardLimit  int              `json:"guard_limit"`
	GuardOK     bool             `json:"guard_ok"`
}

// WalkProgress is a directory walk in progress.
type WalkProgress struct {
	StartedAt       time.Time `json:"started_at,omitzero"`
	DepartmentsSeen int       `json:"departments_seen"`
	UsersSeen       int       `json:"users_seen"`
	Created         int       `json:"created"`
	Updated         int       `json:"updated"`
	Deleted         int       `json:"deleted"`
	Unchanged       int       `json:"unchanged"`
	APICalls        int       `json:"api_calls,omitempty"`
	// QueuedDepartments is how many departments are still to walk (from
	// the stored checkpoint).
	QueuedDepartments int   `json:"queued_departments,omitempty"`
	DurationMS        int64 `json:"duration_ms,omitempty"`
}

// NoticesView lists the recent work notices.
type NoticesView struct {
	Since   time.Time    `json:"since"`
	Notices []NoticeView `json:"notices"`
}

// NoticeView is one work notice.
type NoticeView struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	Caller    string    `json:"caller"`
	MsgType   string    `json:"msgtype"`
	Title     string    `json:"title"`
	Users     int       `json:"users"`
	DeptIDs   []int64   `json:"dept_ids,omitempty"`
	ToAll     bool      `json:"to_all,omitempty"`
	Parts     int       `json:"parts"`
	Sent      int       `json:"sent"`
	Pending   int       `json:"pending"`
	Failed    int       `json:"failed"`
	Unknown   int       `json:"unknown"`
	Warnings  []string  `json:"warnings"`
}

// NoticeWindow is how far back the notice list reaches.
const NoticeWindow = 24 * time.Hour

// MaxNotices is the longest notice list.
const MaxNotices = 50

// RobotsView lists, newest first, the messages the simulated DingTalk's
// group robots received and the app robot's: its replies through session
// webhooks and what notify sent as it.
type RobotsView struct {
	Messages []RobotMessageView `json:"messages"`
}

// RobotMessageView is one robot message as the group would show it.
type RobotMessageView struct {
	// Robot is the robot's name in DINGFN_ROBOTS ("" when no configured
	// robot has its webhook).
	Robot   string    `json:"robot"`
	Time    time.Time `json:"time"`
	MsgType string    `json:"msgtype"`
	Title   string    `json:"title,omitempty"`
	// HTML is the message rendered: markdown through goldmark without raw
	// HTML or unsafe links, any other text escaped.
	HTML string `json:"html"`
}

// MaxRobotMessages is the longest robot message list (the newest).
const MaxRobotMessages = 50

// ApprovalsView lists the simulated DingTalk's approval instances.
type ApprovalsView struct {
	Approvals []ApprovalView `json:"approvals"`
}

// ApprovalView is one approval instance (审批实例).
type ApprovalView struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Originator string     `json:"originator"`
	Status     string     `json:"status"`
	Result     string     `json:"result,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// viewJSON builds the view of topic t as JSON.
func (c *Console) viewJSON(ctx context.Context, t Topic) ([]byte, error) {
	var v any
	var err error
	switch t {
	case TopicOverview:
		v, err = c.overview(ctx)
	case TopicMirror:
		v, err = c.mirrorOrg(ctx)
	case TopicSimulator:
		v = c.simulatorOrg()
	case TopicEvents:
		v, err = c.eventLog(ctx)
	case TopicSync:
		v, err = c.syncView(ctx)
	case TopicTokens:
		v, err = c.tokens(ctx)
	case TopicNotices:
		v, err = c.notices(ctx)
	case TopicRobots:
		v = c.robots()
	case TopicApprovals:
		v = c.approvals()
	default:
		return nil, fmt.Errorf("console: no view %q", t)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (c *Console) overview(ctx context.Context) (Overview, error) {
	o := Overview{Mode: "dingtalk", Panels: c.topics(), CanSync: c.src.Sync != nil, CanSend: c.src.Notify != nil, Robots: []string{}}
	if c.src.Simulator != nil {
		o.Mode = "simulated"
		if d, ok := c.src.Simulator.Department(dingtalktest.RootDeptID); ok {
			o.CorpName = d.Name
		}
	} else if d, err := c.src.Mirror.Department(ctx, dingtalktest.RootDeptID); err == nil {
		o.CorpName = d.Name
	}
	if c.src.Notify != nil {
		o.Robots = append(o.Robots, c.src.Notify.Robots().Names()...)
	}
	return o, nil
}

// treeDept and treeUser are what buildTree needs of either organisation.
type treeDept struct {
	id, parent, order int64
	name              string
	managers          []string
}

type treeUser struct {
	Person
	depts  []int64
	orders map[int64]int64
}

// buildTree puts departments and users into an OrgView: children by
// order then id, members by their order in the department (larger
// first), then name. A department whose parent is unknown (outside the
// app's contact scope) becomes a root.
func buildTree(source string, depts []treeDept, users []treeUser) *OrgView {
	v := &OrgView{Source: source, Departments: len(depts), Users: len(users), Roots: []*Dept{}}
	v.MembersOmitted = len(users) > MaxTreeUsers
	nodes := map[int64]*Dept{}
	slices.SortFunc(depts, func(a, b treeDept) int { return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.id, b.id)) })
	for _, d := range depts {
		nodes[d.id] = &Dept{ID: d.id, Name: d.name, Managers: d.managers}
	}
	members := map[int64][]treeUser{}
	for _, u := range users {
		for _, id := range u.depts {
			if n := nodes[id]; n != nil {
				n.MemberCount++
				if !v.MembersOmitted {
					members[id] = append(members[id], u)
				}
			}
		}
	}
	for id, ms := range members {
		slices.SortFunc(ms, func(a, b treeUser) int {
			return cmp.Or(cmp.Compare(b.orders[id], a.orders[id]), cmp.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID))
		})
		for _, u := range ms {
			nodes[id].Members = append(nodes[id].Members, u.Person)
		}
	}
	for _, d := range depts {
		n := nodes[d.id]
		if p := nodes[d.parent]; p != nil && d.parent != d.id {
			p.Children = append(p.Children, n)
		} else {
			v.Roots = append(v.Roots, n)
		}
	}
	return v
}

func (c *Console) mirrorOrg(ctx context.Context) (*OrgView, error) {
	var depts []treeDept
	for d, err := range c.src.Mirror.Departments(ctx) {
		if err != nil {
			return nil, err
		}
		depts = append(depts, treeDept{id: d.DeptID, parent: d.ParentID, order: d.Order, name: d.Name, managers: d.ManagerUserIDs})
	}
	var users []treeUser
	for u, err := range c.src.Mirror.Users(ctx) {
		if err != nil {
			return nil, err
		}
		tu := treeUser{Person: Person{UserID: u.UserID, Name: u.Name, Title: u.Title, Admin: u.Admin}, depts: u.DeptIDs, orders: map[int64]int64{}}
		for _, o := range u.DeptOrders {
			tu.orders[o.DeptID] = o.Order
		}
		tu.Leader = len(u.LeaderIn) > 0
		users = append(users, tu)
	}
	v := buildTree("mirror", depts, users)
	st, err := c.src.Mirror.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.LastComplete != nil {
		at := st.LastComplete.CompletedAt
		v.SyncedAt = &at
	}
	return v, nil
}

func (c *Console) simulatorOrg() *OrgView {
	o := c.src.Simulator.Org()
	depts := make([]treeDept, 0, len(o.Departments))
	for _, d := range o.Departments {
		depts = append(depts, treeDept{id: d.ID, parent: d.ParentID, order: d.Order, name: d.Name, managers: d.ManagerUserIDs})
	}
	users := make([]treeUser, 0, len(o.Users))
	for _, u := range o.Users {
		users = append(users, treeUser{Person: Person{UserID: u.UserID, Name: u.Name, Title: u.Title, Admin: u.Admin,
			Leader: len(u.LeaderIn) > 0}, depts: u.DeptIDs})
	}
	return buildTree("simulator", depts, users)
}

func (c *Console) syncView(ctx context.Context) (*SyncView, error) {
	c.mu.Lock()
	v := &SyncView{CanSync: c.src.Sync != nil, Running: c.sync.running, Last: c.sync.last}
	if c.sync.running {
		at := c.sync.startedAt
		v.StartedAt = &at
		if p := c.sync.progress; p != nil {
			v.Progress = walkProgress(p)
		}
	}
	c.mu.Unlock()
	st, err := c.src.Mirror.Status(ctx)
	if err != nil {
		return nil, err
	}
	if lc := st.LastComplete; lc != nil {
		v.LastComplete = &CompleteWalk{StartedAt: lc.StartedAt, CompletedAt: lc.CompletedAt, Ticks: lc.Ticks, Users: lc.Users,
			Departments: lc.Departments, Totals: lc.Totals, GuardLimit: lc.Guard.Limit, GuardOK: !lc.Guard.Tripped}
	}
	if w := st.Walk; w != nil {
		t := w.Totals
		v.Walk = &WalkProgress{StartedAt: w.StartedAt, DepartmentsSeen: t.Departments.Seen, UsersSeen: t.Users.Seen,
			Created: t.Users.Created + t.Departments.Created, Updated: t.Users.Updated + t.Departments.Updated,
			Deleted: t.Users.Deleted + t.Departments.Deleted, Unchanged: t.Users.Unchanged + t.Departments.Unchanged,
			QueuedDepartments: len(w.Queue)}
	}
	return v, nil
}

func walkProgress(r *directory.Report) *WalkProgress {
	return &WalkProgress{StartedAt: r.WalkStartedAt, DepartmentsSeen: r.DepartmentsSeen, UsersSeen: r.UsersSeen, Created: r.Created,
		Updated: r.Updated, Deleted: r.Deleted, Unchanged: r.Unchanged, APICalls: r.APICalls, DurationMS: r.DurationMS}
}

// tickView turns a tick's report into its view. Step reports are the
// feature packages' own report types (counts, times, lease holders);
// their error texts are redacted once more on the way out.
func tickView(at time.Time, trigger string, rep *schedule.Report, err error) *TickView {
	v := &TickView{At: at, Trigger: trigger, OK: err == nil, Steps: []json.RawMessage{}}
	if err != nil {
		v.Error = redact.String(err.Error())
	}
	if rep != nil {
		for _, s := range rep.Steps {
			s.Error = redact.String(s.Error)
			b, merr := json.Marshal(s)
			if merr != nil {
				continue
			}
			v.Steps = append(v.Steps, b)
		}
	}
	return v
}

func (c *Console) notices(ctx context.Context) (*NoticesView, error) {
	since := c.now().Add(-NoticeWindow)
	list, err := c.src.Notify.RecentNotices(ctx, since, MaxNotices)
	if err != nil {
		return nil, err
	}
	v := &NoticesView{Since: since, Notices: make([]NoticeView, 0, len(list))}
	for _, n := range list {
		nv := NoticeView{ID: n.ID, Status: n.Status, CreatedAt: n.CreatedAt, Caller: n.Caller, MsgType: n.MsgType, Title: n.Title,
			Users: n.Users, DeptIDs: n.DeptIDs, ToAll: n.ToAll, Parts: n.Progress.Parts, Sent: n.Progress.Sent,
			Pending: n.Progress.Pending + n.Progress.Sending, Failed: n.Progress.Failed, Unknown: n.Progress.Unknown, Warnings: []string{}}
		for _, w := range n.Warnings {
			nv.Warnings = append(nv.Warnings, w.Code)
		}
		v.Notices = append(v.Notices, nv)
	}
	return v, nil
}

func (c *Console) robots() *RobotsView {
	fake := c.src.Simulator
	msgs := fake.RobotMessages("")
	var names interface {
		NameFor(string) (string, bool)
	}
	if c.src.Notify != nil {
		names = c.src.Notify.Robots()
	}
	all := make([]RobotMessageView, 0, len(msgs))
	for _, m := range msgs {
		rv := RobotMessageView{Time: m.Time, MsgType: m.MsgType}
		if names != nil {
			rv.Robot, _ = names.NameFor(m.Token)
		}
		rv.Title, rv.HTML = c.renderRobot(m.MsgType, m.Body)
		all = append(all, rv)
	}
	// The app robot's side of its conversations: replies to what people
	// wrote it (through the session webhook) and messages notify sent as
	// it. Replies given in the HTTP answer are in the event log's view.
	groups := map[string]string{}
	for _, g := range fake.ChatGroups() {
		groups[g.ConversationID] = g.Title
	}
	for _, r := range fake.SessionReplies() {
		where := "one to one"
		if t, ok := groups[r.ConversationID]; ok {
			where = t
		}
		rv := RobotMessageView{Robot: "app robot, reply in " + where, Time: r.Time, MsgType: r.MsgType}
		rv.Title, rv.HTML = c.renderRobot(r.MsgType, r.Body)
		all = append(all, rv)
	}
	for _, m := range fake.ChatbotSends() {
		where := fmt.Sprintf("to %d people", len(m.UserIDs))
		if m.ConversationID != "" {
			where = "in " + groups[m.ConversationID]
		}
		rv := RobotMessageView{Robot: "app robot, " + where, Time: m.Time, MsgType: m.MsgKey}
		if m.MsgParam["text"] != "" {
			rv.Title, rv.HTML = m.MsgParam["title"], c.markdown(m.MsgParam["text"])
		} else {
			rv.HTML = paragraph(m.MsgParam["content"])
		}
		all = append(all, rv)
	}
	slices.SortStableFunc(all, func(a, b RobotMessageView) int { return b.Time.Compare(a.Time) })
	if len(all) > MaxRobotMessages {
		all = all[:MaxRobotMessages]
	}
	return &RobotsView{Messages: all}
}

// renderRobot renders a robot message body as the group shows it.
func (c *Console) renderRobot(msgtype string, body json.RawMessage) (title, out string) {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(body, &m)
	var obj map[string]any
	_ = json.Unmarshal(m[msgtype], &obj)
	str := func(k string) string { s, _ := obj[k].(string); return s }
	switch msgtype {
	case "markdown", "actionCard":
		return str("title"), c.markdown(str("text"))
	case "text":
		return "", paragraph(str("content"))
	case "link":
		return str("title"), paragraph(str("text")) + paragraph(str("messageUrl"))
	case "feedCard":
		links, _ := obj["links"].([]any)
		var b strings.Builder
		for _, l := range links {
			if lm, ok := l.(map[string]any); ok {
				t, _ := lm["title"].(string)
				b.WriteString(paragraph(t))
			}
		}
		return "", b.String()
	}
	return "", paragraph(string(body))
}

// markdown renders DingTalk markdown with goldmark's defaults: raw HTML
// is dropped and javascript:, vbscript:, file: and data: (but images)
// links are emptied, so the result is safe to put in the page.
func (c *Console) markdown(src string) string {
	var b bytes.Buffer
	if err := c.md.Convert([]byte(src), &b); err != nil {
		return paragraph(src)
	}
	return b.String()
}

func paragraph(s string) string {
	if s == "" {
		return ""
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(s), "\n", "<br>") + "</p>"
}

func (c *Console) approvals() *ApprovalsView {
	list := c.src.Simulator.ProcessInstances()
	v := &ApprovalsView{Approvals: make([]ApprovalView, 0, len(list))}
	for i := len(list) - 1; i >= 0; i-- {
		p := list[i]
		a := ApprovalView{ID: p.ID, Title: p.Title, Originator: p.OriginatorUserID, Status: p.Status, Result: p.Result, CreatedAt: p.CreateTime}
		if !p.FinishTime.IsZero() {
			at := p.FinishTime
			a.FinishedAt = &at
		}
		v.Approvals = append(v.Approvals, a)
	}
	return v
}
