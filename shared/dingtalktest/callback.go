package dingtalktest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// callbackFailedPage is get_call_back_failed_result's page size.
const callbackFailedPage = 200

// CheckURLTimeout is how long DingTalk waits for the encrypted success of
// the check_url event sent when a callback URL is registered or updated.
const CheckURLTimeout = 1500 * time.Millisecond

// DeliveryAttempts is how often DingTalk pushes an event (the first push
// and retries at +10 s and +30 s) before listing it as failed.
const DeliveryAttempts = 3

// CallbackRegistration is a register_call_back subscription (corp level:
// its owner key is the corpId).
type CallbackRegistration struct {
	Tags   []string
	Token  string
	AESKey string
	URL    string
}

type callbackState struct {
	token, aesKey string // console subscription (owner key = appKey)
	reg           *CallbackRegistration
	failed        []map[string]any
	client        *http.Client
}

func (c *callbackState) init(token, key string, client *http.Client) {
	c.token, c.aesKey = token, key
	c.client = client
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
}

// WithPushClient sends the fake's pushes (PushEvent, DeliverEvent, the
// automatic events and register_call_back's check_url) through c instead
// of a loopback HTTP client. With HandlerTransport, the push runs the
// receiving handler on the caller's goroutine, so a testing/synctest
// bubble runs DingTalk, the callback and its timing on one fake clock.
func WithPushClient(c *http.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return fmt.Errorf("dingtalktest: WithPushClient: nil client")
		}
		cfg.pushClient = c
		return nil
	}
}

// HandlerTransport returns an http.RoundTripper that serves every request
// with h on the calling goroutine, without a network round trip: the
// request's context, timers and clock are the caller's. Pair it with
// WithPushClient to push to a callback handler in process.
func HandlerTransport(h http.Handler) http.RoundTripper { return handlerTransport{h} }

type handlerTransport struct{ h http.Handler }

// RoundTrip serves req with the handler.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if req.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	if in.RemoteAddr == "" {
		in.RemoteAddr = "203.119.0.1:40000" // one of DingTalk's push sources
	}
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, in)
	if req.Body != nil {
		req.Body.Close()
	}
	resp := w.Result()
	resp.Request = req
	return resp, nil
}

// EventSubscription returns the console subscription's token and
// EncodingAESKey; events pushed with PushEvent use them with the appKey as
// owner key, unless the URL was registered with register_call_back.
func (s *Server) EventSubscription() (token, aesKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callback.token, s.callback.aesKey
}

// CallbackRegistration returns the register_call_back subscription, if any.
func (s *Server) CallbackRegistration() (CallbackRegistration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callback.reg == nil {
		return CallbackRegistration{}, false
	}
	r := *s.callback.reg
	r.Tags = slices.Clone(r.Tags)
	return r, true
}

// AddFailedEvent queues an event that DingTalk gave up pushing; it is
// returned by get_call_back_failed_result. data is the event's inner object
// (e.g. {"userid":["u1"]} for contact tags); corpid is added.
func (s *Server) AddFailedEvent(tag string, eventTime time.Time, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inner := map[string]any{"corpid": s.corpID}
	for k, v := range data {
		inner[k] = v
	}
	s.callback.failed = append(s.callback.failed, map[string]any{
		"call_back_tag": tag, "event_time": eventTime.UnixMilli(), tag: inner,
	})
}

// FailedEventCount returns how many failed events are still queued.
func (s *Server) FailedEventCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.callback.failed)
}

// readRegistration validates register/update_call_back parameters.
func readRegistration(rq *request) (*CallbackRegistration, reply, bool) {
	tags, has, err := rq.params.strList("call_back_tag")
	if err != nil {
		return nil, badParam(err), true
	}
	if !has || len(tags) == 0 {
		return nil, missing("call_back_tag"), true
	}
	r := &CallbackRegistration{Tags: tags}
	r.Token, _ = rq.params.str("token")
	r.AESKey, _ = rq.params.str("aes_key")
	r.URL, _ = rq.params.str("url")
	switch {
	case r.Token == "":
		return nil, missing("token"), true
	case r.AESKey == "":
		return nil, missing("aes_key"), true
	case r.URL == "":
		return nil, missing("url"), true
	case len(r.Token) < 6 || len(r.Token) > 63:
		return nil, fail(400002, "无效的参数: token 长度6-63"), true
	case len(r.AESKey) != dingcrypto.KeyLength:
		return nil, fail(400002, "无效的参数: aes_key 必须是43位"), true
	}
	if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fail(400002, "无效的参数: url"), true
	}
	return r, reply{}, false
}

// verifyURL sends check_url to a registration's URL without holding s.mu,
// as DingTalk does before saving it.
func (s *Server) verifyURL(rq *request, r *CallbackRegistration) error {
	s.mu.Unlock()
	defer s.mu.Lock()
	c, err := dingcrypto.New(r.Token, r.AESKey, s.corpID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), CheckURLTimeout)
	defer cancel()
	return s.push(ctx, c, r.Token, r.URL, "signature", []byte(`{"EventType":"check_url"}`))
}

// POST call_back/register_call_back
func (s *Server) callbackRegister(rq *request) reply {
	r, rep, bad := readRegistration(rq)
	if bad {
		return rep
	}
	if s.callback.reg != nil {
		return fail(71006, "回调地址已经存在")
	}
	if err := s.verifyURL(rq, r); err != nil {
		return fail(71012, "url地址访问异常: "+err.Error())
	}
	if s.callback.reg != nil {
		return fail(71006, "回调地址已经存在")
	}
	s.callback.reg = r
	return ok(nil)
}

// POST call_back/update_call_back
func (s *Server) callbackUpdate(rq *request) reply {
	r, rep, bad := readRegistration(rq)
	if bad {
		return rep
	}
	if s.callback.reg == nil {
		return fail(71007, "回调地址不存在")
	}
	if err := s.verifyURL(rq, r); err != nil {
		return fail(71012, "url地址访问异常: "+err.Error())
	}
	s.callback.reg = r
	return ok(nil)
}

// GET call_back/get_call_back
func (s *Server) callbackGet(rq *request) reply {
	r := s.callback.reg
	if r == nil {
		return fail(71007, "回调地址不存在")
	}
	return ok(map[string]any{"call_back_tag": slices.Clone(r.Tags), "token": r.Token, "aes_key": r.AESKey, "url": r.URL})
}

// GET call_back/delete_call_back
func (s *Server) callbackDelete(rq *request) reply {
	if s.callback.reg == nil {
		return fail(71007, "回调地址不存在")
	}
	s.callback.reg = nil
	return ok(nil)
}

// GET call_back/get_call_back_failed_result: up to 200 events per call,
// removed once returned.
func (s *Server) callbackFailed(rq *request) reply {
	n := min(len(s.callback.failed), callbackFailedPage)
	page := slices.Clone(s.callback.failed[:n])
	s.callback.failed = slices.Delete(s.callback.failed, 0, n)
	if page == nil {
		page = []map[string]any{}
	}
	return ok(map[string]any{"has_more": len(s.callback.failed) > 0, "failed_list": page})
}

// PushEvent encrypts and signs event as DingTalk does, POSTs it to url
// (?msg_signature=&timestamp=&nonce=, body {"encrypt":…}; signature=
// instead of msg_signature for a register_call_back URL) and
// checks that the reply is HTTP 200 with a correctly signed, encrypted
// "success". event is marshalled to JSON unless it is a []byte or
// json.RawMessage. The subscription used is the register_call_back one when
// url is its URL (owner key corpId), else the console one (owner key
// appKey).
func (s *Server) PushEvent(ctx context.Context, url string, event any) error {
	var msg []byte
	switch e := event.(type) {
	case []byte:
		msg = e
	case json.RawMessage:
		msg = e
	default:
		b, err := json.Marshal(event)
		if err != nil {
			return fmt.Errorf("dingtalktest: push event: %w", err)
		}
		msg = b
	}
	s.mu.Lock()
	token, key, owner, sigParam := s.callback.token, s.callback.aesKey, s.appKey, "msg_signature"
	if r := s.callback.reg; r != nil && r.URL == url {
		token, key, owner, sigParam = r.Token, r.AESKey, s.corpID, "signature"
	}
	s.mu.Unlock()
	c, err := dingcrypto.New(token, key, owner)
	if err != nil {
		return fmt.Errorf("dingtalktest: push event: %w", err)
	}
	return s.push(ctx, c, token, url, sigParam, msg)
}

// DeliverEvent pushes event like PushEvent, retrying as DingTalk does
// (DeliveryAttempts pushes in all, without the real 10 s and 30 s waits),
// and when every attempt fails queues it for get_call_back_failed_result
// under the event's EventType, at the event's own time (EventTime or
// TimeStamp), with the data DingTalk puts there: userid
// for user events, deptid for department events, bpmsCallBackData for
// approvals, roleLabelChange for role events, callbackData otherwise. It
// returns the last push error, or nil once an attempt succeeded.
func (s *Server) DeliverEvent(ctx context.Context, url string, event map[string]any) error {
	var err error
	for range DeliveryAttempts {
		if err = s.PushEvent(ctx, url, event); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
	}
	tag, _ := event["EventType"].(string)
	var data map[string]any
	switch {
	case event["UserId"] != nil:
		data = map[string]any{"userid": event["UserId"]}
	case event["DeptId"] != nil:
		data = map[string]any{"deptid": event["DeptId"]}
	case len(tag) > 5 && tag[:5] == "bpms_":
		data = map[string]any{"bpmsCallBackData": event}
	case len(tag) > 6 && tag[:6] == "label_":
		data = map[string]any{"roleLabelChange": event}
	default:
		data = map[string]any{"callbackData": event}
	}
	s.mu.Lock()
	at := s.now()
	s.mu.Unlock()
	if t, ok := eventTime(event); ok {
		at = t
	}
	s.AddFailedEvent(tag, at, data)
	return err
}

// eventTime is an event's own time, EventTime or else TimeStamp (a number
// or a numeric string, in milliseconds), which DingTalk reports as the
// failed record's event_time.
func eventTime(event map[string]any) (time.Time, bool) {
	for _, k := range []string{"EventTime", "TimeStamp"} {
		var ms int64
		switch v := event[k].(type) {
		case int64:
			ms = v
		case int:
			ms = int64(v)
		case float64:
			ms = int64(v)
		case string, json.Number:
			n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
			if err != nil {
				continue
			}
			ms = n
		default:
			continue
		}
		if ms > 0 {
			return time.UnixMilli(ms), true
		}
	}
	return time.Time{}, false
}

// ErrBadCallbackReply is wrapped by PushEvent's error when the endpoint
// answered, but not with a valid encrypted "success".
var ErrBadCallbackReply = errors.New("dingtalktest: callback reply is not a valid encrypted success")

// push sends one encrypted event. sigParam names the signature query
// parameter: the HTTP-mode page and the official samples say
// msg_signature (console subscriptions), the register_call_back overview
// says signature; sending each where its docs say makes receivers that
// accept only one spelling fail one of the two paths.
func (s *Server) push(ctx context.Context, c *dingcrypto.Crypto, token, target, sigParam string, msg []byte) error {
	env, err := c.Encrypt(msg)
	if err != nil {
		return fmt.Errorf("dingtalktest: encrypt event: %w", err)
	}
	// Stamped on the server's clock (WithClock), as DingTalk stamps with
	// its own: a receiver on the same manual clock accepts it whatever
	// the wall clock says.
	env.TimeStamp = strconv.FormatInt(s.now().UnixMilli(), 10)
	env.MsgSignature = dingcrypto.Sign(token, env.TimeStamp, env.Nonce, env.Encrypt)
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("dingtalktest: push event: %w", err)
	}
	q := u.Query()
	q.Set(sigParam, env.MsgSignature)
	q.Set("timestamp", env.TimeStamp)
	q.Set("nonce", env.Nonce)
	u.RawQuery = q.Encode()
	body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("dingtalktest: push event: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.callback.client.Do(req)
	if err != nil {
		return fmt.Errorf("dingtalktest: push event: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("dingtalktest: read callback reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: HTTP %d: %.200s", ErrBadCallbackReply, resp.StatusCode, raw)
	}
	var reply dingcrypto.Envelope
	if err := json.Unmarshal(raw, &reply); err != nil {
		return fmt.Errorf("%w: %v: %.200s", ErrBadCallbackReply, err, raw)
	}
	if reply.MsgSignature == "" || reply.TimeStamp == "" || reply.Nonce == "" || reply.Encrypt == "" {
		return fmt.Errorf("%w: missing msg_signature, timeStamp, nonce or encrypt: %.200s", ErrBadCallbackReply, raw)
	}
	if _, err := strconv.ParseInt(reply.TimeStamp, 10, 64); err != nil {
		return fmt.Errorf("%w: timeStamp %q is not a number", ErrBadCallbackReply, reply.TimeStamp)
	}
	plain, err := c.Decrypt(reply.MsgSignature, reply.TimeStamp, reply.Nonce, reply.Encrypt)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadCallbackReply, err)
	}
	if subtle.ConstantTimeCompare(plain, []byte("success")) != 1 {
		return fmt.Errorf("%w: decrypted reply is %q", ErrBadCallbackReply, plain)
	}
	return nil
}
