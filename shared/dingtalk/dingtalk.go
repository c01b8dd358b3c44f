package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/redact"
	"github.com/dingfn/dingfn/shared/wait"
)

// Default base URLs of the two API generations.
const (
	DefaultOAPIBaseURL = "https://oapi.dingtalk.com"
	DefaultAPIBaseURL  = "https://api.dingtalk.com"
)

// tokenHeader carries the token on the new API.
const tokenHeader = "x-acs-dingtalk-access-token"

// maxBody bounds how much of a reply is read; DingTalk replies are small,
// and an unbounded read of a misbehaving proxy's reply could exhaust memory.
const maxBody = 16 << 20

// Client is a DingTalk API client for one enterprise internal app. It is
// safe for concurrent use; build one per app and share it.
type Client struct {
	appKey, appSecret string

	oapiBase, apiBase *url.URL
	httpClient        *http.Client
	tokens            TokenSource
	tokensFrom        func(*Client) (TokenSource, error)
	logger            *slog.Logger
	retry             RetryPolicy
	limits            *limiters
	legacyAuth        bool
	registry          *Registry

	// Test seams: how to wait between attempts, and how to add jitter.
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(d time.Duration, frac float64) time.Duration
	now    func() time.Time

	common service

	Auth       *AuthService
	Contact    *ContactService
	Message    *MessageService
	Robot      *RobotService
	Chatbot    *ChatbotService
	Process    *ProcessService
	Callback   *CallbackService
	Attendance *AttendanceService
	ExtContact *ExtContactService
	CSpace     *CSpaceService
}

type service struct{ client *Client }

// Option configures a Client. Options validate their arguments; NewClient
// returns the first error.
type Option func(*Client) error

// WithBaseURLs points the client at other hosts for the old (oapi) and new
// (api) generations, e.g. a fake server in tests or an egress proxy.
func WithBaseURLs(oapi, api string) Option {
	return func(c *Client) error {
		o, err := parseBase(oapi)
		if err != nil {
			return fmt.Errorf("oapi base URL: %w", err)
		}
		a, err := parseBase(api)
		if err != nil {
			return fmt.Errorf("api base URL: %w", err)
		}
		c.oapiBase, c.apiBase = o, a
		return nil
	}
}

func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", s)
	}
	return u, nil
}

// WithHTTPClient sets the HTTP client; its Timeout and Transport apply to
// every attempt. The default is a client with a 30 s timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTokenSource sets where app access tokens come from, e.g. a cache
// shared by every function through the store. The default is a
// [MemoryTokenSource] over [AuthService.GetAccessToken].
func WithTokenSource(ts TokenSource) Option {
	return func(c *Client) error {
		if ts == nil {
			return errors.New("nil TokenSource")
		}
		c.tokens = ts
		return nil
	}
}

// WithTokenSourceFrom builds the token source from the client itself, once
// the client is otherwise complete: for a cache, such as the store-backed
// token provider, that fetches its tokens through this same client. Token
// fetches carry no token, so they never consult the source, and one client
// (one set of rate limiters, one HTTP client) serves the whole process.
// NewClient fails with build's error. It excludes WithTokenSource.
func WithTokenSourceFrom(build func(*Client) (TokenSource, error)) Option {
	return func(c *Client) error {
		if build == nil {
			return errors.New("nil TokenSource builder")
		}
		c.tokensFrom = build
		return nil
	}
}

// WithLogger sets the logger for request and retry events (Debug and Warn
// levels). The default discards everything. Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// WithRetryPolicy replaces the [DefaultRetryPolicy].
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if err := p.validate(); err != nil {
			return fmt.Errorf("retry policy: %w", err)
		}
		c.retry = p
		return nil
	}
}

// WithRateLimit sets the client-side limit applied to each API separately
// (default [DefaultRateLimit]: 15/s, burst 3). It is a ceiling: after a
// rate-limit answer an API's rate is lowered and recovers gradually. Use
// rate.Inf to disable limiting (and adapting).
func WithRateLimit(limit rate.Limit, burst int) Option {
	return func(c *Client) error {
		r := RateLimit{limit, burst}
		if err := r.validate(); err != nil {
			return err
		}
		c.limits.def = r
		return nil
	}
}

// WithAPIRateLimit sets the limit of one API, named as in [Error.API]
// (e.g. "topapi/v2/user/list"), for apps that bought a higher quota or
// must stay lower.
func WithAPIRateLimit(api string, limit rate.Limit, burst int) Option {
	return func(c *Client) error {
		r := RateLimit{limit, burst}
		if err := r.validate(); err != nil {
			return err
		}
		c.limits.override[strings.TrimPrefix(api, "/")] = r
		return nil
	}
}

// WithRobotRateLimit sets the limit applied to each robot webhook (default:
// bursts of 5, then one every 4 s, so never more than 20 a minute). Like
// the per-API limit it is a ceiling the client lowers after a rate-limit
// answer.
func WithRobotRateLimit(limit rate.Limit, burst int) Option {
	return func(c *Client) error {
		r := RateLimit{limit, burst}
		if err := r.validate(); err != nil {
			return err
		}
		c.limits.robot = r
		return nil
	}
}

// WithLegacyAuthEndpoints makes GetAccessToken and GetJSAPITicket use the
// old GET /gettoken and GET /get_jsapi_ticket instead of the default
// POST /v1.0/oauth2/accessToken and POST /v1.0/oauth2/jsapiTickets. Both
// kinds return the same token; the new one keeps the app secret out of the
// URL.
func WithLegacyAuthEndpoints() Option {
	return func(c *Client) error {
		c.legacyAuth = true
		return nil
	}
}

// WithRegistry makes Call resolve names through r instead of the names of
// [DefaultRegistry].
func WithRegistry(r *Registry) Option {
	return func(c *Client) error {
		if r == nil {
			return errors.New("nil *Registry")
		}
		c.registry = r
		return nil
	}
}

// NewClient returns a client for the app with appKey and appSecret (Client
// ID and Client Secret). Both may be empty only if WithTokenSource supplies
// tokens, in which case GetAccessToken is unavailable.
func NewClient(appKey, appSecret string, opts ...Option) (*Client, error) {
	c := &Client{
		appKey:     appKey,
		appSecret:  appSecret,
		httpClient: &http.Client{Timeout: 30 * time.Second},
		logger:     slog.New(slog.DiscardHandler),
		retry:      DefaultRetryPolicy(),
		limits:     newLimiters(),
		sleep:      wait.Sleep,
		jitter:     randomJitter,
		now:        time.Now,
	}
	c.oapiBase, _ = url.Parse(DefaultOAPIBaseURL)
	c.apiBase, _ = url.Parse(DefaultAPIBaseURL)
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("dingtalk: %w", err)
		}
	}
	if c.tokens != nil && c.tokensFrom != nil {
		return nil, errors.New("dingtalk: WithTokenSource and WithTokenSourceFrom exclude each other")
	}
	if c.tokens == nil && c.tokensFrom == nil {
		if appKey == "" || appSecret == "" {
			return nil, errors.New("dingtalk: appKey and appSecret are required unless WithTokenSource is given")
		}
		c.tokens = NewMemoryTokenSource(func(ctx context.Context) (*Token, error) {
			return c.Auth.GetAccessToken(ctx)
		})
	}
	c.common.client = c
	c.Auth = (*AuthService)(&c.common)
	c.Contact = (*ContactService)(&c.common)
	c.Message = (*MessageService)(&c.common)
	c.Robot = (*RobotService)(&c.common)
	c.Chatbot = (*ChatbotService)(&c.common)
	c.Process = (*ProcessService)(&c.common)
	c.Callback = (*CallbackService)(&c.common)
	c.Attendance = (*AttendanceService)(&c.common)
	c.ExtContact = (*ExtContactService)(&c.common)
	c.CSpace = (*CSpaceService)(&c.common)
	if c.tokensFrom != nil {
		ts, err := c.tokensFrom(c)
		if err != nil {
			return nil, fmt.Errorf("dingtalk: token source: %w", err)
		}
		if ts == nil {
			return nil, errors.New("dingtalk: token source: the builder returned none")
		}
		c.tokens, c.tokensFrom = ts, nil
	}
	return c, nil
}

// String describes the client without its app secret.
func (c *Client) String() string {
	return fmt.Sprintf("dingtalk.Client{appKey:%q oapi:%s api:%s}", c.appKey, c.oapiBase, c.apiBase)
}

// GoString keeps the app secret out of %#v output.
func (c *Client) GoString() string { return c.String() }

// LogValue keeps the app secret out of slog output.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// TokenSource returns the client's token source, so that other parts of a
// program (a jsapi signer, say) share the same cached token.
func (c *Client) TokenSource() TokenSource { return c.tokens }

// Generation is an API generation. Every endpoint names its own.
type Generation int

const (
	// OAPI is the old API on oapi.dingtalk.com: token in the access_token
	// query parameter, errcode in an HTTP 200 body.
	OAPI Generation = iota
	// API is the new API on api.dingtalk.com (/v1.0/…): token in the
	// x-acs-dingtalk-access-token header, HTTP status plus code on failure.
	API
)

// String names the generation by its host: "oapi" or "api".
func (g Generation) String() string {
	if g == API {
		return "api"
	}
	return "oapi"
}

// authMode says which token a request carries.
type authMode int

const (
	authApp      authMode = iota // the app token from the TokenSource
	authNone                     // no token (token fetch, robot with its own token in the query)
	authExplicit                 // a token the caller passed in; never invalidated
)

// endpoint describes one DingTalk API.
type endpoint struct {
	api    string // name in errors, logs and limiter keys: the path without its leading slash
	gen    Generation
	method string
	path   string
	auth   authMode
	// safe means the call may be sent again after a failure whose outcome
	// is unknown (transport error, 5xx): reads only.
	safe bool
}

// newEP describes an endpoint that carries the app token; its API name is
// its path.
func newEP(gen Generation, method, path string, safe bool) endpoint {
	return endpoint{api: strings.TrimPrefix(path, "/"), gen: gen, method: method, path: path, auth: authApp, safe: safe}
}

func oapiEP(method, path string, safe bool) endpoint { return newEP(OAPI, method, path, safe) }

func apiEP(method, path string, safe bool) endpoint { return newEP(API, method, path, safe) }

// withAuth returns the endpoint carrying another kind of token.
func (e endpoint) withAuth(a authMode) endpoint {
	e.auth = a
	return e
}

// request is one logical call.
type request struct {
	ep    endpoint
	query url.Values
	body  any // JSON-encoded when non-nil
	// payload is a body already encoded as JSON, used instead of body.
	payload []byte
	token   string // for authExplicit
	// limiterKey and limit override the per-API limiter (robots are
	// limited per robot, not per API).
	limiterKey string
	limit      RateLimit
	// sign, if set, adds time-bound values to the query of each attempt
	// once the rate limiter has let it through, so a queued call is not
	// sent with a stale signature.
	sign func(q url.Values, now time.Time)
}

// oapi calls an old-API endpoint and decodes the whole reply body into out
// after checking its errcode envelope.
func (c *Client) oapi(ctx context.Context, ep endpoint, query url.Values, body, out any) error {
	if ep.gen != OAPI {
		panic("dingtalk: oapi helper called for " + ep.api)
	}
	return c.do(ctx, &request{ep: ep, query: query, body: body}, out)
}

// api calls a new-API endpoint and decodes a 2xx reply body into out.
func (c *Client) api(ctx context.Context, ep endpoint, query url.Values, body, out any) error {
	if ep.gen != API {
		panic("dingtalk: api helper called for " + ep.api)
	}
	return c.do(ctx, &request{ep: ep, query: query, body: body}, out)
}

// result calls an endpoint of either generation and returns the "result"
// member of its reply, the shape most old-API and some new-API replies
// share.
func result[T any](ctx context.Context, c *Client, ep endpoint, query url.Values, body any) (*T, error) {
	var out struct {
		Result T `json:"result"`
	}
	if err := c.do(ctx, &request{ep: ep, query: query, body: body}, &out); err != nil {
		return nil, err
	}
	return &out.Result, nil
}

// do runs a request with rate limiting, token handling and retries.
func (c *Client) do(ctx context.Context, r *request, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	payload := r.payload
	if payload == nil && r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("dingtalk: %s: encode request: %w", r.ep.api, err)
		}
	}
	var st retryState
	for {
		st.attempts++
		token, err := c.attempt(ctx, r, payload, out, &st)
		if err == nil {
			return nil
		}
		var tse *tokenSourceError
		if errors.As(err, &tse) {
			// The token source has its own retries; do not multiply
			// them. The call never left, even if the context has ended
			// meanwhile: say so rather than return ctx.Err() alone,
			// which MaybeSent would take for a call under way.
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e, ok := asError(err)
		if !ok {
			return err
		}
		delay, retry := c.decide(ctx, r, e, &st, token)
		if !retry {
			return err
		}
		c.logger.LogAttrs(ctx, slog.LevelWarn, "dingtalk retry",
			slog.String("api", r.ep.api), slog.Int("attempt", st.attempts),
			slog.Duration("delay", delay), slog.String("error", e.Error()))
		if delay > 0 {
			if err := c.sleep(ctx, delay); err != nil {
				return err
			}
		}
	}
}

// decide says whether and after what pause a failed attempt is retried.
func (c *Client) decide(ctx context.Context, r *request, e *Error, st *retryState, token string) (time.Duration, bool) {
	p := c.retry
	switch {
	case IsTokenInvalid(e) && r.ep.auth == authApp:
		if st.tokenRetried {
			return 0, false
		}
		st.tokenRetried = true
		if err := c.tokens.Invalidate(ctx, token); err != nil {
			c.logger.LogAttrs(ctx, slog.LevelWarn, "dingtalk token invalidate failed",
				slog.String("api", r.ep.api), slog.String("error", err.Error()))
			return 0, false
		}
		return 0, true
	case IsRateLimited(e):
		if st.bucket != nil && e.Code != codePunish {
			// The per-IP block is about every API from this host, not
			// this one's pace.
			st.bucket.slowDown(c.now(), st.epoch)
		}
		if st.rateRetries >= p.MaxRateLimitRetries {
			return 0, false
		}
		d := c.jitter(p.rateLimitDelay(e, st.rateRetries), p.Jitter)
		d = min(d, p.MaxDelay) // validated non-negative
		if e.RetryAfter > p.MaxDelay || !fitsDeadline(ctx, d, c.now()) {
			return 0, false
		}
		st.rateRetries++
		return d, true
	case e.busy() || e.notSent() || (r.ep.safe && IsTransient(e)):
		if st.transientTrys+1 >= p.MaxAttempts {
			return 0, false
		}
		d := c.jitter(p.backoff(st.transientTrys), p.Jitter)
		if !fitsDeadline(ctx, d, c.now()) {
			return 0, false
		}
		st.transientTrys++
		return d, true
	}
	return 0, false
}

// attempt sends the request once. It returns the app token it used, so a
// token failure invalidates exactly that token, and notes in st the bucket
// and epoch it was let through in, so a rate-limit answer slows that
// bucket down.
func (c *Client) attempt(ctx context.Context, r *request, payload []byte, out any, st *retryState) (string, error) {
	ep := r.ep
	key, lim := r.limiterKey, r.limit
	if key == "" {
		key, lim = ep.api, c.limits.forAPI(ep.api)
	}
	b := c.limits.get(key, lim)
	epoch, err := b.wait(ctx, c.now, c.sleep)
	if err != nil {
		return "", err
	}
	st.bucket, st.epoch = b, epoch
	base := c.oapiBase
	if ep.gen == API {
		base = c.apiBase
	}
	u := *base
	u.Path = strings.TrimRight(base.Path, "/") + "/" + strings.TrimPrefix(ep.path, "/")
	q := url.Values{}
	for k, vs := range r.query {
		q[k] = append([]string(nil), vs...)
	}
	var token string
	switch ep.auth {
	case authApp:
		if token, err = c.tokens.AccessToken(ctx); err != nil {
			if ctx.Err() != nil {
				// Still a call that never left (MaybeSent is false),
				// which ended with the context (errors.Is sees it).
				return "", &tokenSourceError{api: ep.api, err: ctx.Err()}
			}
			return "", &tokenSourceError{api: ep.api, err: err}
		}
	case authExplicit:
		token = r.token
	}
	if token != "" && ep.gen == OAPI {
		q.Set("access_token", token)
	}
	if r.sign != nil {
		r.sign(q, c.now())
	}
	u.RawQuery = q.Encode()

	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, ep.method, u.String(), body)
	if err != nil {
		return token, &Error{API: ep.api, Method: ep.method, URL: redact.URL(&u), Err: err}
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" && ep.gen == API {
		req.Header.Set(tokenHeader, token)
	}

	start := c.now()
	resp, err := c.httpClient.Do(req)
	if err != nil {
		e := &Error{API: ep.api, Method: ep.method, URL: redact.URL(&u), Err: redactErr(err), transport: true}
		c.logger.LogAttrs(ctx, slog.LevelDebug, "dingtalk request failed",
			slog.String("api", ep.api), slog.String("url", e.URL), slog.String("error", e.Err.Error()))
		return token, e
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return token, &Error{API: ep.api, Method: ep.method, URL: redact.URL(&u), HTTPStatus: resp.StatusCode,
			Err: fmt.Errorf("read reply: %w", redactErr(err)), transport: true}
	}
	if c.logger.Enabled(ctx, slog.LevelDebug) { // spare the redaction on every call otherwise
		c.logger.LogAttrs(ctx, slog.LevelDebug, "dingtalk request",
			slog.String("api", ep.api), slog.String("method", ep.method), slog.String("url", redact.URL(&u)),
			slog.Int("status", resp.StatusCode), slog.Duration("took", c.now().Sub(start)))
	}

	if ep.gen == OAPI {
		err = checkOAPI(ep, resp, data)
	} else {
		err = checkAPI(ep, resp, data)
	}
	if err != nil {
		if e, ok := asError(err); ok {
			e.Method, e.URL = ep.method, redact.URL(&u)
		}
		return token, err
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return token, &Error{API: ep.api, Method: ep.method, URL: redact.URL(&u), HTTPStatus: resp.StatusCode,
				Err: fmt.Errorf("decode reply: %w", err)}
		}
	}
	return token, nil
}

// tokenSourceError is a failure to get the app token for a call. It
// unwraps to the token source's error, so the Is* predicates still see a
// DingTalk error from the token endpoint.
type tokenSourceError struct {
	api string
	err error
}

// Error names the API whose token could not be had.
func (e *tokenSourceError) Error() string {
	return "dingtalk: " + e.api + ": get access token: " + e.err.Error()
}

// Unwrap returns the token source's error.
func (e *tokenSourceError) Unwrap() error { return e.err }

// oapiEnvelope is the status part of every old-API reply.
type oapiEnvelope struct {
	ErrCode   *flexInt   `json:"errcode"`
	ErrMsg    string     `json:"errmsg"`
	SubCode   flexString `json:"sub_code"`
	SubMsg    string     `json:"sub_msg"`
	RequestID string     `json:"request_id"`
}

func checkOAPI(ep endpoint, resp *http.Response, data []byte) error {
	if e := checkBlock(ep, resp, data); e != nil {
		return e
	}
	var env oapiEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return notJSON(ep, resp)
	}
	e := &Error{API: ep.api, HTTPStatus: resp.StatusCode, RetryAfter: retryAfter(resp)}
	e.ErrMsg, e.SubCode, e.SubMsg, e.RequestID = env.ErrMsg, string(env.SubCode), env.SubMsg, env.RequestID
	if env.ErrCode != nil {
		e.ErrCode = int(*env.ErrCode)
	}
	if e.ErrCode == 410100 {
		// A robot that sent too fast is muted for 10 minutes.
		e.RetryAfter = max(e.RetryAfter, RobotMute)
	}
	if e.ErrCode != 0 || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return e
	}
	return nil
}

// apiErrorBody is the new API's error reply.
type apiErrorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RequestID  string `json:"requestid"`
	RequestID2 string `json:"requestId"`
}

func checkAPI(ep endpoint, resp *http.Response, data []byte) error {
	if e := checkBlock(ep, resp, data); e != nil {
		return e
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	var b apiErrorBody
	if err := json.Unmarshal(data, &b); err != nil {
		return notJSON(ep, resp)
	}
	e := &Error{API: ep.api, HTTPStatus: resp.StatusCode, RetryAfter: retryAfter(resp)}
	e.Code, e.Message, e.RequestID = b.Code, b.Message, cmp(b.RequestID, b.RequestID2)
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("x-acs-request-id")
	}
	return e
}

// ipBlockWait is how long DingTalk's per-IP block lasts.
const ipBlockWait = 5 * time.Minute

// checkBlock recognises DingTalk's per-IP block, which is not an API reply
// and may come with any status: on a 2xx reply, ipBlocked's test; on any
// other, only a body that says it is the block (the punish JSON, or the
// x5 page naming its punish path or x5sec), so that a proxy's 403 or 404
// page is reported as what it is.
func checkBlock(ep endpoint, resp *http.Response, data []byte) *Error {
	var msg string
	var blocked bool
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		msg, blocked = ipBlocked(data)
	} else {
		msg, blocked = blockMarked(data)
	}
	if !blocked {
		return nil
	}
	return &Error{API: ep.api, HTTPStatus: resp.StatusCode, Code: codePunish, ErrMsg: msg,
		RetryAfter: max(retryAfter(resp), ipBlockWait)}
}

// notJSON reports a reply that is neither an API reply nor the block, such
// as a proxy's error page: its status says what it is (a 5xx is transient,
// a 403 or 404 is not, and neither is a rate limit).
func notJSON(ep endpoint, resp *http.Response) *Error {
	msg := "non-JSON reply"
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		msg += " (" + ct + ")"
	}
	return &Error{API: ep.api, HTTPStatus: resp.StatusCode, ErrMsg: msg, RetryAfter: retryAfter(resp)}
}

// ipBlocked recognises the per-IP block reply in a 2xx body: an HTML page or
// {"status":1111,"punish":"deny",…}. DingTalk never answers a call with a
// successful HTML page, so on a 2xx any page is taken for the block. The
// check is cheap for real replies, which are JSON objects without a
// "punish" key.
func ipBlocked(data []byte) (string, bool) {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '<' {
		return "non-JSON reply (per-IP block?)", true
	}
	return punishJSON(t)
}

// blockMarked recognises the per-IP block in a reply of any status by what
// it says: the punish JSON, or a page mentioning the x5 gateway's punish
// path or x5sec token.
func blockMarked(data []byte) (string, bool) {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '{' {
		return punishJSON(t)
	}
	lower := bytes.ToLower(t)
	if bytes.Contains(lower, []byte("punish")) || bytes.Contains(lower, []byte("x5sec")) {
		return "per-IP block page", true
	}
	return "", false
}

// punishJSON recognises {"status":1111,"wait":5,"punish":"deny",…}.
func punishJSON(t []byte) (string, bool) {
	if !bytes.Contains(t, []byte(`"punish"`)) {
		return "", false
	}
	var p struct {
		Punish string `json:"punish"`
	}
	if json.Unmarshal(t, &p) != nil || p.Punish == "" {
		return "", false
	}
	return "per-IP block: punish=" + p.Punish, true
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// flexInt decodes a JSON number or a numeric string: DingTalk is not
// consistent about which it sends.
type flexInt int64

// UnmarshalJSON accepts 42, "42" and null.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*f = flexInt(n)
	return nil
}

// flexString decodes a JSON string or number as a string.
type flexString string

// UnmarshalJSON accepts "x", 42 (kept as "42") and null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}

// redactErr strips tokens from the URL net/http puts into its errors.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		if u, perr := url.Parse(ue.URL); perr == nil {
			c.URL = redact.URL(u)
		} else {
			c.URL = "(unparseable URL)"
		}
		return &c
	}
	return err
}
