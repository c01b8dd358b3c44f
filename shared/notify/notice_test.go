package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func TestSendSmallNotice(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			h := e.handler(e.instance())
			ids := userIDs(t, e.fake, 3)
			var a notify.NoticeAnswer
			res := call(t, h, "POST", "/v1/notices", textNotice("hello", ids...), &a)
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %+v", res.StatusCode, a)
			}
			if a.Status != notify.StatusSent || len(a.TaskIDs) != 1 || len(a.Warnings) != 0 {
				t.Fatalf("answer %+v, want sent with one task and no warnings", a)
			}
			if loc := res.Header.Get("Location"); loc != "/v1/notices/"+a.ID {
				t.Errorf("Location %q", loc)
			}
			got := deliveries(e.fake)
			for _, id := range ids {
				if got[id] != 1 {
					t.Errorf("%s got %d notices, want 1", id, got[id])
				}
			}
		})
	}
}

// TestBatching: recipients are split into the fewest calls DingTalk's
// per-call caps allow, every message type goes through, and the
// department and to_all forms are one call per 20 departments and one
// call.
func TestBatching(t *testing.T) {
	e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 400, DeptSize: 10})))
	h := e.handler(e.instance(notify.WithDirectory(orgDirectory(e.fake))))
	ids := userIDs(t, e.fake, 250)
	var depts []int64
	for _, d := range e.fake.Org().Departments[:25] {
		depts = append(depts, d.ID)
	}
	tests := []struct {
		name  string
		req   notify.NoticeRequest
		calls int
	}{
		{"250 userids", notify.NoticeRequest{UserIDs: ids, Msg: dingtalk.TextMessage("batch 1")}, 3},
		{"100 userids", notify.NoticeRequest{UserIDs: ids[:100], Msg: dingtalk.MarkdownMessage("t", "batch 2")}, 1},
		{"25 departments", notify.NoticeRequest{DeptIDs: depts, Msg: dingtalk.TextMessage("batch 3")}, 2},
		{"to_all", notify.NoticeRequest{ToAll: true, Msg: dingtalk.LinkMessage("t", "batch 4", "https://example.com/a", "https://example.com/p.png")}, 1},
		{"userids and departments", notify.NoticeRequest{UserIDs: ids[:101], DeptIDs: depts[:3], Msg: dingtalk.TextMessage("batch 5")}, 3},
	}
	s := e.instance(notify.WithDirectory(orgDirectory(e.fake)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clk.Advance(time.Minute)
			before := sendCalls(e.fake)
			var a notify.NoticeAnswer
			if res := call(t, h, "POST", "/v1/notices", tt.req, &a); res.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %+v", res.StatusCode, a)
			}
			// Parts beyond the minute's budget go out with the tick.
			for done := false; !done; {
				e.clk.Advance(time.Minute)
				var err error
				if _, done, err = s.SendDue(context.Background(), time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			st, err := s.Notice(context.Background(), a.ID, notify.StatusOptions{NoDingTalk: true})
			if err != nil {
				t.Fatal(err)
			}
			if n := sendCalls(e.fake) - before; n != tt.calls || len(st.TaskIDs) != tt.calls {
				t.Errorf("%d DingTalk calls, %d task ids; want %d", n, len(st.TaskIDs), tt.calls)
			}
			if st.Status != notify.StatusSent {
				t.Errorf("status %s, want sent", st.Status)
			}
		})
	}
	for _, w := range e.fake.WorkNotices() {
		if len(w.UserIDs) > dingtalk.MaxNoticeUsers || len(w.DeptIDs) > dingtalk.MaxNoticeDepts {
			t.Errorf("task %d: %d userids, %d departments: over DingTalk's caps", w.TaskID, len(w.UserIDs), len(w.DeptIDs))
		}
	}
}

// TestInvalidRequests: each is a 400 naming the field as DingTalk spells
// it and the rule, and nothing is recorded or sent.
func TestInvalidRequests(t *testing.T) {
	e := newEnv(t, memory)
	s := e.instance()
	h := e.handler(s)
	ids := userIDs(t, e.fake, 2)
	tests := []struct {
		name, body, code, field, rule string
	}{
		{"link without messageUrl", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"link","link":{"picUrl":"https://x/p.png","title":"t","text":"x"}}}`, "invalid_message", "msg.link.messageUrl", "required"},
		{"unknown msgtype", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"video"}}`, "invalid_message", "msg.msgtype", "one_of"},
		{"text without content", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"text","text":{"content":""}}}`, "invalid_message", "msg.text.content", "required"},
		{"markdown too long", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"markdown","markdown":{"title":"t","text":"` + strings.Repeat("x", 5001) + `"}}}`, "invalid_message", "msg.markdown.text", "max_length"},
		{"message over 2048 bytes", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"text","text":{"content":"` + strings.Repeat("x", 2100) + `"}}}`, "invalid_message", "msg", "max_bytes"},
		{"two buttons styles", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"action_card","action_card":{"markdown":"m","single_title":"a","single_url":"https://x","btn_orientation":"0","btn_json_list":[{"title":"b","action_url":"https://y"}]}}}`, "invalid_message", "msg.action_card.btn_json_list", "exclusive"},
		{"oa bad bgcolor", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"oa","oa":{"message_url":"https://x","head":{"bgcolor":"red","text":"h"},"body":{}}}}`, "invalid_message", "msg.oa.head.bgcolor", "format"},
		{"no msg", `{"userids":["` + ids[0] + `"]}`, "invalid_message", "msg", "required"},
		{"no recipients", `{"msg":{"msgtype":"text","text":{"content":"x"}}}`, "invalid_request", "userids", "required"},
		{"to_all with userids", `{"to_all":true,"userids":["` + ids[0] + `"],"msg":{"msgtype":"text","text":{"content":"x"}}}`, "invalid_request", "to_all", "exclusive"},
		{"empty userid", `{"userids":["` + ids[0] + `",""],"msg":{"msgtype":"text","text":{"content":"x"}}}`, "invalid_request", "userids[1]", "format"},
		{"department 0", `{"dept_ids":[0],"msg":{"msgtype":"text","text":{"content":"x"}}}`, "invalid_request", "dept_ids[0]", "format"},
		{"unknown field in msg", `{"userids":["` + ids[0] + `"],"msg":{"msgtype":"text","text":{"content":"x","bogus":1}}}`, "invalid_body", "msg.text.bogus", "unknown_field"},
		{"userids not an array", `{"userids":"` + ids[0] + `","msg":{"msgtype":"text","text":{"content":"x"}}}`, "invalid_body", "userids", "type"},
		{"short idempotency key", `{"userids":["` + ids[0] + `"],"idempotency_key":"k","msg":{"msgtype":"text","text":{"content":"x"}}}`, "invalid_idempotency_key", "idempotency_key", "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eb errBody
			res := call(t, h, "POST", "/v1/notices", tt.body, &eb, invalidRequestHeader, "1")
			if res.StatusCode != http.StatusBadRequest || eb.Error != tt.code || eb.Field != tt.field || eb.Rule != tt.rule {
				t.Errorf("got %d %+v; want 400 %s field %s rule %s", res.StatusCode, eb, tt.code, tt.field, tt.rule)
			}
		})
	}
	if n := sendCalls(e.fake); n != 0 {
		t.Errorf("%d sends after invalid requests, want 0", n)
	}
	if rep, done, err := s.SendDue(context.Background(), time.Time{}); err != nil || !done || rep.Notices != 0 {
		t.Errorf("due after invalid requests: %+v %v %v; want nothing recorded", rep, done, err)
	}
}

// TestIdempotentRetries: the same key and body return the first answer
// and send nothing again, through the header or the body field; the same
// key with another body is a 422.
func TestIdempotentRetries(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 200})))
			h := e.handler(e.instance())
			req := textNotice("retry me", userIDs(t, e.fake, 150)...)
			var first notify.NoticeAnswer
			call(t, h, "POST", "/v1/notices", req, &first, "Idempotency-Key", "order-4711-shipped")
			for i := range 3 {
				var again notify.NoticeAnswer
				res := call(t, h, "POST", "/v1/notices", req, &again, "Idempotency-Key", "order-4711-shipped")
				if res.StatusCode != http.StatusAccepted || res.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("retry %d: status %d, replayed %q", i, res.StatusCode, res.Header.Get("Idempotent-Replayed"))
				}
				if again.ID != first.ID || !slices.Equal(again.TaskIDs, first.TaskIDs) || again.Status != first.Status {
					t.Fatalf("retry %d answered %+v, want the first answer %+v", i, again, first)
				}
			}
			withBody := req
			withBody.IdempotencyKey = "order-4711-shipped"
			var viaBody notify.NoticeAnswer
			call(t, h, "POST", "/v1/notices", withBody, &viaBody)
			if viaBody.ID != first.ID {
				t.Errorf("key in the body answered %s, want %s", viaBody.ID, first.ID)
			}
			other := textNotice("something else", userIDs(t, e.fake, 1)...)
			var eb errBody
			if res := call(t, h, "POST", "/v1/notices", other, &eb, "Idempotency-Key", "order-4711-shipped"); res.StatusCode != http.StatusUnprocessableEntity || eb.Error != notify.CodeIdempotencyKeyReused {
				t.Errorf("same key, other body: %d %+v; want 422 %s", res.StatusCode, eb, notify.CodeIdempotencyKeyReused)
			}
			if n := sendCalls(e.fake); n != 2 {
				t.Errorf("%d DingTalk sends, want 2 (one notice of 150)", n)
			}
			for u, n := range deliveries(e.fake) {
				if n != 1 {
					t.Errorf("%s got %d notices", u, n)
				}
			}
		})
	}
}

// TestConcurrentInstances: the same request with the same key reaches two
// instances at once (and a third later): DingTalk sees one notice, and
// every answer is the first one.
func TestConcurrentInstances(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			req := textNotice("at once", userIDs(t, e.fake, 30)...)
			req.IdempotencyKey = "concurrent-key-1"
			const n = 4
			answers := make([]notify.NoticeAnswer, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			startGun := make(chan struct{})
			for i := range n {
				s := e.instance(notify.WithHolder(fmt.Sprintf("instance-%d", i)))
				wg.Go(func() {
					<-startGun
					answers[i], errs[i] = s.SendNotice(context.Background(), "svc", req)
				})
			}
			close(startGun)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("instance %d: %v", i, errs[i])
				}
				if answers[i].ID != answers[0].ID || !slices.Equal(answers[i].TaskIDs, answers[0].TaskIDs) {
					t.Errorf("instance %d answered %+v, instance 0 %+v", i, answers[i], answers[0])
				}
			}
			if c := sendCalls(e.fake); c != 1 {
				t.Errorf("%d DingTalk sends, want 1", c)
			}
		})
	}
}

// TestBudgetSpreadsLargeNotices: 20 000 recipients are more than DingTalk
// takes in a minute: the request sends 5 000 now, the sync tick's SendDue
// sends the rest minute by minute, and DingTalk never drops anyone for
// the per-minute cap. Two instances sending at once share the budget.
func TestBudgetSpreadsLargeNotices(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 20000})))
			ids := userIDs(t, e.fake, 20000)
			s1, s2 := e.instance(notify.WithHolder("a")), e.instance(notify.WithHolder("b"))
			var a1, a2 notify.NoticeAnswer
			var err1, err2 error
			var wg sync.WaitGroup
			wg.Go(func() { a1, err1 = s1.SendNotice(context.Background(), "svc", textNotice("big one", ids[:12000]...)) })
			wg.Go(func() { a2, err2 = s2.SendNotice(context.Background(), "svc", textNotice("big two", ids[12000:]...)) })
			wg.Wait()
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if got := len(a1.TaskIDs) + len(a2.TaskIDs); got != 50 {
				t.Errorf("first minute sent %d parts, want 50 (5 000 recipients)", got)
			}
			if a1.Status != notify.StatusScheduled || !hasWarning(a1, notify.WarnScheduled) {
				t.Errorf("answer %s %v, want scheduled with a warning", a1.Status, a1.Warnings)
			}
			for minute := 1; minute < 10; minute++ {
				e.clk.Advance(time.Minute)
				rep, done, err := s1.SendDue(context.Background(), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if rep.PartsSent > 50 {
					t.Errorf("minute %d sent %d parts, more than one minute's budget", minute, rep.PartsSent)
				}
				if done {
					break
				}
			}
			if c := sendCalls(e.fake); c != 200 {
				t.Errorf("%d DingTalk sends, want 200", c)
			}
			got := deliveries(e.fake)
			for _, id := range ids {
				if got[id] != 1 {
					t.Fatalf("%s got %d notices, want 1", id, got[id])
				}
			}
			for _, w := range e.fake.WorkNotices() {
				if len(w.Forbidden) > 0 {
					t.Fatalf("task %d: DingTalk dropped %d people (%s)", w.TaskID, len(w.Forbidden), w.Forbidden[0].Code)
				}
			}
			st, err := s2.Notice(context.Background(), a2.ID, notify.StatusOptions{NoDingTalk: true})
			if err != nil || st.Status != notify.StatusSent || st.Progress.Sent != 80 {
				t.Errorf("status of the second notice: %v %+v", err, st.Progress)
			}
		})
	}
}

func hasWarning(a notify.NoticeAnswer, code string) bool {
	return slices.ContainsFunc(a.Warnings, func(w notify.Warning) bool { return w.Code == code })
}

// TestDingTalkFaults: a refused call is recorded failed, a rate-limited
// one waits for the sync tick, and one whose outcome is unknown (DingTalk
// ran it, the answer was lost) is reported unknown and never sent again.
func TestDingTalkFaults(t *testing.T) {
	const api = "topapi/message/corpconversation/asyncsend_v2"
	tests := []struct {
		name   string
		fault  dingtalktest.Fault
		status string
		// sentLater says the SendDue after the fault clears sends it.
		sentLater  bool
		deliveries int
	}{
		{"busy once, retried by the client", dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Times: 1}, notify.StatusSent, false, 1},
		{"rate limited", dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited}, notify.StatusScheduled, true, 1},
		{"refused parameter", dingtalktest.Fault{Kind: dingtalktest.FaultError, Errcode: 400002, Message: "无效的参数"}, notify.StatusFailed, false, 0},
		{"answer lost after running", dingtalktest.Fault{Kind: dingtalktest.FaultDropAfter, Times: 1}, notify.StatusUnknown, false, 1},
		{"gateway 502", dingtalktest.Fault{Kind: dingtalktest.FaultBadGateway, Times: 1}, notify.StatusUnknown, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, memory)
			s := e.instance()
			h := e.handler(s)
			ids := userIDs(t, e.fake, 5)
			e.fake.InjectFault(api, tt.fault)
			var a notify.NoticeAnswer
			if res := call(t, h, "POST", "/v1/notices", textNotice("faulty", ids...), &a, "Idempotency-Key", "fault-key-123"); res.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d", res.StatusCode)
			}
			if a.Status != tt.status {
				t.Fatalf("status %s, want %s", a.Status, tt.status)
			}
			e.fake.ClearFaults()
			e.clk.Advance(time.Minute)
			if _, _, err := s.SendDue(context.Background(), time.Time{}); err != nil {
				t.Fatal(err)
			}
			var again notify.NoticeAnswer
			call(t, h, "POST", "/v1/notices", textNotice("faulty", ids...), &again, "Idempotency-Key", "fault-key-123")
			if again.ID != a.ID {
				t.Errorf("retry answered another notice")
			}
			var st notify.NoticeStatus
			call(t, h, "GET", "/v1/notices/"+a.ID+"?dingtalk=false", nil, &st)
			wantNow := tt.status
			if tt.sentLater {
				wantNow = notify.StatusSent
			}
			if st.Status != wantNow {
				t.Errorf("after SendDue: %s, want %s", st.Status, wantNow)
			}
			if tt.status == notify.StatusUnknown && (st.Parts[0].Check == "" || st.Progress.Unknown != 1) {
				t.Errorf("unknown part without a check: %+v", st.Parts[0])
			}
			if tt.status == notify.StatusFailed && st.Parts[0].DingTalkErrCode != 400002 {
				t.Errorf("failed part: %+v", st.Parts[0])
			}
			if got := deliveries(e.fake)[ids[0]]; got != tt.deliveries {
				t.Errorf("%d deliveries, want %d", got, tt.deliveries)
			}
		})
	}
}

// TestCrashBetweenBatches: an instance dies after sending the first of
// three parts. A retry on another instance (once the dead one's claim has
// run out) sends the other two; the first is not sent again.
func TestCrashBetweenBatches(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 300})))
			ids := userIDs(t, e.fake, 250)
			req := textNotice("crash test", ids...)
			req.IdempotencyKey = "crash-between-batches"
			dying := e.instance(notify.WithHolder("dying"))
			notify.SetCrash(dying, func(point string, part int) bool { return point == "recorded-part" && part == 1 })
			if _, err := dying.SendNotice(context.Background(), "svc", req); !errors.Is(err, notify.ErrCrashed) {
				t.Fatalf("dying instance: %v", err)
			}
			if c := sendCalls(e.fake); c != 1 {
				t.Fatalf("%d sends before the crash, want 1", c)
			}
			survivor := e.instance(notify.WithHolder("survivor"))
			e.clk.Advance(notify.DefaultClaimTTL + time.Second)
			a, err := survivor.SendNotice(context.Background(), "svc", req)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != notify.StatusSent || len(a.TaskIDs) != 3 {
				t.Fatalf("retry answered %+v, want sent with 3 tasks", a)
			}
			if c := sendCalls(e.fake); c != 3 {
				t.Errorf("%d sends in all, want 3", c)
			}
			for _, id := range ids {
				if n := deliveries(e.fake)[id]; n != 1 {
					t.Fatalf("%s got %d notices, want 1", id, n)
				}
			}
		})
	}
}

// TestCrashBeforeSending: an instance dies after claiming the key, or
// after recording the parts but not the notice: nothing was sent, and the
// retry that takes over sends every part once.
func TestCrashBeforeSending(t *testing.T) {
	for _, point := range []string{"claimed", "parts-recorded"} {
		t.Run(point, func(t *testing.T) {
			e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 300})))
			ids := userIDs(t, e.fake, 250)
			req := textNotice("crash before", ids...)
			req.IdempotencyKey = "crash-before-" + point
			dying := e.instance(notify.WithHolder("dying"))
			notify.SetCrash(dying, func(p string, _ int) bool { return p == point })
			if _, err := dying.SendNotice(context.Background(), "svc", req); !errors.Is(err, notify.ErrCrashed) {
				t.Fatalf("dying instance: %v", err)
			}
			survivor := e.instance(notify.WithHolder("survivor"))
			notify.SetAnswerWait(survivor, 100*time.Millisecond)
			var eb *notify.Error
			if _, err := survivor.SendNotice(context.Background(), "svc", req); !errors.As(err, &eb) || eb.Status != http.StatusConflict {
				t.Fatalf("retry within the claim: %v, want 409 in progress", err)
			}
			e.clk.Advance(notify.DefaultClaimTTL + time.Second)
			a, err := survivor.SendNotice(context.Background(), "svc", req)
			if err != nil || a.Status != notify.StatusSent || len(a.TaskIDs) != 3 {
				t.Fatalf("retry after the claim: %+v %v", a, err)
			}
			if c := sendCalls(e.fake); c != 3 {
				t.Errorf("%d sends, want 3", c)
			}
		})
	}
}

// TestSendTimeout: DingTalk does not answer in time; the part is unknown
// (DingTalk may have taken it) and is not sent again.
func TestSendTimeout(t *testing.T) {
	e := newEnv(t, memory)
	s := e.instance(notify.WithSendTimeout(50 * time.Millisecond))
	release := make(chan struct{})
	defer close(release)
	e.fake.InjectFault("topapi/message/corpconversation/asyncsend_v2", dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Release: release, Times: 1})
	a, err := s.SendNotice(context.Background(), "svc", textNotice("slow", userIDs(t, e.fake, 3)...))
	if err != nil || a.Status != notify.StatusUnknown {
		t.Fatalf("answer %+v %v, want unknown", a, err)
	}
	e.clk.Advance(time.Hour)
	if rep, done, err := s.SendDue(context.Background(), time.Time{}); err != nil || !done || rep.PartsSent != 0 {
		t.Errorf("tick: %+v %v %v; want nothing resent", rep, done, err)
	}
	if c := sendCalls(e.fake); c != 1 {
		t.Errorf("%d sends, want 1", c)
	}
}

// TestCrashAfterSending: an instance dies after DingTalk took a part but
// before recording it. The part becomes unknown once the claim runs out
// and is never sent again; the tick sends the parts after it.
func TestCrashAfterSending(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 300})))
			ids := userIDs(t, e.fake, 250)
			dying := e.instance(notify.WithHolder("dying"))
			notify.SetCrash(dying, func(point string, part int) bool { return point == "sent-part" && part == 2 })
			if _, err := dying.SendNotice(context.Background(), "svc", textNotice("crash after", ids...)); !errors.Is(err, notify.ErrCrashed) {
				t.Fatalf("dying instance: %v", err)
			}
			tick := e.instance(notify.WithHolder("tick"))
			rep, done, err := tick.SendDue(context.Background(), time.Time{})
			if err != nil || done || rep.PartsSent != 1 {
				t.Fatalf("tick within the claim: %+v done=%v %v; want part 3 sent, part 2 still claimed", rep, done, err)
			}
			e.clk.Advance(notify.DefaultClaimTTL + time.Second)
			rep, done, err = tick.SendDue(context.Background(), time.Time{})
			if err != nil || !done || rep.PartsSent != 0 || rep.PartsUnknown != 1 {
				t.Fatalf("tick after the claim: %+v done=%v %v; want part 2 unknown, nothing sent", rep, done, err)
			}
			if c := sendCalls(e.fake); c != 3 {
				t.Errorf("%d sends, want 3", c)
			}
			for _, id := range ids {
				if n := deliveries(e.fake)[id]; n != 1 {
					t.Fatalf("%s got %d notices, want 1", id, n)
				}
			}
		})
	}
}

// flakyTokens is a token source that cannot give a token (its store is
// down) until up is closed.
type flakyTokens struct {
	up    chan struct{}
	fails atomic.Int32
	real  dingtalk.TokenSource
}

func (f *flakyTokens) AccessToken(ctx context.Context) (string, error) {
	select {
	case <-f.up:
		return f.real.AccessToken(ctx)
	default:
		f.fails.Add(1)
		return "", errors.New("token: read the cache: store unavailable")
	}
}

func (f *flakyTokens) Invalidate(ctx context.Context, token string) error {
	return f.real.Invalidate(ctx, token)
}

// TestTokenUnavailable: a part whose send failed because no access token
// could be had (the token cache's store down) never left, so it stays
// due however many times that happens, and is sent once a token can be
// had; it does not fail.
func TestTokenUnavailable(t *testing.T) {
	e := newEnv(t, memory)
	real, err := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(), dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL), dingtalk.WithHTTPClient(e.fake.Client()))
	if err != nil {
		t.Fatal(err)
	}
	tokens := &flakyTokens{up: make(chan struct{}), real: real.TokenSource()}
	c, err := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(),
		dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL), dingtalk.WithHTTPClient(e.fake.Client()),
		dingtalk.WithRateLimit(rate.Inf, 0), dingtalk.WithTokenSource(tokens))
	if err != nil {
		t.Fatal(err)
	}
	s, err := notify.New(e.st, c, e.fake.AgentID(), notify.WithClock(e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	h := e.handler(s)
	ids := userIDs(t, e.fake, 3)
	var a notify.NoticeAnswer
	if res := call(t, h, "POST", "/v1/notices", textNotice("no token yet", ids...), &a); res.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", res.StatusCode)
	}
	if a.Status == notify.StatusFailed {
		t.Fatalf("the notice failed for want of a token: %+v", a)
	}
	// More failed tries than a part may use on DingTalk's refusals.
	for range 8 {
		e.clk.Advance(time.Minute)
		if _, _, err := s.SendDue(context.Background(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if tokens.fails.Load() < 6 {
		t.Fatalf("%d token failures, want the sends to have tried", tokens.fails.Load())
	}
	var st notify.NoticeStatus
	call(t, h, "GET", "/v1/notices/"+a.ID+"?dingtalk=false", nil, &st)
	if st.Status == notify.StatusFailed || st.Parts[0].State != notify.PartPending {
		t.Fatalf("without a token: %s, part %s; want the part still due", st.Status, st.Parts[0].State)
	}
	close(tokens.up)
	e.clk.Advance(time.Minute)
	if _, _, err := s.SendDue(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	call(t, h, "GET", "/v1/notices/"+a.ID+"?dingtalk=false", nil, &st)
	if st.Status != notify.StatusSent || deliveries(e.fake)[ids[0]] != 1 {
		t.Errorf("once a token can be had: %s, %d deliveries; want sent once", st.Status, deliveries(e.fake)[ids[0]])
	}
}

// TestClientRateLimit: a part the client's own limiter refused (it would
// wait past the send's deadline) was not sent; it stays due, not failed.
func TestClientRateLimit(t *testing.T) {
	e := newEnv(t, memory)
	// One call, then a bucket that refills in months.
	c, err := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(),
		dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL), dingtalk.WithHTTPClient(e.fake.Client()),
		dingtalk.WithAPIRateLimit("topapi/message/corpconversation/asyncsend_v2", 1e-7, 1))
	if err != nil {
		t.Fatal(err)
	}
	s, err := notify.New(e.st, c, e.fake.AgentID(), notify.WithClock(e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	h := e.handler(s)
	ids := userIDs(t, e.fake, 2)
	var first, second notify.NoticeAnswer
	call(t, h, "POST", "/v1/notices", textNotice("first", ids...), &first)
	if first.Status != notify.StatusSent {
		t.Fatalf("first notice: %s, want sent", first.Status)
	}
	call(t, h, "POST", "/v1/notices", textNotice("second", ids...), &second)
	var st notify.NoticeStatus
	call(t, h, "GET", "/v1/notices/"+second.ID+"?dingtalk=false", nil, &st)
	if st.Status == notify.StatusFailed || st.Parts[0].State != notify.PartPending {
		t.Errorf("refused by the client's limiter: %s, part %s (%s); want the part still due", st.Status, st.Parts[0].State, st.Parts[0].Error)
	}
	if n := sendCalls(e.fake); n != 1 {
		t.Errorf("%d send calls reached DingTalk, want 1", n)
	}
}

// The client's own limiter refusing a call maps to 429 with Retry-After,
// as DingTalk's rate limits do, not to a 500.
func TestClientRateLimitAnswer(t *testing.T) {
	t.Parallel()
	e := notify.AsError(fmt.Errorf("notify: progress: %w", dingtalk.ErrClientRateLimit))
	if e.Status != http.StatusTooManyRequests || e.Body.Error != notify.CodeDingTalkRateLimited || e.RetryAfter <= 0 {
		t.Errorf("got %d %s retry %v, want 429 %s with a Retry-After", e.Status, e.Body.Error, e.RetryAfter, notify.CodeDingTalkRateLimited)
	}
}
