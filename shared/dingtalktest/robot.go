package dingtalktest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// Group robot (自定义机器人) limits.
const (
	RobotMaxPerMinute = 20
	RobotThrottle     = 10 * time.Minute
	robotSignWindow   = time.Hour
)

// RobotConfig is a custom group robot's security settings.
type RobotConfig struct {
	// Secret (SEC…) turns on signing (加签): every call needs timestamp and
	// sign.
	Secret string
	// Keywords, when set, must include one word contained in the message.
	Keywords []string
	// Disabled robots answer 400102.
	Disabled bool
}

// RobotMessage is one message a robot accepted.
type RobotMessage struct {
	Token   string
	MsgType string
	// Body is the request body as sent.
	Body    json.RawMessage
	MsgUUID string
	Time    time.Time
}

type robotState struct {
	cfg       RobotConfig
	sent      []time.Time // accepted sends within the last minute
	until     time.Time   // throttled until
	uuids     map[string]bool
	delivered []RobotMessage
}

// WithRobot registers a group robot reachable at robot/send?access_token=token.
func WithRobot(token string, cfg RobotConfig) Option {
	return func(c *config) error {
		if token == "" {
			return fmt.Errorf("dingtalktest: WithRobot: empty token")
		}
		if c.robots == nil {
			c.robots = map[string]RobotConfig{}
		}
		c.robots[token] = cfg
		return nil
	}
}

// AddRobot registers (or reconfigures) a group robot.
func (s *Server) AddRobot(token string, cfg RobotConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.robots[token]; r != nil {
		r.cfg = cfg
		return
	}
	s.robots[token] = &robotState{cfg: cfg}
}

// RobotMessages returns the messages a robot accepted ("" for all robots),
// in order.
func (s *Server) RobotMessages(token string) []RobotMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RobotMessage
	for tok, r := range s.robots {
		if token == "" || tok == token {
			for _, m := range r.delivered {
				m.Body = slices.Clone(m.Body)
				out = append(out, m)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b RobotMessage) int { return a.Time.Compare(b.Time) })
	return out
}

// robotText is the text keywords are matched against.
func robotText(msgtype string, obj map[string]any) string {
	var b strings.Builder
	for _, k := range []string{"content", "title", "text"} {
		if v, ok := obj[k].(string); ok {
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	if msgtype == "feedCard" {
		links, _ := obj["links"].([]any)
		for _, l := range links {
			if m, ok := l.(map[string]any); ok {
				t, _ := m["title"].(string)
				b.WriteString(t)
			}
		}
	}
	return b.String()
}

var robotRequired = map[string][]string{
	"text":       {"content"},
	"link":       {"title", "text", "messageUrl"},
	"markdown":   {"title", "text"},
	"actionCard": {"title", "text"},
	"feedCard":   {"links"},
}

// robotBody checks a robot message's body as DingTalk does, for robot/send
// and session replies alike: a known msgtype with its required fields. It
// returns the msgtype and its object, or the refusal.
func robotBody(body map[string]any) (msgtype string, obj map[string]any, refused *reply) {
	msgtype, _ = body["msgtype"].(string)
	fields, known := robotRequired[msgtype]
	if !known {
		r := fail(400105, "不支持的消息类型")
		return "", nil, &r
	}
	obj, _ = body[msgtype].(map[string]any)
	for _, f := range fields {
		if v, ok := obj[f]; !ok || v == "" || v == nil {
			r := fail(40035, fmt.Sprintf("缺少参数 %s.%s", msgtype, f))
			return "", nil, &r
		}
	}
	return msgtype, obj, nil
}

// POST robot/send?access_token=…[&timestamp=&sign=]
func (s *Server) robotSend(rq *request) reply {
	q := rq.r.URL.Query()
	r := s.robots[q.Get("access_token")]
	if r == nil {
		return fail(300005, "token is not exist")
	}
	if r.cfg.Disabled {
		return fail(400102, "机器人已停用")
	}
	if !isJSON(rq.r) {
		return fail(43004, "无效的HTTP HEADER Content-Type")
	}
	var body map[string]any
	if err := json.Unmarshal(rq.body, &body); err != nil || body == nil {
		return fail(40035, "缺少参数 json")
	}
	if r.cfg.Secret != "" {
		ts, sign := q.Get("timestamp"), q.Get("sign")
		if ts == "" || sign == "" {
			return fail(310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")
		}
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || rq.now.Sub(time.UnixMilli(ms)).Abs() > robotSignWindow {
			return fail(310000, "invalid timestamp")
		}
		want := dingcrypto.RobotSign(r.cfg.Secret, ms)
		if subtle.ConstantTimeCompare([]byte(want), []byte(sign)) != 1 {
			return fail(310000, "sign not match")
		}
	}
	msgtype, obj, refused := robotBody(body)
	if refused != nil {
		return *refused
	}
	if msgtype == "actionCard" {
		_, single := obj["singleTitle"]
		_, btns := obj["btns"]
		if single == btns {
			return fail(40035, "actionCard 需要 singleTitle+singleURL 或 btns")
		}
	}
	if at, ok := body["at"].(map[string]any); ok {
		mobiles, _ := at["atMobiles"].([]any)
		ids, _ := at["atUserIds"].([]any)
		if len(mobiles)+len(ids) > 50 {
			return fail(40035, "最多@50人")
		}
	}
	if len(r.cfg.Keywords) > 0 {
		text := robotText(msgtype, obj)
		if !slices.ContainsFunc(r.cfg.Keywords, func(k string) bool { return strings.Contains(text, k) }) {
			return fail(310000, "keywords not in content")
		}
	}
	if rq.now.Before(r.until) {
		return fail(410100, "send too fast, exceed 20 times per minute")
	}
	r.sent = slices.DeleteFunc(r.sent, func(t time.Time) bool { return rq.now.Sub(t) >= time.Minute })
	if len(r.sent) >= RobotMaxPerMinute {
		r.until = rq.now.Add(RobotThrottle)
		return fail(410100, "send too fast, exceed 20 times per minute")
	}
	uuid, _ := body["msgUuid"].(string)
	if uuid != "" && r.uuids[uuid] {
		return ok(nil) // idempotent repeat: accepted, not sent again
	}
	r.sent = append(r.sent, rq.now)
	if uuid != "" {
		if r.uuids == nil {
			r.uuids = map[string]bool{}
		}
		r.uuids[uuid] = true
	}
	r.delivered = append(r.delivered, RobotMessage{
		Token: q.Get("access_token"), MsgType: msgtype, Body: slices.Clone(rq.body), MsgUUID: uuid, Time: rq.now,
	})
	return ok(nil)
}
