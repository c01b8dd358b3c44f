package chatbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// DefaultMaxBody is the largest message accepted unless WithMaxBody says
// otherwise; DingTalk's robot messages are a few KiB.
const DefaultMaxBody int64 = 1 << 20

// Log is where the receiver records each message: the event log
// (*events.Service), which dedupes it and runs the chat handlers.
type Log interface {
	Process(ctx context.Context, ev *events.Event) (events.Processed, error)
}

var _ Log = (*events.Service)(nil)

// Option configures NewHandler.
type Option func(*receiver) error

// WithLogger sets the logger of refused requests and of each message
// (ids, types and outcomes, never the content or the session webhook).
func WithLogger(l *slog.Logger) Option {
	return func(r *receiver) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		r.logger = l
		return nil
	}
}

// WithClock replaces time.Now for the signature's time window and the
// received time; for tests.
func WithClock(now func() time.Time) Option {
	return func(r *receiver) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		r.now = now
		return nil
	}
}

// WithMaxBody sets the body size limit in bytes (default DefaultMaxBody).
func WithMaxBody(n int64) Option {
	return func(r *receiver) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBody: %d is not a positive size", n)
		}
		r.maxBody = n
		return nil
	}
}

type receiver struct {
	secret  string
	log     Log
	logger  *slog.Logger
	now     func() time.Time
	maxBody int64
}

// NewHandler returns the robot's message URL: it verifies DingTalk's
// timestamp and sign headers with the app secret (dingcrypto's one-hour
// window), logs the message in log as an EventType event with EventID's
// id (a redelivery is acknowledged and nothing runs again), lets the chat
// handlers run within the log's time budget, and answers with the first
// reply they gave in that time, or {"msgtype":"empty"}. Anything else is
// refused with dingfn's JSON error body.
func NewHandler(appSecret string, log Log, opts ...Option) (http.Handler, error) {
	if appSecret == "" || log == nil {
		return nil, errors.New("chatbot: NewHandler needs the app secret and the event log")
	}
	r := &receiver{secret: appSecret, log: log, logger: slog.New(slog.DiscardHandler), now: time.Now, maxBody: DefaultMaxBody}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, fmt.Errorf("chatbot: %w", err)
		}
	}
	return r, nil
}

// Error codes of the receiver's JSON error body.
const (
	codeMethod           = "method_not_allowed"
	codeMissingSignature = "missing_signature"
	codeBadSignature     = "bad_signature"
	codeExpired          = "expired_timestamp"
	codeTooLarge         = httpapi.CodeBodyTooLarge // httpapi.ReadBody's
	codeMalformed        = "malformed_message"
	codeDispatchFailed   = "dispatch_failed"
)

// empty is the answer without a reply.
var empty = json.RawMessage(`{"msgtype":"empty"}`)

// ServeHTTP answers one robot message.
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.reject(w, r, http.StatusMethodNotAllowed, codeMethod, "only POST is accepted", nil)
		return
	}
	ts, sign := r.Header.Get("timestamp"), r.Header.Get("sign")
	if ts == "" || sign == "" {
		rc.reject(w, r, http.StatusUnauthorized, codeMissingSignature, "the timestamp and sign headers DingTalk signs robot messages with are required", nil)
		return
	}
	now := rc.now()
	if err := dingcrypto.VerifyRobotCallback(rc.secret, ts, sign, now); err != nil {
		var e *dingcrypto.Error
		if errors.As(err, &e) && (e.Kind == dingcrypto.KindBadTimestamp || e.Kind == dingcrypto.KindExpiredTimestamp) {
			rc.reject(w, r, http.StatusUnauthorized, codeExpired, "the timestamp header is not a time in milliseconds within an hour of now", err)
			return
		}
		rc.reject(w, r, http.StatusUnauthorized, codeBadSignature, "the sign header does not match; check DINGTALK_APP_SECRET", err)
		return
	}
	raw, err := httpapi.ReadBody(w, r, rc.maxBody)
	if e, ok := errors.AsType[*httpapi.Error](err); ok {
		rc.reject(w, r, e.Status, e.Body.Error, e.Body.Message, nil)
		return
	}
	if err != nil {
		rc.reject(w, r, http.StatusBadRequest, codeMalformed, "the body could not be read", err)
		return
	}
	m, err := ParseMessage(raw)
	if err != nil {
		rc.reject(w, r, http.StatusBadRequest, codeMalformed, err.Error(), nil)
		return
	}
	ev := &events.Event{ID: EventID(m), Type: EventType, CorpID: m.CorpID(), ReceivedAt: now.UTC(), Time: m.CreatedAt(),
		Source: SourceChatbot, Payload: raw}
	b := &body{eventID: ev.ID}
	p, err := rc.log.Process(withBody(ctx, b), ev)
	reply := b.close()
	if err != nil {
		rc.logger.ErrorContext(ctx, "chatbot message not recorded", "id", ev.ID, "msgtype", m.MsgType, "err", err)
		httpapi.WriteError(w, r, http.StatusInternalServerError, codeDispatchFailed, "the message could not be recorded; retry later")
		return
	}
	rc.logger.InfoContext(ctx, "chatbot message", "id", ev.ID, "msgtype", m.MsgType, "conversation_type", m.ConversationType,
		"duplicate", p.Duplicate, "status", p.Status, "replied", reply != nil)
	if reply == nil {
		httpapi.WriteJSON(w, http.StatusOK, empty)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, reply)
}

// reject logs why a request was refused (never its body or headers'
// values) and answers with dingfn's JSON error.
func (rc *receiver) reject(w http.ResponseWriter, r *http.Request, status int, code, message string, cause error) {
	attrs := []any{"status", status, "code", code, "method", r.Method, "remote", r.RemoteAddr}
	if cause != nil {
		attrs = append(attrs, "err", cause)
	}
	rc.logger.WarnContext(r.Context(), "chatbot message refused", attrs...)
	httpapi.WriteError(w, r, status, code, message)
}

// Path is the callback function's path for robot messages: set the robot's
// message URL (消息接收地址) to the callback's URL + "/robot".
const Path = "/robot"

// Route returns the callback function's handler: a request whose path is
// Path, or ends in it (the function behind a prefix, as under `dingfn
// dev`'s /callback), goes to robot; every other path to push, so the
// event push keeps whatever URL it was registered with.
func Route(push, robot http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/")
		if p == Path || strings.HasSuffix(p, Path) {
			robot.ServeHTTP(w, r)
			return
		}
		push.ServeHTTP(w, r)
	})
}
