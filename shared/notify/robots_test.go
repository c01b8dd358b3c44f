package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

const (
	opsToken    = "fake-robot-token-ops"
	opsSecret   = "SECfakesigningsecretfortestsonly"
	alertsToken = "fake-robot-token-alerts"
)

func robotEnv(t *testing.T, b storetest.Backend) *env {
	t.Helper()
	robots, err := notify.ParseRobots("ops=" + opsToken + ":" + opsSecret + ", alerts=" + alertsToken)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, b, withRealStart(),
		withFake(dingtalktest.WithRobot(opsToken, dingtalktest.RobotConfig{Secret: opsSecret}), dingtalktest.WithRobot(alertsToken, dingtalktest.RobotConfig{})),
		withNotify(notify.WithRobots(robots)))
}

func TestParseRobots(t *testing.T) {
	t.Parallel()
	r, err := notify.ParseRobots(" ops = s3cr3t1 : SECabc , alerts=s3cr3t2")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "ops,alerts" {
		t.Errorf("names %s", got)
	}
	if s := fmt.Sprint(r) + fmt.Sprintf("%v %+v", r, r); strings.Contains(s, "s3cr3t1") || strings.Contains(s, "SECabc") {
		t.Errorf("printing robots shows a secret: %s", s)
	}
	for _, bad := range []string{"ops", "ops=", "Ops=s3cr3t", "ops=s3cr3t,ops=s3cr3t", "ops=https://oapi.dingtalk.com/robot/send?access_token=s3cr3t", "ops=s3cr3t,,"} {
		_, err := notify.ParseRobots(bad)
		var re *notify.RobotsError
		if !errors.As(err, &re) {
			t.Errorf("ParseRobots(%q) = %v, want a *RobotsError", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("ParseRobots(%q) error quotes a token: %v", bad, err)
		}
	}
}

// TestRobotsAcrossInstances: three instances send 30 messages through one
// robot at once: 20 go out, 10 are answered 429 with Retry-After, and the
// fake DingTalk never throttles the robot. A minute later it sends again.
func TestRobotsAcrossInstances(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := robotEnv(t, b)
			var handlers []http.Handler
			for i := range 3 {
				handlers = append(handlers, e.handler(e.instance(notify.WithHolder(fmt.Sprintf("i%d", i)))))
			}
			var mu sync.Mutex
			codes := map[int]int{}
			var wg sync.WaitGroup
			for i := range 30 {
				h := handlers[i%3]
				wg.Go(func() {
					var out map[string]any
					res := call(t, h, "POST", "/v1/robots/ops/messages", map[string]any{
						"msgtype": "markdown", "markdown": map[string]string{"title": "deploy", "text": fmt.Sprintf("### deploy %d done", i)}}, &out)
					mu.Lock()
					codes[res.StatusCode]++
					mu.Unlock()
					if res.StatusCode == http.StatusTooManyRequests {
						if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
							t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
						}
						if out["error"] != notify.CodeRobotRateLimited {
							t.Errorf("429 body %v", out)
						}
					}
				})
			}
			wg.Wait()
			if codes[200] != 20 || codes[429] != 10 {
				t.Fatalf("answers %v, want 20×200 and 10×429", codes)
			}
			for _, c := range e.fake.Calls() {
				if c.API == "robot/send" && c.Errcode != 0 {
					t.Fatalf("DingTalk answered errcode %d: the robot was throttled", c.Errcode)
				}
			}
			if n := len(e.fake.RobotMessages(opsToken)); n != 20 {
				t.Errorf("robot delivered %d, want 20", n)
			}
			e.clk.Advance(time.Minute)
			if res := call(t, handlers[0], "POST", "/v1/robots/ops/messages", map[string]any{"msgtype": "text", "text": map[string]string{"content": "later"}}, nil); res.StatusCode != 200 {
				t.Errorf("a minute later: %d", res.StatusCode)
			}
			// Another robot has its own budget.
			if res := call(t, handlers[1], "POST", "/v1/robots/alerts/messages", map[string]any{"msgtype": "text", "text": map[string]string{"content": "x"}}, nil); res.StatusCode != 200 {
				t.Errorf("second robot: %d", res.StatusCode)
			}
		})
	}
}

func TestRobotRequests(t *testing.T) {
	e := robotEnv(t, memory)
	s := e.instance()
	h := e.handler(s)
	text := map[string]any{"msgtype": "text", "text": map[string]string{"content": "hi @13800000000"}, "at": map[string]any{"atMobiles": []string{"13800000000"}}}
	var a notify.RobotAnswer
	if res := call(t, h, "POST", "/v1/robots/ops/messages", text, &a, "Idempotency-Key", "robot-key-0001"); res.StatusCode != 200 || a.Robot != "ops" || a.Status != "sent" {
		t.Fatalf("send: %d %+v", res.StatusCode, a)
	}
	var again notify.RobotAnswer
	res := call(t, h, "POST", "/v1/robots/ops/messages", text, &again, "Idempotency-Key", "robot-key-0001")
	if res.StatusCode != 200 || res.Header.Get("Idempotent-Replayed") != "true" || !again.SentAt.Equal(a.SentAt) {
		t.Errorf("replay: %d %q %+v", res.StatusCode, res.Header.Get("Idempotent-Replayed"), again)
	}
	if n := len(e.fake.RobotMessages(opsToken)); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
	tests := []struct {
		name, path string
		body       string
		status     int
		code       string
		field      string
	}{
		{"unknown robot", "/v1/robots/nope/messages", `{"msgtype":"text","text":{"content":"x"}}`, 404, notify.CodeRobotNotFound, ""},
		{"mention not in text", "/v1/robots/ops/messages", `{"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":["u1"]}}`, 400, notify.CodeInvalidMessage, "at.atUserIds"},
		{"feedCard without links", "/v1/robots/ops/messages", `{"msgtype":"feedCard","feedCard":{"links":[]}}`, 400, notify.CodeInvalidMessage, "feedCard.links"},
		{"work-notice spelling", "/v1/robots/ops/messages", `{"msgtype":"action_card","action_card":{"markdown":"x"}}`, 400, "invalid_body", "action_card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eb errBody
			res := call(t, h, "POST", tt.path, tt.body, &eb, invalidRequestHeader, "1")
			if res.StatusCode != tt.status || eb.Error != tt.code || eb.Field != tt.field {
				t.Errorf("got %d %+v, want %d %s %s", res.StatusCode, eb, tt.status, tt.code, tt.field)
			}
		})
	}
	// A message DingTalk refuses (keywords) is mapped, and the key is
	// released: after fixing, the same key sends.
	e.fake.AddRobot(alertsToken, dingtalktest.RobotConfig{Keywords: []string{"告警"}})
	var eb errBody
	msg := map[string]any{"msgtype": "text", "text": map[string]string{"content": "no keyword"}}
	if res := call(t, h, "POST", "/v1/robots/alerts/messages", msg, &eb, "Idempotency-Key", "robot-key-0002"); res.StatusCode != http.StatusBadGateway || eb.DingTalkErrCode != 310000 {
		t.Errorf("refused by DingTalk: %d %+v", res.StatusCode, eb)
	}
	e.fake.AddRobot(alertsToken, dingtalktest.RobotConfig{})
	if res := call(t, h, "POST", "/v1/robots/alerts/messages", msg, nil, "Idempotency-Key", "robot-key-0002"); res.StatusCode != 200 {
		t.Errorf("same key after the fix: %d", res.StatusCode)
	}
	// A lost answer is final for the key: never sent twice.
	e.fake.InjectFault("robot/send", dingtalktest.Fault{Kind: dingtalktest.FaultDropAfter, Times: 1})
	msg3 := map[string]any{"msgtype": "text", "text": map[string]string{"content": "lost answer"}}
	for range 2 {
		if res := call(t, h, "POST", "/v1/robots/alerts/messages", msg3, &eb, "Idempotency-Key", "robot-key-0003"); res.StatusCode != http.StatusBadGateway || eb.Error != notify.CodeDingTalkOutcomeUnknown {
			t.Errorf("lost answer: %d %+v", res.StatusCode, eb)
		}
	}
	delivered := 0
	for _, m := range e.fake.RobotMessages(alertsToken) {
		if strings.Contains(string(m.Body), "lost answer") {
			delivered++
		}
	}
	if delivered != 1 {
		t.Errorf("lost-answer message delivered %d times, want 1", delivered)
	}
	if _, err := s.SendRobot(context.Background(), "svc", "ops", dingtalk.RobotText("from Go"), ""); err != nil {
		t.Errorf("SendRobot from Go: %v", err)
	}
}
