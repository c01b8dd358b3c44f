package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// maxPartAttempts bounds how often a part DingTalk refused for a passing
// reason (rate limit, busy, token) is tried before it counts as failed.
const maxPartAttempts = 5

// sendMargin is the time a round keeps in hand before its context's
// deadline: it starts no DingTalk call later than that.
const sendMargin = 3 * time.Second

// errStopRound ends a round early: DingTalk refused a part for a passing
// reason, so the other parts wait too.
var errStopRound = errors.New("notify: DingTalk is refusing calls for now")

func budgetKey(agentID int64) string { return "notice_recipients/" + strconv.FormatInt(agentID, 10) }

// budget is the per-minute budget a record's parts draw on: the agent's
// work-notice recipients, or the robot's messages.
func (s *Service) budget(n *noticeRow) (key string, perMinute int) {
	if n.Kind == KindRobotMessage {
		return "chatbot/" + n.RobotCode, s.botPerMinute
	}
	return budgetKey(n.AgentID), s.perMinute
}

// sendRound settles abandoned parts and sends pending ones, in order, as
// far as the per-minute recipient budget and ctx's deadline allow. It
// returns the parts as they now stand and, when nothing is left to send
// or settle, removes the notice from DueTable.
func (s *Service) sendRound(ctx context.Context, n *noticeRow, parts []partRow) ([]partRow, error) {
	due, err := s.st.Get(ctx, DueTable, n.ID)
	dueVersion := due.Version
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return parts, fmt.Errorf("notify: read due %s: %w", n.ID, err)
	}
	now := s.now()
	for i, p := range parts {
		if p.State == PartSending && now.After(p.ClaimedUntil) {
			if parts[i], err = s.abandon(ctx, n.ID, p.N); err != nil {
				return parts, err
			}
		}
	}
	deadline, hasDeadline := ctx.Deadline()
	next := 0
	for n.RecalledAt.IsZero() {
		for next < len(parts) && parts[next].State != PartPending {
			next++
		}
		if next == len(parts) || (hasDeadline && time.Until(deadline) < sendMargin+s.sendTO/2) {
			break
		}
		want := 0
		for _, p := range parts[next:] {
			if p.State == PartPending {
				want += p.Charge
			}
		}
		key, perMinute := s.budget(n)
		granted, _, err := take(ctx, s.st, LimitsTable, key, s.now(), time.Minute, perMinute, want, parts[next].Charge)
		if err != nil {
			return parts, err
		}
		if granted == 0 {
			break
		}
		stop := false
		for ; next < len(parts) && !stop; next++ {
			p := parts[next]
			if p.State != PartPending {
				continue
			}
			if p.Charge > granted {
				break
			}
			granted -= p.Charge
			parts[next], err = s.sendPart(ctx, n, p)
			switch {
			case errors.Is(err, errStopRound):
				stop = true
			case err != nil:
				return parts, err
			}
		}
		if stop {
			break
		}
	}
	if err := s.settle(ctx, n.ID, dueVersion, parts); err != nil {
		return parts, err
	}
	return parts, nil
}

// settle removes the notice from DueTable when every part is final. The
// delete is conditional on the due row's version read before the parts
// were, so a part put back to pending meanwhile (which rewrites the row)
// keeps the notice due.
func (s *Service) settle(ctx context.Context, id string, dueVersion int64, parts []partRow) error {
	if dueVersion == 0 {
		return nil
	}
	now := s.now()
	for _, p := range parts {
		if !p.settled(now) || p.State == PartSending {
			return nil
		}
	}
	err := s.st.Delete(ctx, DueTable, id, store.IfVersion(dueVersion))
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("notify: settle %s: %w", id, err)
	}
	return nil
}

// updatePart applies fn to a part's row (read-modify-write); fn returns
// false to leave it unchanged. It returns the row as stored and whether
// fn's change was written.
func (s *Service) updatePart(ctx context.Context, id string, n int, fn func(p *partRow) bool) (partRow, bool, error) {
	changed := false
	rec, err := record.Update(ctx, s.st, NoticesTable, partKey(id, n), func(p partRow, found bool) (partRow, error) {
		changed = false
		if !found {
			return p, fmt.Errorf("notify: part %d of %s: %w", n, id, store.ErrNotFound)
		}
		if !fn(&p) {
			return p, record.ErrNoChange
		}
		changed = true
		return p, nil
	}, record.WithExpiry(func(partRow) time.Time { return s.now().Add(s.retention) }))
	if err != nil {
		return partRow{}, false, fmt.Errorf("notify: update part %d of %s: %w", n, id, err)
	}
	return rec.Value, changed, nil
}

// abandon records a part whose claim outlived its owner as unknown: the
// owner may have sent it before it stopped, so it is never sent again.
func (s *Service) abandon(ctx context.Context, id string, n int) (partRow, error) {
	now := s.now()
	p, _, err := s.updatePart(ctx, id, n, func(p *partRow) bool {
		if p.State != PartSending || !now.After(p.ClaimedUntil) {
			return false
		}
		p.State = PartUnknown
		p.Error = fmt.Sprintf("the instance sending this part (%s) stopped before recording DingTalk's answer; it may or may not have been sent", p.ClaimedBy)
		return true
	})
	return p, err
}

// sendPart claims a pending part, sends it and records the outcome. It
// returns errStopRound when DingTalk refused the part for a passing
// reason (the part is pending again).
func (s *Service) sendPart(ctx context.Context, n *noticeRow, p partRow) (partRow, error) {
	until := s.now().Add(s.claimTTL)
	claimed, won, err := s.updatePart(ctx, n.ID, p.N, func(p *partRow) bool {
		if p.State != PartPending {
			return false
		}
		p.State, p.ClaimedBy, p.ClaimedUntil = PartSending, s.holder(), until
		p.Attempts++
		return true
	})
	if err != nil || !won {
		return claimed, err // another instance has it, or had it
	}
	if s.crashed("claimed-part", p.N) {
		return claimed, errCrashed
	}
	// The send is not cut short by the caller hanging up: once it has
	// started, its answer must be recorded.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sendTO)
	sent, sendErr := s.sendCall(sctx, n, claimed)
	cancel()
	if s.crashed("sent-part", p.N) {
		return claimed, errCrashed
	}
	now := s.now()
	retry := false
	out, _, err := s.updatePart(context.WithoutCancel(ctx), n.ID, p.N, func(p *partRow) bool {
		retry = false
		p.ClaimedBy, p.ClaimedUntil = "", time.Time{}
		p.Error, p.ErrCode, p.Code = "", 0, ""
		switch {
		case sendErr == nil:
			p.State, p.SentAt = PartSent, now
			p.TaskID, p.ProcessQueryKey, p.InvalidUserIDs, p.FlowControlled = sent.taskID, sent.queryKey, sent.invalid, sent.held
			return true
		case dingtalk.MaybeSent(sendErr):
			p.State = PartUnknown
		case tokenUnavailable(sendErr):
			// The call never left: the part stays due, and the try
			// does not count towards maxPartAttempts (an outage of the
			// token or the store must not use up a part's tries).
			p.State, retry = PartPending, true
			p.Attempts--
		case passing(sendErr) && p.Attempts < maxPartAttempts:
			p.State, retry = PartPending, true
		default:
			p.State = PartFailed
		}
		p.Error = sendErr.Error()
		if de, ok := errors.AsType[*dingtalk.Error](sendErr); ok {
			p.ErrCode, p.Code = de.ErrCode, de.Code
		}
		return true
	})
	if err != nil {
		return claimed, err
	}
	if sendErr != nil {
		s.log.WarnContext(ctx, "notify: part not sent", "notice", n.ID, "part", p.N, "state", out.State, "err", sendErr)
	}
	if retry {
		if err := s.markDue(context.WithoutCancel(ctx), n.ID, n.CreatedAt.Add(s.retention)); err != nil {
			return out, err
		}
		return out, errStopRound
	}
	if s.crashed("recorded-part", p.N) {
		return out, errCrashed
	}
	return out, nil
}

// sentCall is what DingTalk answered a part's send with.
type sentCall struct {
	taskID        int64
	queryKey      string
	invalid, held []string
}

// sendCall makes a part's one DingTalk call: a work notice as the agent,
// or a robot message to the part's people or group.
func (s *Service) sendCall(ctx context.Context, n *noticeRow, p partRow) (sentCall, error) {
	if n.Kind == KindRobotMessage {
		var msg dingtalk.BotMessage
		if err := json.Unmarshal(n.Msg, &msg); err != nil {
			return sentCall{}, fmt.Errorf("notify: stored message of %s: %w", n.ID, err)
		}
		if p.ConversationID != "" {
			var opts []dingtalk.GroupOption
			if n.CoolAppCode != "" {
				opts = append(opts, dingtalk.WithCoolAppCode(n.CoolAppCode))
			}
			key, err := s.dt.Chatbot.SendToGroup(ctx, n.RobotCode, p.ConversationID, &msg, opts...)
			return sentCall{queryKey: key}, err
		}
		res, err := s.dt.Chatbot.SendToUsers(ctx, n.RobotCode, p.UserIDs, &msg)
		if err != nil {
			return sentCall{}, err
		}
		return sentCall{queryKey: res.ProcessQueryKey, invalid: res.InvalidStaffIDs, held: res.FlowControlledStaffIDs}, nil
	}
	var msg dingtalk.Message
	if err := json.Unmarshal(n.Msg, &msg); err != nil {
		return sentCall{}, fmt.Errorf("notify: stored message of %s: %w", n.ID, err)
	}
	task, err := s.dt.Message.Send(ctx, &dingtalk.WorkNotice{
		AgentID: n.AgentID, UserIDList: p.UserIDs, DeptIDList: p.DeptIDs, ToAllUser: p.ToAll, Msg: &msg,
	})
	return sentCall{taskID: task}, err
}

// tokenUnavailable reports whether a send failed for want of an access
// token, for a reason that passes: anything but DingTalk's token endpoint
// refusing for good (a wrong app secret), which fails the part.
func tokenUnavailable(err error) bool {
	if !dingtalk.IsTokenUnavailable(err) {
		return false
	}
	if _, ok := errors.AsType[*dingtalk.Error](err); ok {
		return passing(err)
	}
	return true
}

// passing reports whether DingTalk refused a send for a reason that may
// pass (rate limit, quota, busy, token): the part may be sent later.
func passing(err error) bool {
	return dingtalk.IsRateLimited(err) || dingtalk.IsQuotaExhausted(err) || dingtalk.IsTransient(err) || dingtalk.IsTokenInvalid(err)
}
