package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify/notifytest"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// BenchmarkNoticeCalls sends notices of 1 to 20 000 recipients (userids)
// until every part is out, the request sending one minute's budget and
// the sync tick's SendDue the rest, and reports the send calls DingTalk
// accepted per notice divided by the fewest its per-call cap allows
// (ceil(recipients / 100)): calls/ideal is 1.0 when notify adds none. The
// measurement is notifytest's, which `dingfn bench` runs too.
func BenchmarkNoticeCalls(b *testing.B) {
	for _, n := range []int{1, 100, 5000, 20000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			m, err := notifytest.NewBatching(n)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for b.Loop() {
				s, err := m.Send(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if s.Delivered != n {
					b.Fatalf("%d of %d people got the notice", s.Delivered, n)
				}
				b.ReportMetric(s.Ratio(), "calls/ideal")
				b.ReportMetric(float64(s.Calls), "calls/notice")
				// Attempts include any call DingTalk refused and the
				// client resent.
				b.ReportMetric(float64(s.Attempts)/float64(s.Minimum), "attempts/ideal")
				b.ReportMetric(float64(s.Minutes), "minutes/notice")
			}
		})
	}
}

// BenchmarkIdempotentReplay measures, in one run, a first send of a
// 100-recipient notice with an Idempotency-Key and the replay of the same
// request, and reports replay/first: what a client's retry costs compared
// with the send it repeats (DingTalk calls: none).
func BenchmarkIdempotentReplay(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 100})))
			s := e.instance()
			ids := userIDs(b, e.fake, 100)
			ctx := context.Background()
			var first, replay time.Duration
			calls := 0
			for i := 0; b.Loop(); i++ {
				req := textNotice(fmt.Sprintf("replay bench %d", i), ids...)
				req.IdempotencyKey = fmt.Sprintf("bench-key-%08d", i)
				t0 := time.Now()
				if _, err := s.SendNotice(ctx, "svc", req); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				before := sendCalls(e.fake)
				a, err := s.SendNotice(ctx, "svc", req)
				if err != nil || !a.Replayed {
					b.Fatal(err, a.Replayed)
				}
				t2 := time.Now()
				calls += sendCalls(e.fake) - before
				first += t1.Sub(t0)
				replay += t2.Sub(t1)
				e.clk.Advance(time.Minute)
			}
			b.ReportMetric(float64(replay)/float64(first), "replay/first")
			b.ReportMetric(float64(calls), "replay-dingtalk-calls")
			b.ReportMetric(float64(first.Microseconds())/float64(b.N), "first-µs/op")
			b.ReportMetric(float64(replay.Microseconds())/float64(b.N), "replay-µs/op")
		})
	}
}
