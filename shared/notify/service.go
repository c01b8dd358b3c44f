package notify

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/lease"
	"github.com/dingfn/dingfn/shared/token"
	"github.com/dingfn/dingfn/shared/wait"
)

// The store tables notify keeps (logical names; the store prepends
// DINGFN_TABLE_PREFIX). Their keys and JSON values are a public contract,
// documented in the package documentation and the README.
const (
	// NoticesTable holds each notice (key: its id) and its parts (key:
	// id/NNNN).
	NoticesTable = "notices"
	// DueTable lists the notices that have parts still to send or to
	// settle (key: notice id); the sync tick's notices step reads it.
	DueTable = "notice_due"
	// IdempotencyTable holds each Idempotency-Key's first request and
	// answer (key: scope/caller/key).
	IdempotencyTable = "idempotency"
	// LimitsTable holds the budgets shared by every instance: work-notice
	// recipients per minute (key: notice_recipients/<agent id>) and each
	// robot's messages per minute (key: robot/<robot hash>).
	LimitsTable = "notify_limits"
	// DailyTable holds, per China-time day, what each person was sent
	// (key: <day>/<shard>), for the duplicate and daily-cap warnings.
	DailyTable = "notice_daily"
)

// Defaults of a Service.
const (
	// DefaultRecipientsPerMinute is DingTalk's cap on an app's work-notice
	// recipients per minute (dingtalk.MaxNoticeRecipientsPerMinute).
	DefaultRecipientsPerMinute = dingtalk.MaxNoticeRecipientsPerMinute
	// DefaultRetention is how long notices and their parts are kept;
	// DingTalk itself answers for a send task for 24 hours.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultIdempotencyTTL is how long an Idempotency-Key and its first
	// answer are remembered.
	DefaultIdempotencyTTL = 24 * time.Hour
	// DefaultClaimTTL is how long an instance has to finish a request or
	// a part before another may take it over (a part then counts as
	// unknown, never as unsent). It exceeds notify's 29 s timeout.
	DefaultClaimTTL = 2 * time.Minute
	// DefaultSendTimeout bounds one DingTalk send call.
	DefaultSendTimeout = 15 * time.Second
	// DefaultAnswerWait is how long a request waits for the answer of
	// another request with the same Idempotency-Key before answering 409.
	DefaultAnswerWait = 20 * time.Second
)

// DingTalk's limits are per app, whichever instance calls. The deploy
// descriptors cap notify at MaxInstances instances; the sync function's
// tick (one at a time) sends due parts too. Each of these processes calls
// DingTalk's work-notice APIs at InstanceRateLimit at most (see
// ClientOptions), so (MaxInstances + 1) × (Limit + Burst) calls in any
// second stay within AppQPS. Recipients per minute and robot messages are
// counted in the store, across instances, instead.
const (
	// AppQPS is DingTalk's per-app, per-API limit (standard edition).
	AppQPS = 20
	// MaxInstances is how many notify instances run at once at most
	// (FC reservedConcurrency, Lambda ReservedConcurrentExecutions).
	MaxInstances = 4
)

// InstanceRateLimit is the per-API rate of one sending process's DingTalk
// client: (4 + 1) × (3 + 1) = 20 calls in any second, within AppQPS.
var InstanceRateLimit = dingtalk.RateLimit{Limit: 3, Burst: 1}

// noticeAPIs are the APIs the sync tick's notices step calls as well as
// notify (work notices and the app robot's messages), by the client's API
// names.
var noticeAPIs = []string{
	"topapi/message/corpconversation/asyncsend_v2",
	"topapi/message/corpconversation/getsendprogress",
	"topapi/message/corpconversation/getsendresult",
	"topapi/message/corpconversation/recall",
	"v1.0/robot/oToMessages/batchSend",
	"v1.0/robot/groupMessages/send",
}

// ClientOptions returns the DingTalk client options of a process that
// runs notify (the notify function, the sync tick's notices step, `dingfn
// dev`): the work-notice APIs at InstanceRateLimit, and no per-process
// robot limit, since each robot's messages are counted in the store across
// every instance (a second, per-process limit would only hold messages
// the store has let through). With all, every API is held to
// InstanceRateLimit (the notify function, whose instances share the app's
// limits).
func ClientOptions(all bool) []dingtalk.Option {
	opts := []dingtalk.Option{dingtalk.WithRobotRateLimit(rate.Inf, 0)}
	if all {
		opts = append(opts, dingtalk.WithRateLimit(InstanceRateLimit.Limit, InstanceRateLimit.Burst))
	}
	for _, api := range noticeAPIs {
		opts = append(opts, dingtalk.WithAPIRateLimit(api, InstanceRateLimit.Limit, InstanceRateLimit.Burst))
	}
	return opts
}

// Service is notify: work notices with batching, idempotency and
// delivery status, group-robot messages, dd.config signatures, login
// exchange and directory reads. The HTTP API (Handler) is a thin layer
// over it, and the command line calls it directly. It is safe for
// concurrent use, and any number of Services (instances) may share one
// store.
type Service struct {
	st      store.Store
	dt      *dingtalk.Client
	agentID int64
	corpID  string
	robots  *Robots
	dir     Directory
	signer  *token.JSAPISigner
	now     func() time.Time
	log     *slog.Logger
	// holder names this instance in its claims: lease.HolderID, made at
	// the first claim rather than at start (a random read and the host
	// name, which most cold starts never need), or WithHolder's id.
	holder    func() string
	perMinute int
	// robotCode is the app robot robot messages are sent as;
	// botPerMinute its messages a minute.
	robotCode    string
	botPerMinute int
	retention    time.Duration
	claimTTL     time.Duration
	sendTO       time.Duration
	idem         *idempotency

	// crash, set by tests, stops the work at the named point as a killed
	// process would: no further write of any kind.
	crash func(point string, part int) bool
}

// Option configures a Service.
type Option func(*Service) error

// WithRobots sets the group robots (DINGFN_ROBOTS).
func WithRobots(r *Robots) Option {
	return func(s *Service) error { s.robots = r; return nil }
}

// WithRobotCode sets the app robot that POST /v1/robot/messages sends as
// (DINGTALK_ROBOT_CODE, whose default is the app key). Without it robot
// messages answer 501.
func WithRobotCode(code string) Option {
	return func(s *Service) error { s.robotCode = code; return nil }
}

// WithDirectory sets the directory mirror that directory reads and
// logins answer from and that sizes department sends. Without it every
// read goes to DingTalk.
func WithDirectory(d Directory) Option {
	return func(s *Service) error { s.dir = d; return nil }
}

// WithJSAPISigner sets the dd.config signer (it needs the corp id).
func WithJSAPISigner(sg *token.JSAPISigner) Option {
	return func(s *Service) error { s.signer = sg; return nil }
}

// WithClock sets the clock (default time.Now); pass the store's clock.
func WithClock(now func() time.Time) Option {
	return func(s *Service) error {
		if now == nil {
			return errors.New("notify: WithClock: nil clock")
		}
		s.now = now
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) error {
		if l == nil {
			return errors.New("notify: WithLogger: nil logger")
		}
		s.log = l
		return nil
	}
}

// WithHolder names this instance in the claims it writes (default
// lease.HolderID()).
func WithHolder(id string) Option {
	return func(s *Service) error {
		if id == "" {
			return errors.New("notify: WithHolder: empty id")
		}
		s.holder = func() string { return id }
		return nil
	}
}

// WithRecipientsPerMinute lowers the app's work-notice recipients per
// minute below DingTalk's 5 000, for an app that shares the cap with other
// senders.
func WithRecipientsPerMinute(n int) Option {
	return func(s *Service) error {
		if n < dingtalk.MaxNoticeUsers || n > dingtalk.MaxNoticeRecipientsPerMinute {
			return fmt.Errorf("notify: WithRecipientsPerMinute: %d is not within %d..%d", n, dingtalk.MaxNoticeUsers, dingtalk.MaxNoticeRecipientsPerMinute)
		}
		s.perMinute = n
		return nil
	}
}

// WithRobotMessagesPerMinute lowers the app robot's messages a minute
// below DingTalk's 6 000, for a robot that other senders share.
func WithRobotMessagesPerMinute(n int) Option {
	return func(s *Service) error {
		if n < dingtalk.MaxChatbotUsers || n > dingtalk.MaxChatbotMessagesPerMinute {
			return fmt.Errorf("notify: WithRobotMessagesPerMinute: %d is not within %d..%d", n, dingtalk.MaxChatbotUsers, dingtalk.MaxChatbotMessagesPerMinute)
		}
		s.botPerMinute = n
		return nil
	}
}

// WithClaimTTL sets how long an instance may take to finish a request or
// a part before others take over (default DefaultClaimTTL).
func WithClaimTTL(d time.Duration) Option {
	return func(s *Service) error {
		if d < time.Second {
			return fmt.Errorf("notify: WithClaimTTL: %v is shorter than a second", d)
		}
		s.claimTTL = d
		return nil
	}
}

// WithSendTimeout bounds one DingTalk send call (default
// DefaultSendTimeout); a send that times out counts as unknown.
func WithSendTimeout(d time.Duration) Option {
	return func(s *Service) error {
		if d <= 0 {
			return fmt.Errorf("notify: WithSendTimeout: %v is not positive", d)
		}
		s.sendTO = d
		return nil
	}
}

// New returns notify on st, sending with client as the app's agent
// agentID (DINGTALK_AGENT_ID). With agentID 0 (a function without the
// setting, such as sync) it cannot send new notices but still sends the
// parts of recorded ones, as each notice names its agent.
func New(st store.Store, client *dingtalk.Client, agentID int64, opts ...Option) (*Service, error) {
	if st == nil || client == nil {
		return nil, errors.New("notify: New needs a store and a DingTalk client")
	}
	if agentID < 0 {
		return nil, fmt.Errorf("notify: agent id %d is negative", agentID)
	}
	s := &Service{
		st: st, dt: client, agentID: agentID, now: time.Now, log: slog.New(slog.DiscardHandler),
		holder: lease.HolderID, perMinute: DefaultRecipientsPerMinute, botPerMinute: dingtalk.MaxChatbotMessagesPerMinute, retention: DefaultRetention,
		claimTTL: DefaultClaimTTL, sendTO: DefaultSendTimeout, robots: &Robots{},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.idem = &idempotency{st: st, table: IdempotencyTable, now: s.now, holder: s.holder,
		ttl: DefaultIdempotencyTTL, claimTTL: s.claimTTL, wait: DefaultAnswerWait, pause: wait.Sleep}
	return s, nil
}

// AgentID returns the agent id notices are sent as.
func (s *Service) AgentID() int64 { return s.agentID }

// Robots returns the configured group robots.
func (s *Service) Robots() *Robots { return s.robots }

// crashed reports whether a test asked the work to stop at point.
func (s *Service) crashed(point string, part int) bool {
	return s.crash != nil && s.crash(point, part)
}

// errCrashed is what the work returns when a test stops it.
var errCrashed = errors.New("notify: stopped as if the process had died (test)")

// idEncoding is base32 with the extended-hex alphabet (0-9, a-v once
// lowercased), whose order is the bytes' order, so ids sort by time.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// newID returns a new id of a record: prefix (see recordKind) and 24
// base32 characters that sort by creation time (48 bits of milliseconds,
// 72 random bits).
func (s *Service) newID(prefix byte) string {
	var b [15]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(s.now().UnixMilli()))
	copy(b[:6], ms[2:])
	_, _ = rand.Read(b[6:])
	return string(prefix) + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
