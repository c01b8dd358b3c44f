package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// DueReport is what one SendDue run did, for the sync tick's report.
type DueReport struct {
	// Notices is how many due notices were looked at.
	Notices int `json:"notices"`
	// PartsSent counts the parts sent in this run; PartsWaiting the parts
	// still waiting for the budget; PartsUnknown the abandoned parts
	// recorded as unknown; PartsFailed the parts DingTalk refused.
	PartsSent    int `json:"parts_sent"`
	PartsWaiting int `json:"parts_waiting"`
	PartsUnknown int `json:"parts_unknown"`
	PartsFailed  int `json:"parts_failed"`
	// Settled is how many notices left the due list.
	Settled int `json:"settled"`
}

// SendDue sends the parts that requests left for later (DingTalk's
// per-minute budget ran out, DingTalk refused calls for a while, or the
// instance died between two calls), oldest notice first, as the budget
// allows, and records abandoned parts as unknown. It stops starting work
// at deadline (zero: none). done reports that no notice is due any more.
// The sync function's tick runs it every minute.
func (s *Service) SendDue(ctx context.Context, deadline time.Time) (rep DueReport, done bool, err error) {
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	due := 0
	for it, err := range store.All(ctx, s.st, DueTable, store.Range{}) {
		if err != nil {
			return rep, false, fmt.Errorf("notify: list due notices: %w", err)
		}
		var d dueRow
		if err := json.Unmarshal(it.Value, &d); err != nil || d.Notice == "" {
			d.Notice = it.Key
		}
		if ctx.Err() != nil {
			due++
			continue
		}
		rep.Notices++
		n, parts, err := s.loadNotice(ctx, d.Notice)
		if errors.Is(err, store.ErrNotFound) {
			// Expired, or its request died before recording it (then
			// nothing was sent): nothing to do.
			if err := s.st.Delete(ctx, DueTable, it.Key, store.IfVersion(it.Version)); err != nil && !errors.Is(err, store.ErrConflict) {
				return rep, false, fmt.Errorf("notify: drop due %s: %w", it.Key, err)
			}
			continue
		}
		if err != nil {
			return rep, false, err
		}
		before := map[int]string{}
		for _, p := range parts {
			before[p.N] = p.State
		}
		parts, err = s.sendRound(ctx, &n, parts)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return rep, false, err
		}
		left := false
		for _, p := range parts {
			switch {
			case p.State == PartSent && before[p.N] != PartSent:
				rep.PartsSent++
			case p.State == PartUnknown && before[p.N] != PartUnknown:
				rep.PartsUnknown++
			case p.State == PartFailed && before[p.N] != PartFailed:
				rep.PartsFailed++
			case p.State == PartPending:
				rep.PartsWaiting++
				left = true
			case p.State == PartSending:
				left = true
			}
		}
		if left {
			due++
		} else {
			rep.Settled++
		}
	}
	return rep, due == 0, nil
}
