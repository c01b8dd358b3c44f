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
)

// RobotMessageRequest is a message to send as the app's robot (企业机器人):
// POST /v1/robot/messages. Give UserIDs (one-to-one chats, sent in calls
// of dingtalk.MaxChatbotUsers) or OpenConversationID (a group the robot
// is in).
type RobotMessageRequest struct {
	UserIDs            []string `json:"userids,omitempty"`
	OpenConversationID string   `json:"open_conversation_id,omitempty"`
	// CoolAppCode is required by DingTalk for a robot installed in the
	// group through a cool app (酷应用).
	CoolAppCode string `json:"cool_app_code,omitempty"`
	// Msg is DingTalk's message template and its fields:
	// {"msgKey":"sampleText","msgParam":{"content":"…"}}.
	Msg *dingtalk.BotMessage `json:"msg"`
	// IdempotencyKey may be given here instead of the Idempotency-Key
	// header.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// MaxRobotMessageUserIDs is how many userids one robot message request may
// name: 250 DingTalk calls.
const MaxRobotMessageUserIDs = 5000

// More warning codes, for robot messages.
const (
	// WarnInvalidUserIDs: DingTalk did not know these userids; they got
	// nothing.
	WarnInvalidUserIDs = "invalid_userids"
	// WarnFlowControlled: DingTalk's flow control held these people back;
	// they got nothing.
	WarnFlowControlled = "flow_controlled"
)

// RobotMessageAnswer is the answer to a robot message (202 Accepted).
type RobotMessageAnswer struct {
	ID string `json:"id"`
	// ProcessQueryKeys are DingTalk's keys of the calls sent so far.
	ProcessQueryKeys []string  `json:"process_query_keys"`
	Status           string    `json:"status"`
	Warnings         []Warning `json:"warnings"`
	// Replayed is set when the answer is the stored first answer to the
	// same Idempotency-Key.
	Replayed bool `json:"-"`
}

// checkRobotMessage validates a request before anything is recorded or
// sent.
func checkRobotMessage(req *RobotMessageRequest) error {
	if req.Msg == nil {
		e := newError(http.StatusBadRequest, CodeInvalidMessage, `msg is required: DingTalk's robot message, e.g. {"msgKey":"sampleText","msgParam":{"content":"…"}}`)
		e.Body.Field, e.Body.Rule = "msg", string(dingtalk.RuleRequired)
		return e
	}
	if err := req.Msg.Validate(); err != nil {
		if ve, ok := errors.AsType[*dingtalk.ValidationError](err); ok {
			c := *ve
			c.Field = "msg." + ve.Field
			return &c
		}
		return err
	}
	switch {
	case req.OpenConversationID != "" && len(req.UserIDs) > 0:
		return invalid("open_conversation_id", "exclusive", "send to userids or to open_conversation_id, not both")
	case req.OpenConversationID == "" && len(req.UserIDs) == 0:
		return invalid("userids", "required", "no recipients: set userids or open_conversation_id")
	case req.CoolAppCode != "" && req.OpenConversationID == "":
		return invalid("cool_app_code", "exclusive", "cool_app_code goes with open_conversation_id")
	case len(req.UserIDs) > MaxRobotMessageUserIDs:
		return invalid("userids", "max_count", "%d userids, more than %d in one request", len(req.UserIDs), MaxRobotMessageUserIDs)
	case len(req.OpenConversationID) > 128 || strings.ContainsAny(req.OpenConversationID, " \t\r\n"):
		return invalid("open_conversation_id", "format", "open_conversation_id is DingTalk's openConversationId (cid…)")
	}
	return checkUsersAndKey(req.UserIDs, req.IdempotencyKey)
}

// SendRobotMessage records and sends a message as the app's robot
// (DINGTALK_ROBOT_CODE) for caller, with the work notices' model: the
// request is validated, split into the fewest calls (20 userids each, or
// the one group), recorded before the first is sent, sent as far as the
// robot's 6 000 messages a minute allow (the rest by the sync tick), each
// call's outcome recorded (a call without an answer is unknown and never
// resent). With an idempotency key the same request returns the first
// answer and sends nothing again.
func (s *Service) SendRobotMessage(ctx context.Context, caller string, req RobotMessageRequest) (RobotMessageAnswer, error) {
	if s.robotCode == "" {
		return RobotMessageAnswer{}, newError(http.StatusNotImplemented, CodeNotConfigured, "robot messages need the app robot's code (DINGTALK_ROBOT_CODE)")
	}
	if err := checkRobotMessage(&req); err != nil {
		return RobotMessageAnswer{}, AsError(err)
	}
	key := req.IdempotencyKey
	req.IdempotencyKey = "" // the canonical request, which the key's hash is of
	return send(ctx, s, robotMessages, caller, key, req,
		func(id string) (noticeRow, []partRow, error) { return s.planRobotMessage(id, caller, key, req) }, s.robotAnswer)
}

// planRobotMessage builds a robot message's record and parts: userids by
// dingtalk.MaxChatbotUsers, or the one group.
func (s *Service) planRobotMessage(id, caller, key string, req RobotMessageRequest) (noticeRow, []partRow, error) {
	msg, err := json.Marshal(req.Msg)
	if err != nil {
		return noticeRow{}, nil, fmt.Errorf("notify: encode message: %w", err)
	}
	n := noticeRow{ID: id, Kind: KindRobotMessage, RobotCode: s.robotCode, ConversationID: req.OpenConversationID,
		CoolAppCode: req.CoolAppCode, Caller: caller, CreatedAt: s.now(), Msg: msg, MsgHash: hashBytes(msg),
		IdempotencyKey: key, Warnings: []Warning{}}
	var parts []partRow
	add := func(p partRow) {
		p.Notice, p.N, p.State = id, len(parts)+1, PartPending
		parts = append(parts, p)
	}
	if req.OpenConversationID != "" {
		add(partRow{ConversationID: req.OpenConversationID, Charge: 1})
	}
	users, dups := dedupe(req.UserIDs)
	if len(dups) > 0 {
		n.Warnings = append(n.Warnings, warnUsers(WarnDuplicateUserIDs, fmt.Sprintf("%d userids were named more than once; each person is sent the message once", len(dups)), dups))
	}
	for chunk := range slices.Chunk(users, dingtalk.MaxChatbotUsers) {
		add(partRow{UserIDs: chunk, Charge: len(chunk)})
	}
	n.Users, n.Parts = len(users), len(parts)
	return n, parts, nil
}

// robotAnswer builds the answer to a send from the message's parts.
func (s *Service) robotAnswer(n noticeRow, parts []partRow) RobotMessageAnswer {
	a := RobotMessageAnswer{ID: n.ID, ProcessQueryKeys: []string{}, Status: noticeStatus(n, parts, s.now()), Warnings: slices.Clone(n.Warnings)}
	var bad, held []string
	waiting := 0
	for _, p := range parts {
		switch p.State {
		case PartSent:
			a.ProcessQueryKeys = append(a.ProcessQueryKeys, p.ProcessQueryKey)
			bad, held = append(bad, p.InvalidUserIDs...), append(held, p.FlowControlled...)
		case PartPending:
			waiting++
		}
	}
	if len(bad) > 0 {
		a.Warnings = append(a.Warnings, warnUsers(WarnInvalidUserIDs, fmt.Sprintf("DingTalk does not know %d of the userids; they got nothing", len(bad)), bad))
	}
	if len(held) > 0 {
		a.Warnings = append(a.Warnings, warnUsers(WarnFlowControlled, fmt.Sprintf("DingTalk's flow control held back %d people; they got nothing (send to them again later)", len(held)), held))
	}
	if waiting > 0 {
		a.Warnings = append(a.Warnings, Warning{Code: WarnScheduled, Count: waiting, Message: fmt.Sprintf(
			"%d of %d calls wait for the robot's budget of %d messages a minute (or for DingTalk to accept calls again); the sync tick sends them. GET /v1/robot/messages/%s shows the progress",
			waiting, len(parts), s.botPerMinute, n.ID)})
	}
	if a.Warnings == nil {
		a.Warnings = []Warning{}
	}
	return a
}

// RobotMessageStatus is what GET /v1/robot/messages/{id} answers.
type RobotMessageStatus struct {
	ID                 string        `json:"id"`
	Status             string        `json:"status"`
	CreatedAt          time.Time     `json:"created_at"`
	OpenConversationID string        `json:"open_conversation_id,omitempty"`
	ProcessQueryKeys   []string      `json:"process_query_keys"`
	Progress           RobotProgress `json:"progress"`
	// Result lists the people of the calls checked, by read state, and
	// those DingTalk did not reach. For a group DingTalk names only the
	// readers: Unread stays empty.
	Result   RobotResult       `json:"result"`
	Parts    []RobotPartStatus `json:"parts"`
	Warnings []Warning         `json:"warnings"`
	Notes    []string          `json:"notes"`
}

// RobotProgress counts a robot message's calls by state.
type RobotProgress struct {
	PartCounts
	// Checked is how many sent calls this answer asked DingTalk about;
	// ResultComplete says Result covers every person DingTalk reports on
	// (for a group: every reader).
	Checked        int  `json:"checked"`
	ResultComplete bool `json:"result_complete"`
}

// RobotResult is a robot message's people by outcome.
type RobotResult struct {
	Read           []string `json:"read"`
	Unread         []string `json:"unread"`
	Invalid        []string `json:"invalid"`
	FlowControlled []string `json:"flow_controlled"`
}

// RobotPartStatus is one DingTalk call of a robot message.
type RobotPartStatus struct {
	N                  int        `json:"n"`
	State              string     `json:"state"`
	ProcessQueryKey    string     `json:"process_query_key,omitempty"`
	Users              int        `json:"users,omitempty"`
	OpenConversationID string     `json:"open_conversation_id,omitempty"`
	SentAt             *time.Time `json:"sent_at,omitempty"`
	// SendStatus is DingTalk's state of a checked call: SUCCESS, RECALLED
	// or PROCESSING.
	SendStatus      string `json:"send_status,omitempty"`
	Error           string `json:"error,omitempty"`
	DingTalkErrCode int    `json:"dingtalk_errcode,omitempty"`
	DingTalkCode    string `json:"dingtalk_code,omitempty"`
	Check           string `json:"check,omitempty"`
}

// robotUnknownCheck tells a caller what to do about an unknown call.
const robotUnknownCheck = "DingTalk did not answer this call, so notify does not know whether it was sent, and never sends it again by itself (DingTalk's robot API has no idempotency key). Ask one of these people whether the message arrived; to send it anyway, POST a new robot message (a new Idempotency-Key)."

// RobotMessage returns a robot message's status: its calls from the store
// and, for calls sent within the last 24 hours, DingTalk's read status
// (MaxTasksChecked calls per request, from o.FromPart): who read and who
// did not for one-to-one calls (oToMessages/readStatus), who read for a
// group (groupMessages/query names no one else).
func (s *Service) RobotMessage(ctx context.Context, id string, o StatusOptions) (RobotMessageStatus, error) {
	n, parts, err := s.get(ctx, robotMessages, id)
	if err != nil {
		return RobotMessageStatus{}, err
	}
	now := s.now()
	st := RobotMessageStatus{ID: n.ID, Status: noticeStatus(n, parts, now), CreatedAt: n.CreatedAt, OpenConversationID: n.ConversationID,
		ProcessQueryKeys: []string{}, Parts: make([]RobotPartStatus, 0, len(parts)), Warnings: n.Warnings, Notes: []string{},
		Result: RobotResult{Read: []string{}, Unread: []string{}, Invalid: []string{}, FlowControlled: []string{}}}
	pr := &st.Progress
	complete := true
	from := max(o.FromPart, 1)
	for _, p := range parts {
		state := p.effectiveState(now)
		pr.add(state)
		ps := RobotPartStatus{N: p.N, State: state, ProcessQueryKey: p.ProcessQueryKey, Users: len(p.UserIDs), OpenConversationID: p.ConversationID,
			SentAt: p.sentTime(), Error: p.errorText(state, robotMessages), DingTalkErrCode: p.ErrCode, DingTalkCode: p.Code}
		switch state {
		case PartPending, PartSending:
			complete = false
		case PartUnknown:
			complete = false
			ps.Check = robotUnknownCheck
		case PartSent:
			st.ProcessQueryKeys = append(st.ProcessQueryKeys, p.ProcessQueryKey)
			st.Result.Invalid = append(st.Result.Invalid, p.InvalidUserIDs...)
			st.Result.FlowControlled = append(st.Result.FlowControlled, p.FlowControlled...)
			switch {
			case o.NoDingTalk || p.N < from || pr.Checked == MaxTasksChecked:
				complete = false
			case now.Sub(p.SentAt) >= dingtalk.ChatbotRecallWindow:
				complete = false
				st.Notes = append(st.Notes, fmt.Sprintf("part %d was sent more than 24 hours ago; DingTalk no longer reports its read state", p.N))
			case p.ConversationID != "":
				rs, err := s.dt.Chatbot.GroupReadStatus(ctx, n.RobotCode, p.ConversationID, p.ProcessQueryKey)
				if e, ok := errors.AsType[*dingtalk.Error](err); ok && e.Code == dingtalk.CodeProcessQueryKeyExpired {
					// Within the 24 hours this means DingTalk has not built
					// the message's read data yet (its docs give both
					// meanings to the one code).
					complete = false
					st.Notes = append(st.Notes, fmt.Sprintf("part %d: DingTalk has no read data for this group message yet; ask again later", p.N))
					break
				}
				if err != nil {
					return RobotMessageStatus{}, AsError(err)
				}
				pr.Checked++
				ps.SendStatus = rs.SendStatus
				st.Result.Read = append(st.Result.Read, rs.ReadUserIDs...)
				st.Notes = append(st.Notes, fmt.Sprintf("part %d went to a group: DingTalk names who read it, not who did not (the group's other members)", p.N))
			default:
				rs, err := s.dt.Chatbot.ReadStatus(ctx, n.RobotCode, p.ProcessQueryKey)
				if err != nil {
					return RobotMessageStatus{}, AsError(err)
				}
				pr.Checked++
				ps.SendStatus = rs.SendStatus
				for _, r := range rs.Readers {
					if r.ReadStatus == dingtalk.BotRead {
						st.Result.Read = append(st.Result.Read, r.UserID)
					} else {
						st.Result.Unread = append(st.Result.Unread, r.UserID)
					}
				}
			}
		}
		st.Parts = append(st.Parts, ps)
	}
	pr.ResultComplete = complete
	if pr.Pending > 0 {
		st.Notes = append(st.Notes, fmt.Sprintf("%d calls wait for the robot's per-minute budget; the sync tick sends them", pr.Pending))
	}
	if !o.NoDingTalk && pr.Checked < pr.Sent {
		st.Notes = append(st.Notes, fmt.Sprintf("DingTalk was asked about %d of %d sent calls, from part %d; ask again with ?from_part= to see the others", pr.Checked, pr.Sent, from))
	}
	return st, nil
}

// RobotRecallResult is what DELETE /v1/robot/messages/{id} answers.
type RobotRecallResult struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// RecalledKeys are the calls DingTalk recalled; CancelledParts the
	// calls that had not been sent and now never will be.
	RecalledKeys   []string `json:"recalled_process_query_keys"`
	CancelledParts int      `json:"cancelled_parts"`
	Notes          []string `json:"notes"`
}

// RecallRobotMessage withdraws a robot message: calls not yet sent are
// cancelled, and sent ones recalled through DingTalk (20 per call), which
// allows it within 24 hours of sending; a group shows no recall notice.
// Recalling again answers the same.
func (s *Service) RecallRobotMessage(ctx context.Context, id string) (RobotRecallResult, error) {
	n, parts, err := s.get(ctx, robotMessages, id)
	if err != nil {
		return RobotRecallResult{}, err
	}
	out, err := s.recall(ctx, robotMessages, n, parts, func(sent []partRow) []recallCall {
		var calls []recallCall
		var users []partRow
		for _, p := range sent {
			if p.ConversationID == "" {
				users = append(users, p)
				continue
			}
			calls = append(calls, recallCall{parts: []partRow{p}, do: func(ctx context.Context) (map[string]string, error) {
				return recalledFailed(s.dt.Chatbot.RecallGroup(ctx, n.RobotCode, p.ConversationID, []string{p.ProcessQueryKey}))
			}})
		}
		var batches []recallCall
		for batch := range slices.Chunk(users, dingtalk.MaxChatbotRecallKeys) {
			batches = append(batches, recallCall{parts: batch, do: func(ctx context.Context) (map[string]string, error) {
				keys := make([]string, len(batch))
				for i, p := range batch {
					keys[i] = p.ProcessQueryKey
				}
				return recalledFailed(s.dt.Chatbot.RecallUsers(ctx, n.RobotCode, keys))
			}})
		}
		return append(batches, calls...)
	})
	if err != nil {
		return RobotRecallResult{}, err
	}
	res := RobotRecallResult{ID: id, Status: StatusRecalled, RecalledKeys: []string{}, CancelledParts: out.cancelled, Notes: out.notes}
	for _, p := range out.recalled {
		res.RecalledKeys = append(res.RecalledKeys, p.ProcessQueryKey)
	}
	slices.Sort(res.RecalledKeys)
	return res, nil
}

// recalledFailed is a robot recall's failures by key.
func recalledFailed(r *dingtalk.ChatbotRecallResult, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	return r.Failed, nil
}
