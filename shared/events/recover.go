package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
)

// FailedResults is the DingTalk call that hands over the pushes DingTalk
// gave up on: *dingtalk.CallbackService.
type FailedResults interface {
	FailedResults(ctx context.Context) (*dingtalk.FailedResults, error)
}

var _ FailedResults = (*dingtalk.CallbackService)(nil)

// maxFailedBatches bounds one recovery run (200 events a batch), in case
// DingTalk keeps answering has_more.
const maxFailedBatches = 50

// RecoverReport is what one recovery run did.
type RecoverReport struct {
	// Fetched counts the failed pushes DingTalk handed over; New those
	// not yet in the log, Duplicates those already there (pushed after
	// all, or recovered before).
	Fetched    int `json:"fetched"`
	New        int `json:"new"`
	Duplicates int `json:"duplicates"`
	// Malformed counts records that are not events; they are logged at
	// error level with their tag.
	Malformed int  `json:"malformed"`
	Partial   bool `json:"partial"`
}

// Recover fetches the pushes DingTalk could not deliver
// (get_call_back_failed_result, for callbacks registered with
// register_call_back) and logs them like pushed events, where dedupe
// applies: one that also arrived by push, or was recovered before, is
// not processed twice. New ones are processed by the drain. It stops
// fetching at deadline (zero: none).
//
// DingTalk hands each batch over once, so each is logged in one store
// batch before the next is fetched.
func (s *Service) Recover(ctx context.Context, src FailedResults, deadline time.Time) (RecoverReport, error) {
	var rep RecoverReport
	for range maxFailedBatches {
		if !deadline.IsZero() && !s.now().Before(deadline) {
			rep.Partial = true
			return rep, nil
		}
		res, err := src.FailedResults(ctx)
		if err != nil {
			return rep, fmt.Errorf("events: fetch failed pushes: %w", err)
		}
		rep.Fetched += len(res.FailedList)
		now := s.now()
		evs := make([]*Event, 0, len(res.FailedList))
		for _, f := range res.FailedList {
			ev, err := FailedEvent(f, now)
			if err != nil {
				rep.Malformed++
				s.logger.ErrorContext(ctx, "failed push is not an event; dropped", "tag", f.Tag, "event_time", f.EventTime, "err", err)
				continue
			}
			evs = append(evs, ev)
		}
		dup, err := s.Accept(ctx, evs...)
		for i, d := range dup {
			if d {
				rep.Duplicates++
			} else {
				rep.New++
				s.logger.InfoContext(ctx, "failed push recovered", "id", evs[i].ID, "type", evs[i].Type)
			}
		}
		if err != nil {
			ids := make([]string, 0, len(evs)-len(dup))
			for _, ev := range evs[len(dup):] {
				ids = append(ids, ev.ID)
			}
			s.logger.ErrorContext(ctx, "recovered failed pushes could not be logged; DingTalk will not hand them over again", "ids", ids, "err", err)
			return rep, err
		}
		if !res.HasMore || len(res.FailedList) == 0 {
			return rep, nil
		}
	}
	rep.Partial = true
	return rep, nil
}

// wrappers are the keys under which a failed-push record nests the event
// itself rather than its ids.
var wrappers = []string{"bpmsCallBackData", "roleLabelChange", "callbackData"}

// FailedEvent turns one get_call_back_failed_result record into the event
// its push would have carried, so that it gets the same id (see EventID)
// and handlers read it like a push: the record's data (for approvals,
// roles and other tags, the event nested under bpmsCallBackData,
// roleLabelChange or callbackData), with EventType set to the tag and
// TimeStamp to its event_time where the data has neither; its corpid
// reads as CorpId (keys are matched case-insensitively).
func FailedEvent(f dingtalk.FailedEvent, now time.Time) (*Event, error) {
	if f.Tag == "" {
		return nil, fmt.Errorf("events: failed push without a call_back_tag")
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(f.Data, &data); err != nil || data == nil {
		return nil, fmt.Errorf("events: failed push %s: data is not a JSON object", f.Tag)
	}
	for _, w := range wrappers {
		k, v, ok := lookup(data, w)
		if !ok {
			continue
		}
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) != nil || inner == nil {
			// Some records nest the event as a JSON string.
			var s string
			if json.Unmarshal(v, &s) != nil || json.Unmarshal([]byte(s), &inner) != nil || inner == nil {
				continue
			}
		}
		delete(data, k)
		for ik, iv := range inner {
			data[ik] = iv
		}
		break
	}
	if _, _, ok := lookup(data, "EventType"); !ok {
		data["EventType"], _ = json.Marshal(f.Tag)
	}
	_, _, hasTime := lookup(data, "EventTime")
	_, _, hasStamp := lookup(data, "TimeStamp")
	if !hasTime && !hasStamp && f.EventTime > 0 {
		data["TimeStamp"], _ = json.Marshal(strconv.FormatInt(f.EventTime, 10))
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("events: failed push %s: %w", f.Tag, err)
	}
	return NewEvent(payload, SourceFailedResult, now)
}

// lookup finds a key case-insensitively.
func lookup(m map[string]json.RawMessage, name string) (string, json.RawMessage, bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}
