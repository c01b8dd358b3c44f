package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// MaxTasksChecked is how many of a notice's DingTalk tasks one status
// request asks DingTalk about (two calls each, about 7 s at an instance's
// 3 calls a second per API); StatusOptions.FromPart pages through larger
// notices.
const MaxTasksChecked = 20

// resultMaxRecipients is the task size above which DingTalk's
// getsendresult times out instead of answering.
const resultMaxRecipients = 100

// recallWindow is how long after sending DingTalk recalls a notice.
const recallWindow = 24 * time.Hour

// NoticeStatus is what GET /v1/notices/{id} answers.
type NoticeStatus struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	TaskIDs   []int64   `json:"task_ids"`
	Progress  Progress  `json:"progress"`
	// Result lists the people by outcome, over the tasks that DingTalk
	// reports as done and could answer for (see Progress.ResultComplete
	// and Notes).
	Result   Result       `json:"result"`
	Parts    []PartStatus `json:"parts"`
	Warnings []Warning    `json:"warnings"`
	// Notes say what the answer could not cover and why.
	Notes []string `json:"notes"`
}

// PartCounts counts a record's parts (its DingTalk calls) by state.
type PartCounts struct {
	Parts     int `json:"parts"`
	Pending   int `json:"pending"`
	Sending   int `json:"sending"`
	Sent      int `json:"sent"`
	Failed    int `json:"failed"`
	Unknown   int `json:"unknown"`
	Cancelled int `json:"cancelled"`
}

// add counts a part in state (its effectiveState).
func (c *PartCounts) add(state string) {
	c.Parts++
	switch state {
	case PartPending:
		c.Pending++
	case PartSending:
		c.Sending++
	case PartSent:
		c.Sent++
	case PartFailed:
		c.Failed++
	case PartUnknown:
		c.Unknown++
	case PartCancelled:
		c.Cancelled++
	}
}

// Progress counts the notice's parts by state and sums DingTalk's
// progress of its tasks.
type Progress struct {
	PartCounts
	// Percent is DingTalk's delivery progress, averaged over the tasks
	// checked; Done says DingTalk finished every one of them.
	Percent int  `json:"percent"`
	Done    bool `json:"done"`
	// TasksChecked is how many tasks this answer asked DingTalk about.
	TasksChecked int `json:"tasks_checked"`
	// ResultComplete says Result covers every person of the notice.
	ResultComplete bool `json:"result_complete"`
}

// Result is the notice's delivery by person, from DingTalk's
// getsendresult.
type Result struct {
	Read   []string `json:"read"`
	Unread []string `json:"unread"`
	// Failed lists people DingTalk could not deliver to, Invalid userids
	// it does not know.
	Failed  []string `json:"failed"`
	Invalid []string `json:"invalid"`
	// Forbidden lists people DingTalk dropped by one of its limits.
	Forbidden []Forbidden `json:"forbidden"`
}

// Forbidden is a person DingTalk dropped, with DingTalk's code and what
// it means.
type Forbidden struct {
	UserID string `json:"userid"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// forbiddenReasons explains getsendresult's forbidden codes.
var forbiddenReasons = map[string]string{
	"143103": "the app's recipients-per-minute cap (5 000) was exceeded",
	"143104": "the organisation's recipients-per-minute cap was exceeded",
	"143105": "the person reached 500 notices from the app today",
	"143106": "identical content was already sent to the person today",
}

// PartStatus is one DingTalk call of the notice.
type PartStatus struct {
	N      int    `json:"n"`
	State  string `json:"state"`
	TaskID int64  `json:"task_id,omitempty"`
	// Users, DeptIDs and ToAll say whom the part addresses.
	Users   int        `json:"users,omitempty"`
	DeptIDs []int64    `json:"dept_ids,omitempty"`
	ToAll   bool       `json:"to_all,omitempty"`
	SentAt  *time.Time `json:"sent_at,omitempty"`
	Error   string     `json:"error,omitempty"`
	// DingTalkErrCode is DingTalk's errcode for a failed part.
	DingTalkErrCode int `json:"dingtalk_errcode,omitempty"`
	// Check says, for an unknown part, how to find out what happened.
	Check string `json:"check,omitempty"`
}

// unknownCheck tells a caller what to do about an unknown part.
const unknownCheck = "DingTalk did not answer this call, so notify does not know whether it was sent, and never sends it again by itself. DingTalk offers no lookup without the task id: ask one of these people whether the notice arrived; to send it to them anyway, POST a new notice (a new Idempotency-Key) to the part's userids. DingTalk delivers identical content to a person once a day, so a duplicate is dropped for those who got it."

// StatusOptions selects what a status request asks DingTalk.
type StatusOptions struct {
	// FromPart is the first part (1-based) whose task is checked; tasks
	// from it on, MaxTasksChecked at most, are asked about.
	FromPart int
	// NoDingTalk answers from the store alone, without calling DingTalk.
	NoDingTalk bool
}

// Notice returns a notice's status: its parts from the store, DingTalk's
// progress of its tasks and, for tasks DingTalk has finished, who read
// it, who has not, and whom DingTalk failed or dropped.
func (s *Service) Notice(ctx context.Context, id string, o StatusOptions) (NoticeStatus, error) {
	n, parts, err := s.get(ctx, workNotices, id)
	if err != nil {
		return NoticeStatus{}, err
	}
	now := s.now()
	st := NoticeStatus{ID: n.ID, Status: noticeStatus(n, parts, now), CreatedAt: n.CreatedAt, TaskIDs: []int64{},
		Warnings: n.Warnings, Notes: []string{}, Parts: make([]PartStatus, 0, len(parts)),
		Result: Result{Read: []string{}, Unread: []string{}, Failed: []string{}, Invalid: []string{}, Forbidden: []Forbidden{}}}
	pr := &st.Progress
	for _, p := range parts {
		state := p.effectiveState(now)
		pr.add(state)
		ps := PartStatus{N: p.N, State: state, TaskID: p.TaskID, Users: len(p.UserIDs), DeptIDs: p.DeptIDs, ToAll: p.ToAll,
			SentAt: p.sentTime(), Error: p.errorText(state, workNotices), DingTalkErrCode: p.ErrCode}
		switch state {
		case PartSent:
			st.TaskIDs = append(st.TaskIDs, p.TaskID)
		case PartUnknown:
			ps.Check = unknownCheck
		}
		st.Parts = append(st.Parts, ps)
	}
	if o.NoDingTalk || pr.Sent == 0 {
		pr.ResultComplete = pr.Sent == 0 && pr.Pending == 0 && pr.Sending == 0 && pr.Unknown == 0
		pr.Done = pr.ResultComplete
		if pr.Pending > 0 {
			st.Notes = append(st.Notes, fmt.Sprintf("%d parts wait for DingTalk's per-minute budget; the sync tick sends them", pr.Pending))
		}
		return st, nil
	}
	from := max(o.FromPart, 1)
	checked, done, percent, complete := 0, true, 0, pr.Pending == 0 && pr.Sending == 0 && pr.Unknown == 0
	for _, p := range parts {
		if p.State != PartSent {
			continue
		}
		if p.N < from || checked == MaxTasksChecked {
			complete, done = false, false
			continue
		}
		checked++
		prog, err := s.dt.Message.SendProgress(ctx, n.AgentID, p.TaskID)
		if err != nil {
			return NoticeStatus{}, AsError(err)
		}
		percent += prog.ProgressInPercent
		if prog.Status != 2 {
			done, complete = false, false
			continue
		}
		// DingTalk's getsendresult times out for tasks of more than 100
		// people, as a department part or to_all may be (its charge is
		// what the mirror counted, or 5 000 when it did not know): such a
		// call would only wait for DingTalk's timeout.
		if p.Charge > resultMaxRecipients {
			complete = false
			st.Notes = append(st.Notes, fmt.Sprintf("part %d (task %d) reaches about %d people; DingTalk's getsendresult times out for a task of more than %d, so its people are not in the result (its progress is)", p.N, p.TaskID, p.Charge, resultMaxRecipients))
			continue
		}
		res, err := s.dt.Message.SendResult(ctx, n.AgentID, p.TaskID)
		if err != nil {
			if !dingtalk.IsTransient(err) {
				return NoticeStatus{}, AsError(err)
			}
			complete = false
			st.Notes = append(st.Notes, fmt.Sprintf("part %d (task %d): DingTalk's getsendresult failed; its people are not in the result", p.N, p.TaskID))
			continue
		}
		addResult(&st.Result, res)
	}
	pr.TasksChecked = checked
	if checked > 0 {
		pr.Percent = percent / checked
	}
	pr.Done, pr.ResultComplete = done, complete
	if checked < pr.Sent {
		st.Notes = append(st.Notes, fmt.Sprintf("DingTalk was asked about %d of %d tasks, from part %d; ask again with ?from_part= to see the others", checked, pr.Sent, from))
	}
	if pr.Pending > 0 {
		st.Notes = append(st.Notes, fmt.Sprintf("%d parts wait for DingTalk's per-minute budget; the sync tick sends them", pr.Pending))
	}
	if pr.Unknown > 0 {
		st.Notes = append(st.Notes, fmt.Sprintf("%d parts have an unknown outcome; see their check", pr.Unknown))
	}
	if !done {
		st.Notes = append(st.Notes, "DingTalk is still delivering; the result lists the people of finished tasks only")
	}
	return st, nil
}

func addResult(r *Result, res *dingtalk.SendResult) {
	r.Read = append(r.Read, res.ReadUserIDList...)
	r.Unread = append(r.Unread, res.UnreadUserIDList...)
	r.Failed = append(r.Failed, res.FailedUserIDList...)
	r.Invalid = append(r.Invalid, res.InvalidUserIDList...)
	listed := map[string]bool{}
	for _, f := range res.ForbiddenList {
		listed[f.UserID] = true
		reason := forbiddenReasons[f.Code]
		if reason == "" {
			reason = "dropped by a DingTalk limit"
		}
		r.Forbidden = append(r.Forbidden, Forbidden{UserID: f.UserID, Code: f.Code, Reason: reason})
	}
	for _, u := range res.ForbiddenUserIDList {
		if !listed[u] {
			r.Forbidden = append(r.Forbidden, Forbidden{UserID: u, Reason: "dropped by a DingTalk limit"})
		}
	}
}

// get loads a record of kind k with its parts, or answers 404.
func (s *Service) get(ctx context.Context, k *recordKind, id string) (noticeRow, []partRow, error) {
	if !validID(id, k.prefix) {
		return noticeRow{}, nil, newError(http.StatusNotFound, CodeNotFound, "no %s %q", k.noun, truncate(id, 80))
	}
	n, parts, err := s.loadNotice(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && n.Kind != k.kind) {
		return noticeRow{}, nil, newError(http.StatusNotFound, CodeNotFound, "no %s %s (%s %d days)", k.noun, id, k.kept, int(s.retention/(24*time.Hour)))
	}
	if err != nil {
		return noticeRow{}, nil, AsError(err)
	}
	return n, parts, nil
}

// validID reports whether id is one newID made with prefix.
func validID(id string, prefix byte) bool {
	if len(id) != 25 || id[0] != prefix {
		return false
	}
	for _, c := range id[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'v') {
			return false
		}
	}
	return true
}

// RecallResult is what DELETE /v1/notices/{id} answers.
type RecallResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// RecalledTaskIDs are the tasks DingTalk recalled; CancelledParts
	// the parts that had not been sent and now never will be.
	RecalledTaskIDs []int64  `json:"recalled_task_ids"`
	CancelledParts  int      `json:"cancelled_parts"`
	Notes           []string `json:"notes"`
}

// Recall withdraws a notice: parts not yet sent are cancelled, and every
// sent task is recalled through DingTalk, which allows it within 24 hours
// of sending. Recalling a recalled notice answers the same again.
func (s *Service) Recall(ctx context.Context, id string) (RecallResult, error) {
	n, parts, err := s.get(ctx, workNotices, id)
	if err != nil {
		return RecallResult{}, err
	}
	out, err := s.recall(ctx, workNotices, n, parts, func(sent []partRow) []recallCall {
		calls := make([]recallCall, len(sent))
		for i, p := range sent {
			calls[i] = recallCall{parts: sent[i : i+1], do: func(ctx context.Context) (map[string]string, error) {
				return nil, s.dt.Message.Recall(ctx, n.AgentID, p.TaskID)
			}}
		}
		return calls
	})
	if err != nil {
		return RecallResult{}, err
	}
	res := RecallResult{ID: id, Status: StatusRecalled, RecalledTaskIDs: []int64{}, CancelledParts: out.cancelled, Notes: out.notes}
	for _, p := range out.recalled {
		res.RecalledTaskIDs = append(res.RecalledTaskIDs, p.TaskID)
	}
	slices.Sort(res.RecalledTaskIDs)
	return res, nil
}

// recallCall is one DingTalk recall of sent parts.
type recallCall struct {
	parts []partRow
	// do makes the call; failed gives, by the part's key, why DingTalk
	// did not recall a part.
	do func(ctx context.Context) (failed map[string]string, err error)
}

// recalled is what recall did.
type recalled struct {
	// recalled are the sent parts DingTalk has recalled, now or before;
	// cancelled counts the parts cancelled before they were sent.
	recalled  []partRow
	cancelled int
	notes     []string
}

// recall is recalling a record of kind k, whichever the kind: it refuses
// (409, nothing done) while a sent part is past k's recall window or a
// part is being sent, cancels the parts not yet sent, makes the DingTalk
// calls plan groups the sent parts into, marks each part DingTalk recalled
// and, last, the record. Its errors are *Error.
func (s *Service) recall(ctx context.Context, k *recordKind, n noticeRow, parts []partRow, plan func(sent []partRow) []recallCall) (recalled, error) {
	now := s.now()
	for _, p := range parts {
		if p.State == PartSent && p.RecalledAt.IsZero() && now.Sub(p.SentAt) >= k.recallWindow {
			label := fmt.Sprintf("part %d", p.N)
			if p.TaskID != 0 {
				label += fmt.Sprintf(" (task %d)", p.TaskID)
			}
			return recalled{}, newError(http.StatusConflict, CodeRecallNotPossible,
				"DingTalk recalls %s only within 24 hours of sending; %s was sent at %s. Nothing was recalled",
				k.what, label, p.SentAt.UTC().Format(time.RFC3339))
		}
		if p.State == PartSending && !now.After(p.ClaimedUntil) {
			return recalled{}, &Error{Status: http.StatusConflict, RetryAfter: p.ClaimedUntil.Sub(now) + time.Second,
				Body: errBody(CodeRecallNotPossible, fmt.Sprintf("part %d is being sent right now; recall it once it has been sent", p.N))}
		}
	}
	var out recalled
	var sent []partRow
	for _, p := range parts {
		switch {
		case p.State == PartPending:
			got, won, err := s.updatePart(ctx, n.ID, p.N, func(p *partRow) bool {
				if p.State != PartPending {
					return false
				}
				p.State = PartCancelled
				return true
			})
			if err != nil {
				return recalled{}, AsError(err)
			}
			if won {
				out.cancelled++
			} else if got.State == PartSent {
				out.notes = append(out.notes, fmt.Sprintf("part %d was sent while recalling; recall again", p.N))
			}
		case p.State == PartSent && p.RecalledAt.IsZero():
			sent = append(sent, p)
		case p.State == PartSent:
			out.recalled = append(out.recalled, p)
		case p.effectiveState(now) == PartUnknown:
			out.notes = append(out.notes, fmt.Sprintf("part %d has an unknown outcome and no %s; DingTalk cannot recall it", p.N, k.handle))
		}
	}
	for _, c := range plan(sent) {
		failed, err := c.do(ctx)
		if err != nil {
			return recalled{}, AsError(err)
		}
		for _, p := range c.parts {
			if reason, ok := failed[p.ProcessQueryKey]; ok {
				out.notes = append(out.notes, fmt.Sprintf("DingTalk did not recall part %d: %s", p.N, reason))
				continue
			}
			if _, _, err := s.updatePart(ctx, n.ID, p.N, func(p *partRow) bool { p.RecalledAt = now; return true }); err != nil {
				return recalled{}, AsError(err)
			}
			out.recalled = append(out.recalled, p)
		}
	}
	if n.RecalledAt.IsZero() {
		if _, err := record.Update(ctx, s.st, NoticesTable, n.ID, func(r noticeRow, found bool) (noticeRow, error) {
			if !found {
				return r, fmt.Errorf("notify: %s %s: %w", k.noun, n.ID, store.ErrNotFound)
			}
			if !r.RecalledAt.IsZero() {
				return r, record.ErrNoChange
			}
			r.RecalledAt = now
			return r, nil
		}, record.WithExpiry(func(r noticeRow) time.Time { return r.CreatedAt.Add(s.retention) })); err != nil {
			return recalled{}, AsError(err)
		}
	}
	if out.notes == nil {
		out.notes = []string{}
	}
	return out, nil
}
