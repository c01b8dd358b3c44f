// Package notifytest measures notify's work-notice batching against the
// fake DingTalk (dingtalktest), for notify's benchmark and `dingfn bench`:
// one measurement, so the two cannot drift apart.
package notifytest

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// sendAPI is the work-notice send, the call Batching counts.
const sendAPI = "topapi/message/corpconversation/asyncsend_v2"

// Start is the manual clock's start: a Monday, 09:00 China time.
var Start = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// Batching sends work notices to Recipients people, named by userid,
// through one notify instance on the memory store and a fake DingTalk,
// both on a manual clock: a notice beyond DingTalk's 5 000 recipients a
// minute is finished by SendDue (the sync tick's step) minute by minute
// of that clock, so 20 000 recipients take no real minutes.
type Batching struct {
	// Recipients is how many people each notice names.
	Recipients int

	clk  *clocktest.Manual
	fake *dingtalktest.Server
	svc  *notify.Service
	ids  []string
	sent int
}

// Sent is what one notice took.
type Sent struct {
	// Calls are the send calls DingTalk accepted; Attempts every send call
	// that reached it (a refused call the client made again counts twice).
	Calls, Attempts int
	// Minimum is the fewest calls DingTalk's cap of userids per call
	// allows: ceil(Recipients ÷ dingtalk.MaxNoticeUsers).
	Minimum int
	// Delivered counts the people DingTalk delivered the notice to.
	Delivered int
	// Minutes are the clock's minutes from the request until every part
	// was out (0: the request sent it all).
	Minutes int
}

// Ratio is Calls ÷ Minimum: 1 when notify adds no call.
func (s Sent) Ratio() float64 { return float64(s.Calls) / float64(s.Minimum) }

// NewBatching builds the fake DingTalk with an organisation of at least
// recipients people and the notify instance. Close releases the fake.
func NewBatching(recipients int) (*Batching, error) {
	if recipients < 1 {
		return nil, fmt.Errorf("notifytest: %d recipients", recipients)
	}
	clk := clocktest.New(Start)
	// Tokens outlive the clock's jumps of a day, so every call DingTalk
	// sees is one of notify's sends.
	fake := dingtalktest.NewServer(dingtalktest.WithClock(clk.Now),
		dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: max(recipients, 50), Seed: 1}),
		dingtalktest.WithTokenTTL(365*24*time.Hour))
	b := &Batching{Recipients: recipients, clk: clk, fake: fake}
	if err := b.init(); err != nil {
		fake.Close()
		return nil, err
	}
	return b, nil
}

func (b *Batching) init() error {
	org := b.fake.Org()
	if len(org.Users) < b.Recipients {
		return fmt.Errorf("notifytest: the fake has %d users, want %d", len(org.Users), b.Recipients)
	}
	for _, u := range org.Users[:b.Recipients] {
		b.ids = append(b.ids, u.UserID)
	}
	// Without the client's own rate limit: the count is notify's, and the
	// limiter would wait in real time.
	client, err := dingtalk.NewClient(b.fake.AppKey(), b.fake.AppSecret(),
		dingtalk.WithBaseURLs(b.fake.URL, b.fake.URL),
		dingtalk.WithHTTPClient(b.fake.Client()),
		dingtalk.WithRateLimit(rate.Inf, 0),
		dingtalk.WithRetryPolicy(dingtalk.RetryPolicy{MaxAttempts: 3, MaxRateLimitRetries: 1}))
	if err != nil {
		return err
	}
	st, err := memstore.New(memstore.WithClock(b.clk.Now))
	if err != nil {
		return err
	}
	b.svc, err = notify.New(st, client, b.fake.AgentID(), notify.WithClock(b.clk.Now))
	return err
}

// Close stops the fake DingTalk.
func (b *Batching) Close() { b.fake.Close() }

// Send sends one notice to every recipient, runs SendDue a minute later
// until nothing is due, counts the send calls, and moves the clock on a
// day, so that DingTalk's per-person daily rules start over for the next.
func (b *Batching) Send(ctx context.Context) (Sent, error) {
	s := Sent{Minimum: (b.Recipients + dingtalk.MaxNoticeUsers - 1) / dingtalk.MaxNoticeUsers}
	before, attempts := len(b.fake.WorkNotices()), b.fake.CallCount(sendAPI)
	b.sent++
	req := notify.NoticeRequest{UserIDs: b.ids, Msg: dingtalk.TextMessage(fmt.Sprintf("notifytest notice %d", b.sent))}
	if _, err := b.svc.SendNotice(ctx, "notifytest", req); err != nil {
		return s, err
	}
	for {
		_, done, err := b.svc.SendDue(ctx, time.Time{})
		if err != nil {
			return s, err
		}
		if done {
			break
		}
		// Waiting parts wait for the budget's window to move on.
		b.clk.Advance(time.Minute)
		s.Minutes++
	}
	people := map[string]bool{}
	for _, w := range b.fake.WorkNotices()[before:] {
		s.Calls++
		for _, u := range w.Delivered {
			people[u] = true
		}
	}
	s.Delivered = len(people)
	s.Attempts = b.fake.CallCount(sendAPI) - attempts
	b.clk.Advance(24 * time.Hour)
	return s, nil
}
