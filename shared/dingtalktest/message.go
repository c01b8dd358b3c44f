package dingtalktest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Limits of work notices (工作通知) for an internal app. Beyond them the
// send still succeeds but recipients are silently dropped; getsendresult
// shows them in forbidden_list.
const (
	NoticeMaxRecipientsPerCall   = 5000
	NoticeMaxPerUserPerDay       = 500
	NoticeMaxRecipientsPerMinute = 5000
	noticeMsgMaxBytes            = 2048
	noticeResultMaxRecipients    = 100
	noticeRetention              = 24 * time.Hour
)

// Forbidden codes of getsendresult's forbidden_list.
const (
	ForbiddenAppQPM       = "143103"
	ForbiddenUserDaily    = "143105"
	ForbiddenSameContent  = "143106"
	ForbiddenNoRecipients = "1430000"
)

// WorkNotice is one accepted asyncsend_v2 call and what became of it.
type WorkNotice struct {
	TaskID  int64
	AgentID int64
	MsgType string
	// Msg is the message object as sent (canonical JSON).
	Msg       json.RawMessage
	Time      time.Time
	UserIDs   []string
	DeptIDs   []int64
	ToAllUser bool
	// Delivered lists the recipients who received the notice.
	Delivered []string
	// Invalid lists unknown userids, InvalidDepts unknown department ids.
	Invalid      []string
	InvalidDepts []int64
	// Forbidden lists recipients silently dropped by a limit.
	Forbidden []ForbiddenRecipient
	// Read lists recipients who read it (see MarkNoticeRead).
	Read     []string
	Recalled bool
}

// ForbiddenRecipient is a recipient dropped by flow control.
type ForbiddenRecipient struct {
	UserID string
	Code   string
}

type noticeState struct {
	next     int64
	tasks    map[int64]*WorkNotice
	order    []int64
	perDay   map[string]int      // userid|day → notices delivered
	contents map[string]struct{} // userid|day|hash → delivered once
	minute   int64               // current minute window (unix minutes)
	inMinute int                 // recipients delivered in it
}

func (n *noticeState) init() {
	n.next = 256000000000
	n.tasks = map[int64]*WorkNotice{}
	n.perDay = map[string]int{}
	n.contents = map[string]struct{}{}
}

func cloneNotice(w *WorkNotice) WorkNotice {
	c := *w
	c.Msg = slices.Clone(w.Msg)
	c.UserIDs = slices.Clone(w.UserIDs)
	c.DeptIDs = slices.Clone(w.DeptIDs)
	c.Delivered = slices.Clone(w.Delivered)
	c.Invalid = slices.Clone(w.Invalid)
	c.InvalidDepts = slices.Clone(w.InvalidDepts)
	c.Forbidden = slices.Clone(w.Forbidden)
	c.Read = slices.Clone(w.Read)
	return c
}

// WorkNotices returns every accepted work notice in send order.
func (s *Server) WorkNotices() []WorkNotice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WorkNotice, 0, len(s.notices.order))
	for _, id := range s.notices.order {
		out = append(out, cloneNotice(s.notices.tasks[id]))
	}
	return out
}

// NoticesDeliveredTo returns the notices userid actually received.
func (s *Server) NoticesDeliveredTo(userid string) []WorkNotice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WorkNotice
	for _, id := range s.notices.order {
		if w := s.notices.tasks[id]; slices.Contains(w.Delivered, userid) {
			out = append(out, cloneNotice(w))
		}
	}
	return out
}

// MarkNoticeRead records that userid read the notice of task.
func (s *Server) MarkNoticeRead(task int64, userid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.notices.tasks[task]
	if w == nil || !slices.Contains(w.Delivered, userid) {
		return fmt.Errorf("dingtalktest: task %d was not delivered to %q", task, userid)
	}
	if !slices.Contains(w.Read, userid) {
		w.Read = append(w.Read, userid)
	}
	return nil
}

// validateNoticeMsg checks the msg object of a work notice.
func validateNoticeMsg(m map[string]json.RawMessage) (string, error) {
	var msgtype string
	if err := json.Unmarshal(m["msgtype"], &msgtype); err != nil || msgtype == "" {
		return "", fmt.Errorf("msg.msgtype is required")
	}
	required := map[string][]string{
		"text":        {"content"},
		"image":       {"media_id"},
		"voice":       {"media_id", "duration"},
		"file":        {"media_id"},
		"link":        {"messageUrl", "picUrl", "title", "text"},
		"markdown":    {"title", "text"},
		"action_card": {"markdown"}, // title is optional (field table: 否)
		"oa":          {"message_url", "head"},
	}
	fields, known := required[msgtype]
	if !known {
		return "", fmt.Errorf("msg.msgtype %q is not supported", msgtype)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(m[msgtype], &obj); err != nil || obj == nil {
		return "", fmt.Errorf("msg.%s is required", msgtype)
	}
	for _, f := range fields {
		if v, ok := obj[f]; !ok || string(v) == `""` || string(v) == "null" {
			return "", fmt.Errorf("msg.%s.%s is required", msgtype, f)
		}
	}
	if msgtype == "action_card" {
		_, single := obj["single_title"]
		_, btns := obj["btn_json_list"]
		if single == btns {
			return "", fmt.Errorf("msg.action_card needs single_title+single_url or btn_orientation+btn_json_list")
		}
		// A button list must say how the buttons are laid out.
		if o := string(obj["btn_orientation"]); btns && o != `"0"` && o != `"1"` {
			return "", fmt.Errorf("msg.action_card.btn_orientation must be \"0\" or \"1\" with btn_json_list")
		}
	}
	return msgtype, nil
}

// POST topapi/message/corpconversation/asyncsend_v2
func (s *Server) noticeSend(rq *request) reply {
	agent, rep, bad := rq.params.needInt64("agent_id")
	if bad {
		return rep
	}
	if agent != s.agentID {
		return fail(40056, "不合法的agentid")
	}
	var m map[string]json.RawMessage
	if has, err := rq.params.decode("msg", &m); err != nil {
		return badParam(err)
	} else if !has || m == nil {
		return missing("msg")
	}
	canon, _ := json.Marshal(m)
	if len(canon) > noticeMsgMaxBytes {
		return fail(400002, fmt.Sprintf("无效的参数: msg 超过%d字节", noticeMsgMaxBytes))
	}
	msgtype, err := validateNoticeMsg(m)
	if err != nil {
		return fail(400002, "无效的参数: "+err.Error())
	}
	users, hasUsers, err := rq.params.strList("userid_list")
	if err != nil {
		return badParam(err)
	}
	depts, hasDepts, err := rq.params.intList("dept_id_list")
	if err != nil {
		return badParam(err)
	}
	toAll, _, err := rq.params.bool("to_all_user")
	if err != nil {
		return badParam(err)
	}
	if len(users) > 100 {
		return fail(400002, "无效的参数: userid_list 最多100个")
	}
	if len(depts) > 20 {
		return fail(400002, "无效的参数: dept_id_list 最多20个")
	}
	if !toAll && (!hasUsers || len(users) == 0) && (!hasDepts || len(depts) == 0) {
		return missing("userid_list 或 dept_id_list")
	}

	s.notices.next++
	w := &WorkNotice{
		TaskID: s.notices.next, AgentID: agent, MsgType: msgtype, Msg: canon, Time: rq.now,
		UserIDs: users, DeptIDs: depts, ToAllUser: toAll,
	}
	// Resolve recipients, in order, without duplicates.
	var recipients []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			recipients = append(recipients, id)
		}
	}
	if toAll {
		for _, id := range s.dir.ids() {
			add(id)
		}
	}
	for _, id := range users {
		if s.dir.users[id] == nil {
			if !slices.Contains(w.Invalid, id) {
				w.Invalid = append(w.Invalid, id)
			}
			continue
		}
		add(id)
	}
	for _, d := range depts {
		if s.dir.depts[d] == nil {
			w.InvalidDepts = append(w.InvalidDepts, d)
			continue
		}
		for _, sub := range s.dir.subtree(d) {
			for _, id := range s.dir.members[sub] {
				add(id)
			}
		}
	}
	sum := sha256.Sum256(canon)
	day := dayKey(rq.now)
	minute := rq.now.Unix() / 60
	if s.notices.minute != minute {
		s.notices.minute, s.notices.inMinute = minute, 0
	}
	for i, id := range recipients {
		ck := id + "|" + day + "|" + string(sum[:])
		dk := id + "|" + day
		switch {
		case i >= NoticeMaxRecipientsPerCall || s.notices.inMinute >= NoticeMaxRecipientsPerMinute:
			w.Forbidden = append(w.Forbidden, ForbiddenRecipient{UserID: id, Code: ForbiddenAppQPM})
		case hasKey(s.notices.contents, ck):
			w.Forbidden = append(w.Forbidden, ForbiddenRecipient{UserID: id, Code: ForbiddenSameContent})
		case s.notices.perDay[dk] >= NoticeMaxPerUserPerDay:
			w.Forbidden = append(w.Forbidden, ForbiddenRecipient{UserID: id, Code: ForbiddenUserDaily})
		default:
			s.notices.contents[ck] = struct{}{}
			s.notices.perDay[dk]++
			s.notices.inMinute++
			w.Delivered = append(w.Delivered, id)
		}
	}
	s.notices.tasks[w.TaskID] = w
	s.notices.order = append(s.notices.order, w.TaskID)
	return ok(map[string]any{"task_id": w.TaskID})
}

func hasKey(m map[string]struct{}, k string) bool {
	_, ok := m[k]
	return ok
}

// noticeTask reads agent_id and the task id of the follow-up calls.
func (s *Server) noticeTask(rq *request, key string) (*WorkNotice, reply, bool) {
	agent, has, err := rq.params.int64("agent_id")
	if err != nil {
		return nil, badParam(err), true
	}
	if !has {
		return nil, missing("agent_id"), true
	}
	if agent != s.agentID {
		return nil, fail(40056, "不合法的agentid"), true
	}
	id, has, err := rq.params.int64(key)
	if err != nil {
		return nil, badParam(err), true
	}
	if !has {
		return nil, missing(key), true
	}
	w := s.notices.tasks[id]
	if w == nil || rq.now.Sub(w.Time) >= noticeRetention {
		return nil, fail(400002, "无效的参数: "+key+" 不存在或已过期"), true
	}
	return w, reply{}, false
}

// POST topapi/message/corpconversation/getsendprogress
func (s *Server) noticeProgress(rq *request) reply {
	if _, rep, bad := s.noticeTask(rq, "task_id"); bad {
		return rep
	}
	return ok(map[string]any{"progress": map[string]any{"progress_in_percent": 100, "status": 2}})
}

// POST topapi/message/corpconversation/getsendresult. A task with more
// than 100 recipients times out on DingTalk; the fake answers 504.
func (s *Server) noticeResult(rq *request) reply {
	w, rep, bad := s.noticeTask(rq, "task_id")
	if bad {
		return rep
	}
	if len(w.Delivered)+len(w.Forbidden)+len(w.Invalid) > noticeResultMaxRecipients {
		return reply{status: http.StatusGatewayTimeout, ctype: "text/html",
			raw: []byte("<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center></body></html>")}
	}
	unread := []string{}
	for _, id := range w.Delivered {
		if !slices.Contains(w.Read, id) {
			unread = append(unread, id)
		}
	}
	forbiddenIDs := []string{}
	forbidden := []map[string]any{}
	for _, f := range w.Forbidden {
		forbiddenIDs = append(forbiddenIDs, f.UserID)
		forbidden = append(forbidden, map[string]any{"code": f.Code, "count": 1, "userid": f.UserID})
	}
	return ok(map[string]any{"send_result": map[string]any{
		"invalid_user_id_list":   nonNil(w.Invalid),
		"forbidden_user_id_list": forbiddenIDs,
		"failed_user_id_list":    []string{},
		"read_user_id_list":      nonNil(w.Read),
		"unread_user_id_list":    unread,
		"invalid_dept_id_list":   nonNilInts(w.InvalidDepts),
		"forbidden_list":         forbidden,
	}})
}

// POST topapi/message/corpconversation/recall
func (s *Server) noticeRecall(rq *request) reply {
	w, rep, bad := s.noticeTask(rq, "msg_task_id")
	if bad {
		return rep
	}
	w.Recalled = true
	return ok(nil)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func nonNilInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return slices.Clone(s)
}
