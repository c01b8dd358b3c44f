package chatbot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
)

// EventType is the type robot messages are logged under in the event log.
const EventType = "chatbot_message"

// SourceChatbot is the event log's source of robot messages.
const SourceChatbot = "chatbot"

// ReplyFunc answers the message a handler was given, in its conversation:
// msg is a text, markdown, actionCard, feedCard or link message, with
// @-mentions written into the text (dingtalk.RobotText and
// dingtalk.RobotMarkdown add them). Within the request's time budget the
// first reply goes back in the HTTP answer; any other goes through the
// message's session webhook while it is valid. An error says the reply
// was not delivered; the handler's run then fails with it (see Handle),
// whatever the handler returns.
type ReplyFunc func(ctx context.Context, msg *dingtalk.RobotMessage) error

// Handler answers robot messages. It must be idempotent in what it does
// besides replying, and honour ctx: a run cut short by the time budget,
// or failed, runs again from the drain, and its replies are sent again.
type Handler interface {
	HandleMessage(ctx context.Context, m *Message, reply ReplyFunc) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message, reply ReplyFunc) error

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, m *Message, reply ReplyFunc) error {
	return f(ctx, m, reply)
}

// RouteName is the name a chat handler's outcome is recorded under in the
// event log: "chat:" + name.
func RouteName(name string) string { return "chat:" + name }

// Handle registers h on the event log's mux for robot messages, under
// RouteName(name) (keep name stable across deployments). The handler
// gets each message once, typed, with a reply function. Its run fails
// with the reply's error when a reply could not be delivered, even if h
// returned nil: a reply that cannot be delivered any more (the session
// webhook expired, DingTalk refused it, the outcome is unknown) is
// permanent, so the event is dead with the reason; one refused for a
// passing reason (rate limit, DingTalk busy) is retried by the drain.
func Handle(mux *events.Mux, name string, h Handler) {
	if h == nil {
		panic("chatbot: nil handler for " + name)
	}
	mux.Route(RouteName(name), adapter{h: h}, EventType)
}

// HandleFunc registers f as Handle does.
func HandleFunc(mux *events.Mux, name string, f func(ctx context.Context, m *Message, reply ReplyFunc) error) {
	if f == nil {
		panic("chatbot: nil handler for " + name)
	}
	Handle(mux, name, HandlerFunc(f))
}

// adapter runs a Handler as an events.Handler.
type adapter struct{ h Handler }

// HandleEvent parses the message, runs the handler with a reply function
// and returns the handler's error joined with the first undelivered
// reply's.
func (a adapter) HandleEvent(ctx context.Context, ev *events.Event) error {
	m, err := ParseMessage(ev.Payload)
	if err != nil {
		return events.Permanent(err)
	}
	r := &replier{m: m, eventID: ev.ID, out: outFrom(ctx)}
	if r.out != nil {
		m.files = r.out.files
	}
	err = a.h.HandleMessage(ctx, m, r.reply)
	if f := r.failed(); f != nil {
		return errors.Join(err, f)
	}
	return err
}

// Sender posts a reply to a message's session webhook;
// *dingtalk.ChatbotService is one.
type Sender interface {
	Reply(ctx context.Context, webhook string, msg *dingtalk.RobotMessage) error
}

var _ Sender = (*dingtalk.ChatbotService)(nil)

// outbox is how replies leave: the webhook sender and the clock, from
// Replies.
type outbox struct {
	send  Sender
	files Downloader // the Sender, when it downloads too
	now   func() time.Time
}

type ctxKey int

const (
	outboxKey ctxKey = iota
	bodyKey
)

func outFrom(ctx context.Context) *outbox {
	o, _ := ctx.Value(outboxKey).(*outbox)
	return o
}

// Replies is the event log option that gives chat handlers their way out
// through session webhooks: the callback function and the sync function's
// drain both build the log with it, so a reply leaves the same way
// wherever the handler runs. now is the clock the webhooks' expiry is
// read with (nil: time.Now). When s also downloads (the app's
// *dingtalk.ChatbotService does), handlers' messages fetch their files
// with it (Message.Download).
func Replies(s Sender, now func() time.Time) events.Option {
	if now == nil {
		now = time.Now
	}
	o := &outbox{send: s, now: now}
	o.files, _ = s.(Downloader)
	return events.WithHandlerContext(func(ctx context.Context) context.Context {
		return context.WithValue(ctx, outboxKey, o)
	})
}

// Errors of undeliverable replies; the reply function's error matches
// one of them (and events.ErrPermanent).
var (
	// ErrSessionExpired: the session webhook expired before the reply.
	ErrSessionExpired = errors.New("chatbot: the session webhook has expired")
	// ErrNoSession: the message has no usable session webhook.
	ErrNoSession = errors.New("chatbot: the message has no usable session webhook")
	// ErrNotDelivered: DingTalk refused the reply, or its outcome is
	// unknown (it is not sent again).
	ErrNotDelivered = errors.New("chatbot: the reply was not delivered")
)

// body is the request's HTTP answer, open to one reply until the
// receiver answers.
type body struct {
	eventID string
	mu      sync.Mutex
	closed  bool
	msg     *dingtalk.RobotMessage
}

// claim takes the answer for msg if it is still open and free.
func (b *body) claim(eventID string, msg *dingtalk.RobotMessage) bool {
	if b == nil || b.eventID != eventID {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.msg != nil {
		return false
	}
	b.msg = msg
	return true
}

// close ends the time for replies in the answer and returns the one
// given, if any.
func (b *body) close() *dingtalk.RobotMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.msg
}

func withBody(ctx context.Context, b *body) context.Context {
	return context.WithValue(ctx, bodyKey, b)
}

func bodyFrom(ctx context.Context) *body {
	b, _ := ctx.Value(bodyKey).(*body)
	return b
}

// bodyTypes are the reply types DingTalk takes in the HTTP answer; a link
// goes through the webhook.
var bodyTypes = map[dingtalk.MsgType]bool{
	dingtalk.MsgTypeText: true, dingtalk.MsgTypeMarkdown: true, dingtalk.MsgTypeRobotActionCard: true, dingtalk.MsgTypeFeedCard: true,
}

// replier is one handler run's reply function.
type replier struct {
	m       *Message
	eventID string
	out     *outbox

	mu    sync.Mutex
	first error // the first reply that was not delivered
}

func (r *replier) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

func (r *replier) fail(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		r.first = err
	}
	return err
}

// reply delivers msg: in the HTTP answer when it is still open, else
// through the session webhook while it is valid.
func (r *replier) reply(ctx context.Context, msg *dingtalk.RobotMessage) error {
	if err := msg.Validate(); err != nil {
		return r.fail(events.Permanent(fmt.Errorf("chatbot: reply: %w", err)))
	}
	if bodyTypes[msg.MsgType] && bodyFrom(ctx).claim(r.eventID, msg) {
		return nil
	}
	if r.m.SessionWebhook == "" {
		return r.fail(events.Permanent(fmt.Errorf("%w: it has none", ErrNoSession)))
	}
	if r.out == nil || r.out.send == nil {
		// A wiring mistake: the event log was built without Replies.
		return r.fail(errors.New("chatbot: no session-webhook sender (build the event log with chatbot.Replies)"))
	}
	now := r.out.now()
	if exp := r.m.SessionExpiresAt(); !exp.IsZero() && !now.Before(exp) {
		return r.fail(events.Permanent(fmt.Errorf("%w: it expired at %s, %s after the message; the reply was not sent",
			ErrSessionExpired, exp.UTC().Format(time.RFC3339), exp.Sub(r.m.CreatedAt()).Round(time.Second))))
	}
	err := r.out.send.Reply(ctx, r.m.SessionWebhook, msg)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dingtalk.ErrBadSessionWebhook):
		return r.fail(events.Permanent(fmt.Errorf("%w: %w", ErrNoSession, err)))
	case dingtalk.IsSessionGone(err):
		return r.fail(events.Permanent(fmt.Errorf("%w: %w", ErrSessionExpired, err)))
	case notSent(err):
		// The run's time ran out before the reply left: the drain runs
		// the handler again.
		return r.fail(fmt.Errorf("chatbot: reply: %w", err))
	case dingtalk.MaybeSent(err):
		return r.fail(events.Permanent(fmt.Errorf("%w: DingTalk did not answer, so it may or may not have been posted (not sent again): %w", ErrNotDelivered, err)))
	case dingtalk.IsRateLimited(err) || dingtalk.IsTransient(err):
		return r.fail(fmt.Errorf("chatbot: reply: %w", err))
	}
	return r.fail(events.Permanent(fmt.Errorf("%w: %w", ErrNotDelivered, err)))
}

// notSent reports a context error from before the request left the
// client (the client answers a request that reached DingTalk with a
// *dingtalk.Error).
func notSent(err error) bool {
	if _, ok := errors.AsType[*dingtalk.Error](err); ok {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
