package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// Notifier is what a caller of notify does, whether notify runs in the
// same process (Local) or is deployed (Client); the command line takes
// either.
type Notifier interface {
	SendNotice(ctx context.Context, req NoticeRequest) (NoticeAnswer, error)
	Notice(ctx context.Context, id string, o StatusOptions) (NoticeStatus, error)
	Recall(ctx context.Context, id string) (RecallResult, error)
	SendRobot(ctx context.Context, name string, msg *dingtalk.RobotMessage, idempotencyKey string) (RobotAnswer, error)
	SendRobotMessage(ctx context.Context, req RobotMessageRequest) (RobotMessageAnswer, error)
	RobotMessage(ctx context.Context, id string, o StatusOptions) (RobotMessageStatus, error)
	RecallRobotMessage(ctx context.Context, id string) (RobotRecallResult, error)
}

var (
	_ Notifier = (*Client)(nil)
	_ Notifier = local{}
)

// Local returns s as a Notifier acting for caller (the name idempotency
// keys are scoped by, as an API key's name is).
func Local(s *Service, caller string) Notifier { return local{s: s, caller: caller} }

type local struct {
	s      *Service
	caller string
}

// The local Notifier's failures are *Error, as the Client's are.
func localAnswer[T any](v T, err error) (T, error) {
	if err != nil {
		return v, AsError(err)
	}
	return v, nil
}

func (l local) SendNotice(ctx context.Context, req NoticeRequest) (NoticeAnswer, error) {
	return localAnswer(l.s.SendNotice(ctx, l.caller, req))
}

func (l local) Notice(ctx context.Context, id string, o StatusOptions) (NoticeStatus, error) {
	return localAnswer(l.s.Notice(ctx, id, o))
}

func (l local) Recall(ctx context.Context, id string) (RecallResult, error) {
	return localAnswer(l.s.Recall(ctx, id))
}

func (l local) SendRobot(ctx context.Context, name string, msg *dingtalk.RobotMessage, key string) (RobotAnswer, error) {
	return localAnswer(l.s.SendRobot(ctx, l.caller, name, msg, key))
}

func (l local) SendRobotMessage(ctx context.Context, req RobotMessageRequest) (RobotMessageAnswer, error) {
	return localAnswer(l.s.SendRobotMessage(ctx, l.caller, req))
}

func (l local) RobotMessage(ctx context.Context, id string, o StatusOptions) (RobotMessageStatus, error) {
	return localAnswer(l.s.RobotMessage(ctx, id, o))
}

func (l local) RecallRobotMessage(ctx context.Context, id string) (RobotRecallResult, error) {
	return localAnswer(l.s.RecallRobotMessage(ctx, id))
}

// Client calls a deployed notify's API. Failures the API answers are
// *Error, as the Service returns them.
type Client struct {
	base *url.URL
	key  string
	hc   *http.Client
}

// NewClient returns a client of the notify API at baseURL (the function's
// URL; for `dingfn dev`, http://127.0.0.1:9000/notify) with the bearer
// key. hc nil means a client with a 60 s timeout.
func NewClient(baseURL, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify: API URL %q is not an http(s) URL", baseURL)
	}
	if key == "" {
		return nil, errors.New("notify: the API needs a bearer key (one of NOTIFY_API_KEYS)")
	}
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	return &Client{base: u, key: key, hc: hc}, nil
}

// String shows the URL, never the key.
func (c *Client) String() string { return "notify.Client{" + c.base.String() + "}" }

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, hdr http.Header, out any) (http.Header, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("notify: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("notify: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("notify: %s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode >= 400 {
		e := &Error{Status: res.StatusCode}
		if json.Unmarshal(data, &e.Body) != nil || e.Body.Error == "" {
			e.Body = httpapi.ErrorBody{Error: "http_" + strconv.Itoa(res.StatusCode), Message: fmt.Sprintf(
				"notify at %s answered %s, not its JSON error body (is %s notify's base URL?): %s",
				c.base.Host, res.Status, c.base, strings.TrimSpace(string(data[:min(len(data), 300)])))}
		}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return res.Header, e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return res.Header, fmt.Errorf("notify: %s %s: answer is not the expected JSON: %w", method, path, err)
	}
	return res.Header, nil
}

// SendNotice is POST /v1/notices.
func (c *Client) SendNotice(ctx context.Context, req NoticeRequest) (NoticeAnswer, error) {
	var a NoticeAnswer
	h, err := c.do(ctx, http.MethodPost, "/v1/notices", nil, req, nil, &a)
	a.Replayed = err == nil && h.Get(ReplayedHeader) == "true"
	return a, err
}

// Notice is GET /v1/notices/{id}.
func (c *Client) Notice(ctx context.Context, id string, o StatusOptions) (NoticeStatus, error) {
	var st NoticeStatus
	_, err := c.do(ctx, http.MethodGet, "/v1/notices/"+url.PathEscape(id), o.query(), nil, nil, &st)
	return st, err
}

// query is o as the status endpoints' query string.
func (o StatusOptions) query() url.Values {
	q := url.Values{}
	if o.FromPart > 0 {
		q.Set("from_part", strconv.Itoa(o.FromPart))
	}
	if o.NoDingTalk {
		q.Set("dingtalk", "false")
	}
	return q
}

// SendRobotMessage is POST /v1/robot/messages.
func (c *Client) SendRobotMessage(ctx context.Context, req RobotMessageRequest) (RobotMessageAnswer, error) {
	var a RobotMessageAnswer
	h, err := c.do(ctx, http.MethodPost, "/v1/robot/messages", nil, req, nil, &a)
	a.Replayed = err == nil && h.Get(ReplayedHeader) == "true"
	return a, err
}

// RobotMessage is GET /v1/robot/messages/{id}.
func (c *Client) RobotMessage(ctx context.Context, id string, o StatusOptions) (RobotMessageStatus, error) {
	var st RobotMessageStatus
	_, err := c.do(ctx, http.MethodGet, "/v1/robot/messages/"+url.PathEscape(id), o.query(), nil, nil, &st)
	return st, err
}

// RecallRobotMessage is DELETE /v1/robot/messages/{id}.
func (c *Client) RecallRobotMessage(ctx context.Context, id string) (RobotRecallResult, error) {
	var r RobotRecallResult
	_, err := c.do(ctx, http.MethodDelete, "/v1/robot/messages/"+url.PathEscape(id), nil, nil, nil, &r)
	return r, err
}

// Recall is DELETE /v1/notices/{id}.
func (c *Client) Recall(ctx context.Context, id string) (RecallResult, error) {
	var r RecallResult
	_, err := c.do(ctx, http.MethodDelete, "/v1/notices/"+url.PathEscape(id), nil, nil, nil, &r)
	return r, err
}

// SendRobot is POST /v1/robots/{name}/messages.
func (c *Client) SendRobot(ctx context.Context, name string, msg *dingtalk.RobotMessage, key string) (RobotAnswer, error) {
	var hdr http.Header
	if key != "" {
		hdr = http.Header{httpapi.IdempotencyKeyHeader: {key}}
	}
	var a RobotAnswer
	h, err := c.do(ctx, http.MethodPost, "/v1/robots/"+url.PathEscape(name)+"/messages", nil, msg, hdr, &a)
	a.Replayed = err == nil && h.Get(ReplayedHeader) == "true"
	return a, err
}
