package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// NoticeRequest is a work notice (工作通知) to send: POST /v1/notices.
// Give UserIDs and/or DeptIDs (sub-departments included), or ToAll.
type NoticeRequest struct {
	UserIDs []string `json:"userids,omitempty"`
	DeptIDs []int64  `json:"dept_ids,omitempty"`
	ToAll   bool     `json:"to_all,omitempty"`
	// Msg is DingTalk's own work-notice message object.
	Msg *dingtalk.Message `json:"msg"`
	// IdempotencyKey may be given here instead of the Idempotency-Key
	// header.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// Limits of one request. A request is split into as many DingTalk calls
// as DingTalk's per-call caps need.
const (
	// MaxRequestUserIDs is how many userids one request may name.
	MaxRequestUserIDs = 50000
	// MaxRequestDeptIDs is how many department ids one request may name.
	MaxRequestDeptIDs = 1000
	// MaxUserIDLength is the longest userid DingTalk issues.
	MaxUserIDLength = 64
)

// Notice statuses, in NoticeAnswer.Status and NoticeStatus.Status.
const (
	// StatusScheduled: parts wait for DingTalk's per-minute recipient
	// budget; the sync tick sends them within minutes.
	StatusScheduled = "scheduled"
	// StatusSending: a part is being sent now.
	StatusSending = "sending"
	// StatusSent: DingTalk accepted every part (delivery itself is in
	// the result: read, unread, failed, forbidden).
	StatusSent = "sent"
	// StatusPartial: some parts were accepted and others refused.
	StatusPartial = "partial"
	// StatusFailed: DingTalk refused every part.
	StatusFailed = "failed"
	// StatusUnknown: the outcome of a part is unknown (a timeout after
	// sending); it is never resent automatically.
	StatusUnknown = "unknown"
	// StatusRecalled: the notice was recalled.
	StatusRecalled = "recalled"
)

// Part states, in PartStatus.State. A part is one DingTalk send call.
const (
	PartPending   = "pending"   // recorded, not sent yet
	PartSending   = "sending"   // claimed by an instance, DingTalk's answer not recorded yet
	PartSent      = "sent"      // DingTalk accepted it (task_id)
	PartFailed    = "failed"    // DingTalk refused it; nothing was sent
	PartUnknown   = "unknown"   // may or may not have been sent; never resent
	PartCancelled = "cancelled" // recalled before it was sent
)

// Warning codes: what DingTalk will do silently, said out loud.
const (
	// WarnDuplicateContent: these people already got identical content
	// from the app today (China time); DingTalk delivers it once a day.
	WarnDuplicateContent = "duplicate_content"
	// WarnDailyLimit: these people reached DingTalk's 500 notices a day
	// from the app; DingTalk drops the rest.
	WarnDailyLimit = "daily_limit"
	// WarnOverCallRecipients: a department part or to_all reaches more
	// than 5 000 people; DingTalk delivers to the first 5 000 only.
	WarnOverCallRecipients = "over_call_recipients"
	// WarnStatusBarIgnored: oa.status_bar shows only for a userid list of
	// at most 5 people.
	WarnStatusBarIgnored = "oa_status_bar_ignored"
	// WarnScheduled: the request exceeds what DingTalk accepts in a
	// minute; the rest is sent by the sync tick.
	WarnScheduled = "scheduled"
	// WarnDuplicateUserIDs: userids named more than once are sent once.
	WarnDuplicateUserIDs = "duplicate_userids"
	// WarnDepartmentsUnchecked: duplicate content and daily caps cannot
	// be checked for people reached through departments or to_all.
	WarnDepartmentsUnchecked = "departments_unchecked"
)

// Warning is something DingTalk will do silently with a notice.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// UserIDs lists the people concerned (at most 100; Count has all).
	UserIDs []string `json:"userids,omitempty"`
	Count   int      `json:"count,omitempty"`
}

// maxWarnedUserIDs bounds the userids listed in one warning.
const maxWarnedUserIDs = 100

func warnUsers(code, message string, ids []string) Warning {
	w := Warning{Code: code, Message: message, Count: len(ids)}
	w.UserIDs = slices.Clone(ids[:min(len(ids), maxWarnedUserIDs)])
	return w
}

// NoticeAnswer is the answer to a send (202 Accepted).
type NoticeAnswer struct {
	ID string `json:"id"`
	// TaskIDs are DingTalk's task ids of the parts sent so far.
	TaskIDs  []int64   `json:"task_ids"`
	Status   string    `json:"status"`
	Warnings []Warning `json:"warnings"`
	// Replayed is set when the answer is the stored first answer to the
	// same Idempotency-Key (header Idempotent-Replayed: true).
	Replayed bool `json:"-"`
}

// KindRobotMessage marks an app-robot message in NoticesTable; a work
// notice has no kind.
const KindRobotMessage = "robot_message"

// noticeRow is a notice as stored (NoticesTable, key: id), or an app-robot
// message (Kind KindRobotMessage), which shares its parts, claims and due
// list.
type noticeRow struct {
	ID string `json:"id"`
	// Kind is "" for a work notice, KindRobotMessage for a robot message,
	// which names its robot (RobotCode) and, for a group, the conversation
	// (ConversationID, CoolAppCode) instead of an agent.
	Kind           string    `json:"kind,omitempty"`
	RobotCode      string    `json:"robot_code,omitempty"`
	ConversationID string    `json:"open_conversation_id,omitempty"`
	CoolAppCode    string    `json:"cool_app_code,omitempty"`
	Caller         string    `json:"caller"`
	AgentID        int64     `json:"agent_id"`
	CreatedAt      time.Time `json:"created_at"`
	// Msg is the message as validated; MsgHash its SHA-256.
	Msg     json.RawMessage `json:"msg"`
	MsgHash string          `json:"msg_hash"`
	// Users, DeptIDs and ToAll sum up the recipients; the parts list them.
	Users          int       `json:"users"`
	DeptIDs        []int64   `json:"dept_ids,omitempty"`
	ToAll          bool      `json:"to_all,omitempty"`
	Parts          int       `json:"parts"`
	Warnings       []Warning `json:"warnings"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	RecalledAt     time.Time `json:"recalled_at,omitzero"`
}

// partRow is one DingTalk send call of a notice (NoticesTable, key:
// id/NNNN).
type partRow struct {
	Notice  string   `json:"notice"`
	N       int      `json:"n"`
	UserIDs []string `json:"userids,omitempty"`
	DeptIDs []int64  `json:"dept_ids,omitempty"`
	ToAll   bool     `json:"to_all,omitempty"`
	// ConversationID is a robot message's group (one call); UserIDs its
	// people otherwise.
	ConversationID string `json:"open_conversation_id,omitempty"`
	// Charge is what the part counts against the per-minute budget: its
	// people, as far as they are known (a robot's group message is 1).
	Charge       int       `json:"charge"`
	State        string    `json:"state"`
	Attempts     int       `json:"attempts,omitempty"`
	ClaimedBy    string    `json:"claimed_by,omitempty"`
	ClaimedUntil time.Time `json:"claimed_until,omitzero"`
	TaskID       int64     `json:"task_id,omitempty"`
	// ProcessQueryKey names a sent robot-message part at DingTalk; the
	// userids DingTalk did not know, or held back, are listed.
	ProcessQueryKey string    `json:"process_query_key,omitempty"`
	InvalidUserIDs  []string  `json:"invalid_userids,omitempty"`
	FlowControlled  []string  `json:"flow_controlled_userids,omitempty"`
	SentAt          time.Time `json:"sent_at,omitzero"`
	Error           string    `json:"error,omitempty"`
	ErrCode         int       `json:"dingtalk_errcode,omitempty"`
	// Code is the new API's error code of a failed robot-message part.
	Code       string    `json:"dingtalk_code,omitempty"`
	RecalledAt time.Time `json:"recalled_at,omitzero"`
}

func partKey(id string, n int) string { return fmt.Sprintf("%s/%04d", id, n) }

// settled reports whether a part is in a final state at now; a claim that
// outlived its owner counts as final (unknown).
func (p partRow) settled(now time.Time) bool {
	switch p.State {
	case PartPending:
		return false
	case PartSending:
		return now.After(p.ClaimedUntil)
	}
	return true
}

// effectiveState is the part's state with an abandoned claim read as
// unknown.
func (p partRow) effectiveState(now time.Time) string {
	if p.State == PartSending && now.After(p.ClaimedUntil) {
		return PartUnknown
	}
	return p.State
}

// sentTime is when the part was sent, or nil before.
func (p partRow) sentTime() *time.Time {
	if p.SentAt.IsZero() {
		return nil
	}
	t := p.SentAt
	return &t
}

// errorText is the part's error for its status in state: an abandoned
// claim's when the part records none.
func (p partRow) errorText(state string, k *recordKind) string {
	if p.Error == "" && state == PartUnknown {
		return "the instance sending this " + k.call + " stopped before recording DingTalk's answer"
	}
	return p.Error
}

// checkNotice validates a request before anything is recorded or sent.
func checkNotice(req *NoticeRequest) error {
	if req.Msg == nil {
		e := newError(http.StatusBadRequest, CodeInvalidMessage, "msg is required: DingTalk's message object, e.g. {\"msgtype\":\"text\",\"text\":{\"content\":\"…\"}}")
		e.Body.Field, e.Body.Rule = "msg", string(dingtalk.RuleRequired)
		return e
	}
	if err := req.Msg.Validate(); err != nil {
		return err
	}
	switch {
	case req.ToAll && (len(req.UserIDs) > 0 || len(req.DeptIDs) > 0):
		return invalid("to_all", "exclusive", "to_all sends to everyone; leave userids and dept_ids out")
	case !req.ToAll && len(req.UserIDs) == 0 && len(req.DeptIDs) == 0:
		return invalid("userids", "required", "no recipients: set userids, dept_ids or to_all")
	case len(req.UserIDs) > MaxRequestUserIDs:
		return invalid("userids", "max_count", "%d userids, more than %d in one request", len(req.UserIDs), MaxRequestUserIDs)
	case len(req.DeptIDs) > MaxRequestDeptIDs:
		return invalid("dept_ids", "max_count", "%d department ids, more than %d in one request", len(req.DeptIDs), MaxRequestDeptIDs)
	}
	for i, d := range req.DeptIDs {
		if d <= 0 {
			return invalid(fmt.Sprintf("dept_ids[%d]", i), "format", "dept_ids[%d] %d is not a department id (1 is the whole organisation)", i, d)
		}
	}
	return checkUsersAndKey(req.UserIDs, req.IdempotencyKey)
}

// checkUsersAndKey checks what both kinds of request carry alike: the
// userids, and the idempotency key given in the body.
func checkUsersAndKey(userIDs []string, key string) error {
	for i, id := range userIDs {
		if id == "" || len(id) > MaxUserIDLength || strings.ContainsAny(id, ", \t\r\n") {
			return invalid(fmt.Sprintf("userids[%d]", i), "format", "userids[%d] %q is not a userid (1 to %d characters, no commas or spaces)", i, truncate(id, 80), MaxUserIDLength)
		}
	}
	if key != "" {
		return checkIdempotencyKey(key, "idempotency_key")
	}
	return nil
}

// dedupe returns ids without repeats, in their order, and the repeats.
func dedupe(ids []string) (unique, repeated []string) {
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			repeated = append(repeated, id)
			continue
		}
		seen[id] = true
		unique = append(unique, id)
	}
	return unique, repeated
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// SendNotice records and sends a work notice for caller (the API key's
// name; idempotency keys are per caller). It validates the request,
// splits it into the fewest DingTalk calls the per-call caps allow,
// records the notice and every part before sending, sends as many parts
// as DingTalk's per-minute recipient budget allows now, and leaves the
// rest to SendDue (the sync tick). With an idempotency key the same
// request returns the first answer and sends nothing again.
func (s *Service) SendNotice(ctx context.Context, caller string, req NoticeRequest) (NoticeAnswer, error) {
	if s.agentID == 0 {
		return NoticeAnswer{}, newError(http.StatusNotImplemented, CodeNotConfigured, "work notices need DINGTALK_AGENT_ID")
	}
	if err := checkNotice(&req); err != nil {
		return NoticeAnswer{}, AsError(err)
	}
	key := req.IdempotencyKey
	req.IdempotencyKey = "" // the canonical request, which the key's hash is of
	return send(ctx, s, workNotices, caller, key, req,
		func(id string) (noticeRow, []partRow, error) { return s.planNotice(ctx, id, caller, key, req) }, s.answer)
}

// recordKind is what differs between the two kinds of record
// NoticesTable holds, work notices and the app robot's messages;
// submitting, loading, sending, counting and recalling them is one code
// over it.
type recordKind struct {
	// kind is noticeRow.Kind; prefix starts the ids (see Service.newID);
	// scope scopes the idempotency keys.
	kind   string
	prefix byte
	scope  string
	// noun names one in messages and logs; kept starts the 404's note on
	// retention; what names one in the recall's refusal.
	noun, kept, what string
	// recallWindow is how long after sending DingTalk recalls a part;
	// handle is what DingTalk recalls a sent part by.
	recallWindow time.Duration
	handle       string
	// call is what one part is called in its status.
	call string
}

var (
	workNotices = &recordKind{prefix: 'n', scope: "notices", noun: "notice", kept: "notices are kept",
		what: "a work notice", recallWindow: recallWindow, handle: "task id", call: "part"}
	robotMessages = &recordKind{kind: KindRobotMessage, prefix: 'r', scope: "robot_messages", noun: "robot message", kept: "they are kept",
		what: "a robot message", recallWindow: dingtalk.ChatbotRecallWindow, handle: "key", call: "call"}
)

// sendAnswer is what a send answers: NoticeAnswer or RobotMessageAnswer.
type sendAnswer interface {
	// summary is the answer's id and status, and how many DingTalk calls
	// were made, for the log.
	summary() (id, status string, calls int)
}

// replayable is a pointer to an answer, which a replay marks.
type replayable[A sendAnswer] interface {
	*A
	setReplayed()
}

func (a NoticeAnswer) summary() (string, string, int) { return a.ID, a.Status, len(a.TaskIDs) }
func (a *NoticeAnswer) setReplayed()                  { a.Replayed = true }
func (a RobotMessageAnswer) summary() (string, string, int) {
	return a.ID, a.Status, len(a.ProcessQueryKeys)
}
func (a *RobotMessageAnswer) setReplayed() { a.Replayed = true }

// send is SendNotice and SendRobotMessage once the request is valid. It
// claims the idempotency key of canon (the request without its key) for
// caller, or returns the key's first answer; records plan's record of
// kind k and its parts, or loads what a taken-over request recorded;
// sends a round; and answers with build's account of the record, which
// becomes the key's answer. A work notice and a robot message share the
// claim, the record-before-send order, the per-part claims and SendDue.
// Its errors are *Error.
func send[A sendAnswer, P replayable[A]](ctx context.Context, s *Service, k *recordKind, caller, key string, canon any,
	plan func(id string) (noticeRow, []partRow, error), build func(noticeRow, []partRow) A) (A, error) {
	var zero A
	ctx = httpapi.WithCaller(ctx, caller)
	hash, err := requestHash(canon)
	if err != nil {
		return zero, AsError(err)
	}
	newID := func() string { return s.newID(k.prefix) }
	var c claim
	id := ""
	if key != "" {
		if c, err = s.idem.begin(ctx, k.scope, caller, key, hash, newID); err != nil {
			return zero, AsError(err)
		}
		if c.replay != nil {
			var a A
			if err := json.Unmarshal(c.replay.Answer, &a); err != nil {
				return zero, AsError(fmt.Errorf("notify: stored answer: %w", err))
			}
			P(&a).setReplayed()
			return a, nil
		}
		id = c.row.Resource
	} else {
		id = newID()
	}
	if s.crashed("claimed", 0) {
		return zero, errCrashed
	}
	n, parts, err := s.ensure(ctx, id, c.takenOver, plan)
	if err == nil {
		parts, err = s.sendRound(ctx, &n, parts)
	} else if key != "" && !c.takenOver && !errors.Is(err, errCrashed) {
		// Nothing was sent: the key may be used again.
		if rerr := s.idem.release(context.WithoutCancel(ctx), c); rerr != nil {
			s.log.WarnContext(ctx, "notify: release idempotency key", "err", rerr)
		}
	}
	if errors.Is(err, errCrashed) {
		return zero, err
	}
	if err != nil {
		return zero, AsError(err)
	}
	a := build(n, parts)
	if key != "" {
		rp, err := s.idem.finish(context.WithoutCancel(ctx), c, http.StatusAccepted, a)
		if err != nil {
			return zero, AsError(err)
		}
		var first A
		if json.Unmarshal(rp.Answer, &first) == nil {
			if firstID, _, _ := first.summary(); firstID == id {
				a = first
			}
		}
	}
	_, status, calls := a.summary()
	s.log.InfoContext(ctx, "notify: "+k.noun, "id", id, "status", status, "parts", n.Parts, "sent", calls)
	return a, nil
}

// ensure loads record id when a taken-over request already recorded it,
// and otherwise records plan's record and parts: the parts first, then
// the due row, then the record, so a record that exists has every part.
func (s *Service) ensure(ctx context.Context, id string, takenOver bool, plan func(id string) (noticeRow, []partRow, error)) (noticeRow, []partRow, error) {
	if takenOver {
		n, parts, err := s.loadNotice(ctx, id)
		if err == nil {
			return n, parts, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return noticeRow{}, nil, err
		}
		// The owner died before recording anything, so nothing was sent.
	}
	n, parts, err := plan(id)
	if err != nil {
		return noticeRow{}, nil, err
	}
	expires := n.CreatedAt.Add(s.retention)
	writes := make([]store.Write, 0, len(parts))
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return noticeRow{}, nil, fmt.Errorf("notify: encode part: %w", err)
		}
		writes = append(writes, store.Write{Item: store.Item{Key: partKey(id, p.N), Value: b, ExpiresAt: expires}})
	}
	if err := s.st.Batch(ctx, NoticesTable, writes); err != nil {
		return noticeRow{}, nil, fmt.Errorf("notify: record parts of %s: %w", id, err)
	}
	if s.crashed("parts-recorded", 0) {
		return noticeRow{}, nil, errCrashed
	}
	if err := s.markDue(ctx, id, expires); err != nil {
		return noticeRow{}, nil, err
	}
	if _, err := record.Put(ctx, s.st, NoticesTable, id, n, store.Always, expires); err != nil {
		return noticeRow{}, nil, fmt.Errorf("notify: record %s: %w", id, err)
	}
	return n, parts, nil
}

// planNotice builds a work notice's record and parts, and records what
// each person is sent today (for the duplicate and daily-cap warnings).
func (s *Service) planNotice(ctx context.Context, id, caller, key string, req NoticeRequest) (noticeRow, []partRow, error) {
	msg, err := json.Marshal(req.Msg)
	if err != nil {
		return noticeRow{}, nil, fmt.Errorf("notify: encode message: %w", err)
	}
	now := s.now()
	n := noticeRow{ID: id, Caller: caller, AgentID: s.agentID, CreatedAt: now, Msg: msg, MsgHash: hashBytes(msg),
		DeptIDs: req.DeptIDs, ToAll: req.ToAll, IdempotencyKey: key}
	parts, users, warnings, err := s.plan(ctx, id, req)
	if err != nil {
		return noticeRow{}, nil, err
	}
	n.Users, n.Parts = len(users), len(parts)
	if len(users) > 0 {
		dup, capped, err := s.recordDaily(ctx, id, n.MsgHash, users)
		if err != nil {
			return noticeRow{}, nil, err
		}
		if len(dup) > 0 {
			warnings = append(warnings, warnUsers(WarnDuplicateContent, fmt.Sprintf(
				"%d people already got identical content from this app today (China time); DingTalk delivers identical content to a person once a day, so they will not get it again (change the content to send it anyway)", len(dup)), dup))
		}
		if len(capped) > 0 {
			warnings = append(warnings, warnUsers(WarnDailyLimit, fmt.Sprintf(
				"%d people already got %d notices from this app today (China time); DingTalk drops the rest", len(capped), dingtalk.MaxNoticesPerUserPerDay), capped))
		}
	}
	n.Warnings = warnings
	if n.Warnings == nil {
		n.Warnings = []Warning{}
	}
	return n, parts, nil
}

// loadNotice reads a notice and its parts; a missing notice matches
// store.ErrNotFound.
func (s *Service) loadNotice(ctx context.Context, id string) (noticeRow, []partRow, error) {
	rec, err := record.Get[noticeRow](ctx, s.st, NoticesTable, id)
	if err != nil {
		return noticeRow{}, nil, err
	}
	parts := make([]partRow, 0, rec.Value.Parts)
	for it, err := range store.All(ctx, s.st, NoticesTable, store.Range{Prefix: id + "/"}) {
		if err != nil {
			return noticeRow{}, nil, fmt.Errorf("notify: read parts of %s: %w", id, err)
		}
		var p partRow
		if err := json.Unmarshal(it.Value, &p); err != nil {
			return noticeRow{}, nil, fmt.Errorf("notify: %w: part %q: %w", record.ErrMalformed, it.Key, err)
		}
		parts = append(parts, p)
	}
	return rec.Value, parts, nil
}

// maxCountedDepts is the most departments a request may name for plan to
// count their people in the mirror.
const maxCountedDepts = dingtalk.MaxNoticeDepts

// plan splits a request into DingTalk calls: userids by 100, department
// ids by 20, to_all as one call. Each part's Charge is its people, from
// the directory mirror for departments when it knows them.
func (s *Service) plan(ctx context.Context, id string, req NoticeRequest) (parts []partRow, users []string, warnings []Warning, err error) {
	users, dups := dedupe(req.UserIDs)
	if len(dups) > 0 {
		warnings = append(warnings, warnUsers(WarnDuplicateUserIDs, fmt.Sprintf("%d userids were named more than once; each person is sent the notice once", len(dups)), dups))
	}
	add := func(p partRow) {
		p.Notice, p.N, p.State = id, len(parts)+1, PartPending
		parts = append(parts, p)
	}
	for chunk := range slices.Chunk(users, dingtalk.MaxNoticeUsers) {
		add(partRow{UserIDs: chunk, Charge: len(chunk)})
	}
	var over []string
	depts := slices.Compact(slices.Sorted(slices.Values(req.DeptIDs)))
	// Counting a department's people walks the mirror's tree; beyond one
	// call's worth of departments every part is charged the most a call
	// can reach instead.
	counted := s.dir != nil && len(depts) <= maxCountedDepts
	for chunk := range slices.Chunk(depts, dingtalk.MaxNoticeDepts) {
		n, known := 0, counted
		for _, d := range chunk {
			if !known {
				break
			}
			m, err := s.dir.Members(ctx, d, true)
			if err != nil {
				known = false
				break
			}
			n += len(m)
		}
		if !known {
			n = dingtalk.MaxNoticeRecipients
		} else if n > dingtalk.MaxNoticeRecipients {
			over = append(over, fmt.Sprint(chunk))
		}
		add(partRow{DeptIDs: chunk, Charge: min(max(n, 1), dingtalk.MaxNoticeRecipients)})
	}
	if req.ToAll {
		n, known := dingtalk.MaxNoticeRecipients, false
		if s.dir != nil {
			if c, err := s.dir.UserCount(ctx); err == nil && c > 0 {
				n, known = c, true
			}
		}
		if known && n > dingtalk.MaxNoticeRecipients {
			over = append(over, "to_all")
		}
		add(partRow{ToAll: true, Charge: min(n, dingtalk.MaxNoticeRecipients)})
	}
	if len(over) > 0 {
		warnings = append(warnings, Warning{Code: WarnOverCallRecipients, Message: fmt.Sprintf(
			"%s reach more than %d people, as the directory mirror counts them; DingTalk delivers one call to %d people at most and drops the rest silently (name the people by userid to reach everyone)",
			strings.Join(over, ", "), dingtalk.MaxNoticeRecipients, dingtalk.MaxNoticeRecipients)})
	}
	if len(req.DeptIDs) > 0 || req.ToAll {
		warnings = append(warnings, Warning{Code: WarnDepartmentsUnchecked, Message: "people reached through dept_ids or to_all are not checked for identical content sent today or for the daily cap; DingTalk drops such notices silently (see the result of GET /v1/notices/{id})"})
	}
	if m := req.Msg; m.MsgType == dingtalk.MsgTypeOA && m.OA != nil && m.OA.StatusBar != nil && (len(req.DeptIDs) > 0 || req.ToAll || len(users) > 5) {
		warnings = append(warnings, Warning{Code: WarnStatusBarIgnored, Message: "DingTalk shows oa.status_bar only for a userid list of at most 5 people; this notice is sent without it"})
	}
	return parts, users, warnings, nil
}

// markDue (re)writes the notice's row in DueTable, with a new version, so
// that a concurrent settle does not remove it.
func (s *Service) markDue(ctx context.Context, id string, expires time.Time) error {
	if _, err := record.Put(ctx, s.st, DueTable, id, dueRow{Notice: id}, store.Always, expires); err != nil {
		return fmt.Errorf("notify: mark %s due: %w", id, err)
	}
	return nil
}

// dueRow is a row of DueTable.
type dueRow struct {
	Notice string `json:"notice"`
}

// answer builds the answer to a send from the notice's parts.
func (s *Service) answer(n noticeRow, parts []partRow) NoticeAnswer {
	now := s.now()
	a := NoticeAnswer{ID: n.ID, TaskIDs: []int64{}, Status: noticeStatus(n, parts, now), Warnings: slices.Clone(n.Warnings)}
	waiting, people := 0, 0
	for _, p := range parts {
		if p.State == PartSent {
			a.TaskIDs = append(a.TaskIDs, p.TaskID)
		}
		if p.State == PartPending {
			waiting++
			people += p.Charge
		}
	}
	if waiting > 0 {
		minutes := (people + s.perMinute - 1) / s.perMinute
		a.Warnings = append(a.Warnings, Warning{Code: WarnScheduled, Count: waiting, Message: fmt.Sprintf(
			"%d of %d parts (about %d people) wait for DingTalk's budget of %d recipients a minute (or for DingTalk to accept calls again); the sync tick sends them over about %d minute(s). GET /v1/notices/%s shows the progress",
			waiting, len(parts), people, s.perMinute, max(minutes, 1), n.ID)})
	}
	if a.Warnings == nil {
		a.Warnings = []Warning{}
	}
	return a
}

// noticeStatus derives a notice's status from its parts.
func noticeStatus(n noticeRow, parts []partRow, now time.Time) string {
	if !n.RecalledAt.IsZero() {
		return StatusRecalled
	}
	count := map[string]int{}
	for _, p := range parts {
		count[p.effectiveState(now)]++
	}
	switch {
	case count[PartSending] > 0:
		return StatusSending
	case count[PartPending] > 0:
		return StatusScheduled
	case count[PartUnknown] > 0:
		return StatusUnknown
	case count[PartFailed] == 0:
		return StatusSent
	case count[PartSent] == 0:
		return StatusFailed
	}
	return StatusPartial
}
