package notify

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// RobotMessagesPerMinute is how many messages notify lets one robot send
// in any 60 seconds, across every instance: DingTalk mutes a robot for 10
// minutes after 20 in a minute.
const RobotMessagesPerMinute = dingtalk.MaxRobotMessagesPerMinute

// isRobotName reports whether name may be a robot's name,
// [a-z0-9][a-z0-9_-]{0,63}: it appears in URLs and logs. Written out, as
// a package-level regexp is compiled at every cold start.
func isRobotName(name string) bool {
	if len(name) == 0 || len(name) > 64 || name[0] == '_' || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Robots is the set of group robots (自定义机器人) notify may send
// through, by name. Build it with ParseRobots. It never prints a token or
// secret: String and LogValue show the names only.
type Robots struct {
	list []robot
}

type robot struct {
	name string
	hook dingtalk.Webhook
}

// RobotsError lists every problem ParseRobots found, naming entries by
// position, never quoting a token or secret.
type RobotsError struct {
	Problems []string
}

// Error joins the problems.
func (e *RobotsError) Error() string { return "robots: " + strings.Join(e.Problems, "; ") }

// ParseRobots reads DINGFN_ROBOTS: comma-separated entries, each
// name=access_token or name=access_token:signing_secret (加签, the
// "SEC…" secret). The access token is the access_token of the robot's
// webhook URL. Names are lower-case letters, digits, "-" and "_", unique;
// they are the {name} of POST /v1/robots/{name}/messages. An empty string
// is no robots. Every problem is reported at once.
func ParseRobots(s string) (*Robots, error) {
	r := &Robots{}
	if strings.TrimSpace(s) == "" {
		return r, nil
	}
	var problems []string
	names := map[string]int{}
	for i, raw := range strings.Split(s, ",") {
		n := i + 1
		entry := strings.TrimSpace(raw)
		name, cred, ok := strings.Cut(entry, "=")
		name = strings.TrimSpace(name)
		switch {
		case entry == "":
			problems = append(problems, fmt.Sprintf("entry %d is empty (check for doubled or trailing commas)", n))
			continue
		case !ok:
			problems = append(problems, fmt.Sprintf("entry %d is not name=access_token or name=access_token:secret", n))
			continue
		case !isRobotName(name):
			problems = append(problems, fmt.Sprintf("entry %d: the name must be 1 to 64 lower-case letters, digits, '-' or '_'", n))
			continue
		}
		token, secret, _ := strings.Cut(strings.TrimSpace(cred), ":")
		token, secret = strings.TrimSpace(token), strings.TrimSpace(secret)
		switch {
		case token == "":
			problems = append(problems, fmt.Sprintf("robot %s (entry %d) has no access token", name, n))
			continue
		case strings.ContainsAny(token+secret, " \t\r\n=&?/"):
			problems = append(problems, fmt.Sprintf("robot %s (entry %d): the access token and secret are the bare values, not a URL", name, n))
			continue
		}
		if prev, dup := names[name]; dup {
			problems = append(problems, fmt.Sprintf("robot %s is named at entries %d and %d", name, prev, n))
			continue
		}
		names[name] = n
		r.list = append(r.list, robot{name: name, hook: dingtalk.Webhook{AccessToken: token, Secret: secret}})
	}
	if problems != nil {
		return nil, &RobotsError{Problems: problems}
	}
	return r, nil
}

// Names returns the robots' names in configuration order.
func (r *Robots) Names() []string {
	if r == nil {
		return nil
	}
	out := make([]string, len(r.list))
	for i, b := range r.list {
		out[i] = b.name
	}
	return out
}

// Len returns how many robots there are.
func (r *Robots) Len() int {
	if r == nil {
		return 0
	}
	return len(r.list)
}

// String shows the names only.
func (r *Robots) String() string { return "notify.Robots" + fmt.Sprint(r.Names()) }

// LogValue logs the names only.
func (r *Robots) LogValue() slog.Value { return slog.AnyValue(r.Names()) }

func (r *Robots) lookup(name string) (robot, bool) {
	if r == nil {
		return robot{}, false
	}
	i := slices.IndexFunc(r.list, func(b robot) bool { return b.name == name })
	if i < 0 {
		return robot{}, false
	}
	return r.list[i], true
}

// NameFor returns the name of the robot whose webhook access token is
// accessToken, so that a message seen at the webhook (the simulated
// DingTalk's robot messages) can be labelled without showing the token.
func (r *Robots) NameFor(accessToken string) (string, bool) {
	if r == nil || accessToken == "" {
		return "", false
	}
	for _, b := range r.list {
		if subtle.ConstantTimeCompare([]byte(b.hook.AccessToken), []byte(accessToken)) == 1 {
			return b.name, true
		}
	}
	return "", false
}

// robotKey names a robot's budget row by its token's hash, so two names
// for one robot share it and the row holds no token.
func robotKey(hook dingtalk.Webhook) string {
	sum := sha256.Sum256([]byte(hook.AccessToken))
	return "robot/" + hex.EncodeToString(sum[:8])
}

// RobotAnswer is the answer to a robot message (200).
type RobotAnswer struct {
	Robot  string `json:"robot"`
	Status string `json:"status"`
	// SentAt is when DingTalk accepted the message.
	SentAt time.Time `json:"sent_at"`
	// Replayed is set when the answer is the first answer to the same
	// Idempotency-Key.
	Replayed bool `json:"-"`
}

// SendRobot sends msg (DingTalk's robot message object: text, markdown,
// link, actionCard or feedCard, with @-mentions) through the robot name,
// within 20 messages a minute per robot across every instance: beyond it
// the answer is a 429 robot_rate_limited with RetryAfter, and DingTalk is
// not called. With an idempotency key, the same request returns the first
// answer and is not sent again; a message DingTalk may or may not have
// taken (a timeout) is answered 502 dingtalk_outcome_unknown, and that
// answer too is final for the key.
func (s *Service) SendRobot(ctx context.Context, caller, name string, msg *dingtalk.RobotMessage, idemKey string) (RobotAnswer, error) {
	ctx = httpapi.WithCaller(ctx, caller)
	rb, ok := s.robots.lookup(name)
	if !ok {
		names := s.robots.Names()
		hint := "no robots are configured (DINGFN_ROBOTS)"
		if len(names) > 0 {
			hint = "configured robots: " + strings.Join(names, ", ")
		}
		return RobotAnswer{}, newError(http.StatusNotFound, CodeRobotNotFound, "no robot named %q; %s", truncate(name, 64), hint)
	}
	if msg == nil {
		e := newError(http.StatusBadRequest, CodeInvalidMessage, "the body is DingTalk's robot message object, e.g. {\"msgtype\":\"text\",\"text\":{\"content\":\"…\"}}")
		e.Body.Field, e.Body.Rule = "msgtype", string(dingtalk.RuleRequired)
		return RobotAnswer{}, e
	}
	if err := msg.Validate(); err != nil {
		return RobotAnswer{}, AsError(err)
	}
	var c claim
	if idemKey != "" {
		hash, err := requestHash(msg)
		if err != nil {
			return RobotAnswer{}, AsError(err)
		}
		if c, err = s.idem.begin(ctx, "robots/"+name, caller, idemKey, hash, func() string { return "" }); err != nil {
			return RobotAnswer{}, AsError(err)
		}
		if c.replay != nil {
			return replayRobot(c.replay)
		}
		if c.takenOver {
			// The owner died between claiming and answering: it may have
			// sent the message.
			e := newError(http.StatusBadGateway, CodeDingTalkOutcomeUnknown,
				"an earlier request with this Idempotency-Key stopped before recording DingTalk's answer; the message may or may not have been sent, and it is not sent again")
			if _, err := s.idem.finish(context.WithoutCancel(ctx), c, e.Status, e.Body); err != nil {
				return RobotAnswer{}, AsError(err)
			}
			return RobotAnswer{}, e
		}
		if msg.MsgUUID == "" {
			// DingTalk drops a second message with the same msgUuid.
			m := *msg
			m.MsgUUID = hashBytes([]byte(idemKey + "\x00" + caller))[:32]
			msg = &m
		}
	}
	release := func() {
		if idemKey != "" {
			if err := s.idem.release(context.WithoutCancel(ctx), c); err != nil {
				s.log.WarnContext(ctx, "notify: release idempotency key", "err", err)
			}
		}
	}
	now := s.now()
	granted, retryAt, err := take(ctx, s.st, LimitsTable, robotKey(rb.hook), now, time.Minute, RobotMessagesPerMinute, 1, 1)
	if err != nil {
		release()
		return RobotAnswer{}, AsError(err)
	}
	if granted == 0 {
		release()
		return RobotAnswer{}, &Error{Status: http.StatusTooManyRequests, RetryAfter: max(retryAt.Sub(now), time.Second),
			Body: errBody(CodeRobotRateLimited, fmt.Sprintf("robot %s sent %d messages in the last minute, DingTalk's limit (beyond it DingTalk mutes the robot for 10 minutes); retry after %s",
				name, RobotMessagesPerMinute, retryAt.UTC().Format(time.RFC3339)))}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sendTO)
	sendErr := s.dt.Robot.Send(sctx, rb.hook, msg)
	cancel()
	if sendErr != nil {
		e := AsError(sendErr)
		if dingtalk.MaybeSent(sendErr) && idemKey != "" {
			if _, err := s.idem.finish(context.WithoutCancel(ctx), c, e.Status, e.Body); err != nil {
				return RobotAnswer{}, AsError(err)
			}
		} else {
			release()
		}
		s.log.WarnContext(ctx, "notify: robot message not sent", "robot", name, "err", sendErr)
		return RobotAnswer{}, e
	}
	a := RobotAnswer{Robot: name, Status: StatusSent, SentAt: s.now().UTC()}
	if idemKey != "" {
		rp, err := s.idem.finish(context.WithoutCancel(ctx), c, http.StatusOK, a)
		if err != nil {
			return RobotAnswer{}, AsError(err)
		}
		if first, err := replayRobot(&rp); err == nil {
			first.Replayed = false
			a = first
		}
	}
	s.log.InfoContext(ctx, "notify: robot message", "robot", name, "msgtype", msg.MsgType)
	return a, nil
}

// replayRobot turns a stored first answer back into the answer or error.
func replayRobot(rp *replay) (RobotAnswer, error) {
	if rp.Status != http.StatusOK {
		e := &Error{Status: rp.Status}
		if err := json.Unmarshal(rp.Answer, &e.Body); err != nil {
			return RobotAnswer{}, AsError(fmt.Errorf("notify: stored answer: %w", err))
		}
		e.Body.RequestID = ""
		return RobotAnswer{}, e
	}
	var a RobotAnswer
	if err := json.Unmarshal(rp.Answer, &a); err != nil {
		return RobotAnswer{}, AsError(fmt.Errorf("notify: stored answer: %w", err))
	}
	a.Replayed = true
	return a, nil
}
