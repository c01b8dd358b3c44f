package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/notify/notifytest"
)

// noticeRecipients are the notice sizes of the notify rows: one person,
// one call's worth, one minute's budget, and four minutes' budget.
var noticeRecipients = []int{1, 100, 5000, 20000}

func notifyMeasurement() Measurement {
	m := Measurement{Name: "notify"}
	for _, n := range noticeRecipients {
		people := thousands(n) + " recipients"
		if n == 1 {
			people = "1 recipient"
		}
		m.Rows = append(m.Rows, Row{
			Name: fmt.Sprintf("work notice to %s by userid: DingTalk send calls ÷ the minimum, ceil(%s ÷ %d userids a call)", people, thousands(n), dingtalk.MaxNoticeUsers),
			Aim:  Exactly(1),
		})
	}
	m.Measure = measureNotify
	return m
}

// measureNotify runs notifytest's Batching, the measurement
// BenchmarkNoticeCalls prints too: one notice per size, finished by
// SendDue on a manual clock, so the sends beyond DingTalk's per-minute
// budget take no real minutes.
func measureNotify(ctx context.Context, env *Env) ([]Figure, error) {
	var figs []Figure
	for _, n := range noticeRecipients {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := notifytest.NewBatching(n)
		if err != nil {
			return nil, err
		}
		s, err := b.Send(ctx)
		b.Close()
		if err != nil {
			return nil, fmt.Errorf("%d recipients: %w", n, err)
		}
		if s.Delivered != n {
			return nil, fmt.Errorf("bench: a notice to %d people reached %d", n, s.Delivered)
		}
		var d []string
		d = append(d, fmt.Sprintf("%d ÷ %d", s.Calls, s.Minimum))
		if s.Attempts != s.Calls {
			d = append(d, fmt.Sprintf("%d attempts", s.Attempts))
		}
		if s.Minutes > 0 {
			d = append(d, fmt.Sprintf("spread over %d minutes of the fake's clock by DingTalk's %s recipients a minute (the request, then the sync step)", s.Minutes+1, thousands(dingtalk.MaxNoticeRecipientsPerMinute)))
		}
		d = append(d, "every recipient reached once")
		figs = append(figs, Figure{Value: s.Ratio(), Text: strconv.FormatFloat(s.Ratio(), 'f', -1, 64), Detail: strings.Join(d, "; ")})
	}
	return figs, nil
}
