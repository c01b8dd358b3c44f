package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// BenchmarkNoticeCalls sends notices of 1 to 20 000 recipients (userids)
// until every part is out, the request sending one minute's budget and
// the sync tick's SendDue the rest, and reports the send calls DingTalk
// accepted per notice divided by the fewest its per-call cap allows
// (ceil(recipients / 100)): calls/ideal is 1.0 when notify adds none.
func BenchmarkNoticeCalls(b *testing.B) {
	for _, n := range []int{1, 100, 5000, 20000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) {
			// Tokens outlive the benchmark's jumps of a day, so every
			// attempt DingTalk sees is one of notify's sends.
			e := newEnv(b, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: max(n, 50)}), dingtalktest.WithTokenTTL(365*24*time.Hour)))
			s := e.instance()
			ids := userIDs(b, e.fake, n)
			ideal := (n + dingtalk.MaxNoticeUsers - 1) / dingtalk.MaxNoticeUsers
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				before, attempts := len(e.fake.WorkNotices()), sendCalls(e.fake)
				if _, err := s.SendNotice(ctx, "svc", textNotice(fmt.Sprintf("bench %d", i), ids...)); err != nil {
					b.Fatal(err)
				}
				for done := false; !done; {
					e.clk.Advance(time.Minute)
					var err error
					if _, done, err = s.SendDue(ctx, time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				calls := len(e.fake.WorkNotices()) - before
				b.ReportMetric(float64(calls)/float64(ideal), "calls/ideal")
				b.ReportMetric(float64(calls), "calls/notice")
				// Attempts include any call DingTalk refused and the
				// client resent.
				b.ReportMetric(float64(sendCalls(e.fake)-attempts)/float64(ideal), "attempts/ideal")
				e.clk.Advance(24 * time.Hour) // a new day: DingTalk's per-day rules start over
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
