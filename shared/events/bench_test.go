package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

const (
	benchToken = "benchTokenForTests"
	benchKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	benchOwner = "dingBenchApp"
)

// signedPush is one encrypted push of event, as DingTalk sends it.
func signedPush(b testing.TB, c *dingcrypto.Crypto, event string) (string, []byte) {
	b.Helper()
	env, err := c.Encrypt([]byte(event))
	if err != nil {
		b.Fatal(err)
	}
	q := url.Values{"msg_signature": {env.MsgSignature}, "timestamp": {env.TimeStamp}, "nonce": {env.Nonce}}
	body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
	return "/callback?" + q.Encode(), body
}

// BenchmarkReplyPath serves whole pushes (decrypt, log, process, encrypted
// reply) through the real callback handler and counts the store calls on
// the reply path: "today" is the handler before the event log (a
// dispatcher that only logs the type), the others dispatch to the log on
// the memory store. Each push is a new event. The ratio of "today" ns/op
// to a log case's ns/op is the throughput kept with the log.
func BenchmarkReplyPath(b *testing.B) {
	c, err := dingcrypto.New(benchToken, benchKey, benchOwner)
	if err != nil {
		b.Fatal(err)
	}
	quiet := callback.WithLogger(slogDiscard())
	nop := func(context.Context, *events.Event) error { return nil }
	type benchCase struct {
		name     string
		handlers func(*events.Mux)
		log      bool
		dup      bool
		pad      int
	}
	var cases []benchCase
	for _, size := range []struct {
		name string
		pad  int
	}{{"200B", 0}, {"4KiB", 4 << 10}} {
		cases = append(cases,
			benchCase{name: size.name + "/today", pad: size.pad},
			benchCase{name: size.name + "/log/no-handler", log: true, pad: size.pad},
			benchCase{name: size.name + "/log/one-handler", log: true, pad: size.pad, handlers: func(m *events.Mux) { m.HandleFunc("user_modify_org", nop) }},
			benchCase{name: size.name + "/log/redelivery", log: true, dup: true, pad: size.pad, handlers: func(m *events.Mux) { m.HandleFunc("user_modify_org", nop) }},
		)
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			mem, _ := memstore.New()
			st := &countingStore{Store: mem}
			var disp callback.Dispatcher = callback.LogDispatcher(slogDiscard())
			if bc.log {
				mux := events.NewMux()
				if bc.handlers != nil {
					bc.handlers(mux)
				}
				svc, err := events.New(st, mux)
				if err != nil {
					b.Fatal(err)
				}
				disp = svc
			}
			h := newCallback(b, c, disp, quiet)
			// Pushes are encrypted up front: DingTalk's side of the work.
			n := 4096
			reqs := make([][2]string, n)
			for i := range reqs {
				k := i
				if bc.dup {
					k = 0
				}
				// The register_call_back shape (no eventId: the id is
				// derived), about 200 bytes, or padded to 4 KiB.
				ev := fmt.Sprintf(`{"EventType":"user_modify_org","UserId":["user%06d","user%06d"],"TimeStamp":"%d","CorpId":"ding0123456789abcdef","OptStaffId":"manager01"%s}`,
					k, k+1, 1772442000000+k, map[bool]string{true: `,"Pad":"` + strings.Repeat("x", bc.pad) + `"`}[bc.pad > 0])
				u, body := signedPush(b, c, ev)
				reqs[i] = [2]string{u, string(body)}
			}
			if bc.dup { // logged once before the measurement
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, reqs[0][0], strings.NewReader(reqs[0][1])))
			}
			st.reset()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == n { // a fresh log, so every push stays new
					b.StopTimer()
					if bc.log && !bc.dup {
						mem2, _ := memstore.New()
						st.Store = mem2
					}
					i = 0
					b.StartTimer()
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, reqs[i][0], strings.NewReader(reqs[i][1])))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				i++
			}
			b.ReportMetric(float64(st.writes.Load())/float64(b.N), "writes/op")
			b.ReportMetric(float64(st.reads.Load())/float64(b.N), "reads/op")
		})
	}
}

// slowAPI is a fake DingTalk answering every call after delay.
func slowAPI(b testing.TB, delay time.Duration) *dingtalk.Client {
	fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	b.Cleanup(fake.Close)
	// Without the client's rate limit: the point is DingTalk's latency,
	// not the queue at its 20 QPS cap.
	c, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
		dingtalk.WithRateLimit(rate.Inf, 0))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Contact.GetUser(context.Background(), "lisi", ""); err != nil { // the token, before the delay
		b.Fatal(err)
	}
	if delay > 0 {
		fake.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Delay: delay})
	}
	return c
}

// BenchmarkReplyLatency measures the distribution of reply times (real
// time, 32 pushes in flight) when DingTalk answers after 2 s, when every
// store call takes 200 ms, and both; every push carries a new event whose
// handler calls DingTalk. Run with -benchtime 256x; the metrics are the
// 50th, 90th and 99th percentiles and the maximum, in ms.
func BenchmarkReplyLatency(b *testing.B) {
	c, err := dingcrypto.New(benchToken, benchKey, benchOwner)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name       string
		api, store time.Duration
	}{
		{"fast", 0, 0},
		{"dingtalk-2s", 2 * time.Second, 0},
		{"store-200ms", 0, 200 * time.Millisecond},
		{"dingtalk-2s+store-200ms", 2 * time.Second, 200 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := slowAPI(b, bc.api)
			mem, _ := memstore.New()
			st := &faultyStore{Store: mem, delay: bc.store}
			mux := events.NewMux()
			mux.HandleFunc("user_modify_org", func(ctx context.Context, ev *events.Event) error {
				_, err := client.Contact.GetUser(ctx, "lisi", "")
				return err
			})
			svc, err := events.New(st, mux)
			if err != nil {
				b.Fatal(err)
			}
			h := newCallback(b, c, svc, callback.WithLogger(slogDiscard()))
			var seq atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 32 in flight on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					u, body := signedPush(b, c, fmt.Sprintf(`{"EventType":"user_modify_org","UserId":["lisi"],"TimeStamp":"%d","CorpId":"dingCorp"}`, 1772442000000+i))
					start := time.Now()
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, u, bytes.NewReader(body)))
					d := time.Since(start)
					if w.Code != http.StatusOK {
						b.Errorf("status %d", w.Code)
					}
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			})
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50_ms")
			b.ReportMetric(pct(0.9), "p90_ms")
			b.ReportMetric(pct(0.99), "p99_ms")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
		})
	}
}

// BenchmarkThroughputRatio serves pushes through "today's" callback
// handler (a dispatcher that only logs) and through the one with the
// event log on the memory store, alternating in chunks of 64 so that the
// load of a shared machine falls on both alike, and reports the ratio of
// their throughputs (today's time ÷ the log's; the target is ≥ 0.8): with
// no handler (the log's own cost) and with one handler (plus running it
// and recording its outcome, a read and a write).
func BenchmarkThroughputRatio(b *testing.B) {
	c, err := dingcrypto.New(benchToken, benchKey, benchOwner)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 64
	pushes := make([][2]string, chunk*64)
	for i := range pushes {
		u, body := signedPush(b, c, fmt.Sprintf(`{"EventType":"user_modify_org","UserId":["user%06d","user%06d"],"TimeStamp":"%d","CorpId":"ding0123456789abcdef","OptStaffId":"manager01"}`, i, i+1, 1772442000000+i))
		pushes[i] = [2]string{u, string(body)}
	}
	nop := func(context.Context, *events.Event) error { return nil }
	for _, bc := range []struct {
		name     string
		handlers func(*events.Mux)
	}{
		{"no-handler", nil},
		{"one-handler", func(m *events.Mux) { m.HandleFunc("user_modify_org", nop) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			today := newCallback(b, c, callback.LogDispatcher(slogDiscard()), callback.WithLogger(slogDiscard()))
			var withLog http.Handler
			fresh := func() {
				mem, _ := memstore.New()
				mux := events.NewMux()
				if bc.handlers != nil {
					bc.handlers(mux)
				}
				svc, _ := events.New(mem, mux)
				withLog = newCallback(b, c, svc, callback.WithLogger(slogDiscard()))
			}
			fresh()
			serve := func(h http.Handler, p [2]string) {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, p[0], strings.NewReader(p[1])))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
			var tToday, tLog time.Duration
			next := 0
			for b.Loop() {
				if next+chunk > len(pushes) {
					fresh() // every push stays a new event
					next = 0
				}
				part := pushes[next : next+chunk]
				next += chunk
				start := time.Now()
				for _, p := range part {
					serve(today, p)
				}
				mid := time.Now()
				for _, p := range part {
					serve(withLog, p)
				}
				tToday += mid.Sub(start)
				tLog += time.Since(mid)
			}
			b.ReportMetric(float64(tToday)/float64(tLog), "ratio")
			b.ReportMetric(float64(tToday.Nanoseconds())/float64(b.N*chunk), "today-ns/push")
			b.ReportMetric(float64(tLog.Nanoseconds())/float64(b.N*chunk), "log-ns/push")
		})
	}
}
