package dingtalktest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Default app identity of a Server. They look nothing like real
// credentials on purpose.
const (
	DefaultAppKey    = "dingfntestappkey"
	DefaultAppSecret = "fake-app-secret-for-tests-only"
	DefaultAgentID   = int64(1000001)
	DefaultCorpID    = "dingfntestcorp0000000000000000"
)

// DefaultTokenTTL is how long an access token, a jsapi ticket and a user
// token live, as on DingTalk.
const DefaultTokenTTL = 7200 * time.Second

// Server is a fake DingTalk serving both API generations on one host.
// All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the fake, e.g. http://127.0.0.1:12345. Use it
	// as both the oapi and the /v1.0 base URL.
	URL string

	srv    *httptest.Server
	closed chan struct{}
	once   sync.Once

	now       func() time.Time
	appKey    string
	appSecret string
	agentID   int64
	corpID    string
	tokenTTL  time.Duration

	mu    sync.Mutex
	dir   *directory
	reqN  uint64
	calls []Call
	// Calls are numbered from 0; calls[0] has number callBase. Numbers
	// keep a late answer from landing on a call recorded after a reset.
	callBase, callSeq uint64
	maxCalls          int
	counts            map[string]int

	tokens      map[string]*tokenState // app access tokens
	appToken    string                 // the current app token, "" after invalidation
	tokenIssues int
	ticket      *ticketState
	users       userAuth
	qps         qpsState
	quota       quotaState
	faults      []*faultRule
	notices     noticeState
	robots      map[string]*robotState
	chatbot     chatbotState
	processes   processState
	callback    callbackState
	ext         extState
	routes      map[string]route
	ip          *ipLimiter
	schedules   map[scheduleKey][]slot
	events      *eventQueue
	// scope is the app's contact scope: the departments whose subtrees it
	// may read; nil means the whole organisation.
	scope map[int64]bool
}

// Option configures a Server.
type Option func(*config) error

type config struct {
	now                  func() time.Time
	appKey, appSecret    string
	agentID              int64
	corpID               string
	org                  *Org
	tokenTTL             time.Duration
	qpsDefault           int
	qpsPerAPI            map[string]int
	monthlyQuota         int
	robots               map[string]RobotConfig
	robotCode            string
	eventToken, eventKey string
	listener             net.Listener
	maxCalls             int
	autoEvents           string
	pushClient           *http.Client
	ipLimit              *ipLimiter
}

// WithClock makes the server read time from now (for example a
// ManualClock's Now) instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("dingtalktest: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithApp sets the app's credentials (appKey = Client ID, appSecret =
// Client Secret).
func WithApp(appKey, appSecret string) Option {
	return func(c *config) error {
		if appKey == "" || appSecret == "" {
			return fmt.Errorf("dingtalktest: WithApp: empty appKey or appSecret")
		}
		c.appKey, c.appSecret = appKey, appSecret
		return nil
	}
}

// WithAgentID sets the app's agent id, required by work notices.
func WithAgentID(id int64) Option {
	return func(c *config) error {
		if id <= 0 {
			return fmt.Errorf("dingtalktest: WithAgentID: %d is not positive", id)
		}
		c.agentID = id
		return nil
	}
}

// WithCorpID sets the organisation's corpId.
func WithCorpID(id string) Option {
	return func(c *config) error {
		if id == "" {
			return fmt.Errorf("dingtalktest: WithCorpID: empty id")
		}
		c.corpID = id
		return nil
	}
}

// WithOrg loads an organisation. Without it the server starts with
// GenerateOrg(OrgSpec{Users: 50}).
func WithOrg(o *Org) Option {
	return func(c *config) error {
		if o == nil {
			return fmt.Errorf("dingtalktest: WithOrg: nil org")
		}
		c.org = o
		return nil
	}
}

// WithGeneratedOrg generates an organisation of the given shape.
func WithGeneratedOrg(spec OrgSpec) Option {
	return func(c *config) error {
		if spec.Users < 0 {
			return fmt.Errorf("dingtalktest: WithGeneratedOrg: negative user count")
		}
		c.org = GenerateOrg(spec)
		return nil
	}
}

// WithDemoOrg loads DemoOrg, the small organisation used by `dingfn dev`.
func WithDemoOrg() Option {
	return func(c *config) error {
		c.org = DemoOrg()
		return nil
	}
}

// WithTokenTTL changes the lifetime of access tokens, tickets and user
// tokens (default 7200 s).
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("dingtalktest: WithTokenTTL: %v is not positive", d)
		}
		c.tokenTTL = d
		return nil
	}
}

// WithQPSLimit limits every API except the token endpoints to n calls per
// clock second, answering 90018 (old API) or 403
// Forbidden.AccessDenied.QpsLimitForAppkeyAndApi (new API) beyond it.
// DingTalk's standard edition allows 20. Default: unlimited.
func WithQPSLimit(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dingtalktest: WithQPSLimit: negative limit")
		}
		c.qpsDefault = n
		return nil
	}
}

// WithAPIQPSLimit sets the per-second limit of one API (path without the
// leading slash), overriding WithQPSLimit; 0 means unlimited.
func WithAPIQPSLimit(api string, n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dingtalktest: WithAPIQPSLimit: negative limit")
		}
		if c.qpsPerAPI == nil {
			c.qpsPerAPI = map[string]int{}
		}
		c.qpsPerAPI[apiName(api)] = n
		return nil
	}
}

// WithMonthlyQuota limits the calls per natural month to APIs that are not
// exempt (work notices, callbacks, attendance, approvals, cspace), answering
// 90020 / 403 ApiCountLimitForOrg beyond it. Default: unlimited.
func WithMonthlyQuota(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dingtalktest: WithMonthlyQuota: negative quota")
		}
		c.monthlyQuota = n
		return nil
	}
}

// WithEventSubscription sets the console event subscription's token and
// EncodingAESKey (43 characters) used by PushEvent; the owner key is the
// appKey.
func WithEventSubscription(token, aesKey string) Option {
	return func(c *config) error {
		if token == "" || len(aesKey) != 43 {
			return fmt.Errorf("dingtalktest: WithEventSubscription: need a token and a 43-character key")
		}
		c.eventToken, c.eventKey = token, aesKey
		return nil
	}
}

// WithListener serves on l instead of a fresh loopback port, for a
// simulator on a fixed address (`dingfn dev`). The server closes l.
func WithListener(l net.Listener) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("dingtalktest: WithListener: nil listener")
		}
		c.listener = l
		return nil
	}
}

// WithMaxRecordedCalls keeps only the last n calls for Calls, so a
// long-running simulator does not grow without bound. CallCount still
// counts every call.
func WithMaxRecordedCalls(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("dingtalktest: WithMaxRecordedCalls: %d is not positive", n)
		}
		c.maxCalls = n
		return nil
	}
}

// WithIPBlocking turns on DingTalk's per-IP protection: more than 10 000
// calls within 20 s block every API for 5 minutes, answered with the
// non-envelope {"status":1111,"punish":"deny",…}. Off by default because
// unthrottled test loops would trip it.
func WithIPBlocking() Option {
	return func(c *config) error {
		c.ipLimit = newIPLimiter(ipBlockCalls, ipBlockWindow, ipBlockTime)
		return nil
	}
}

// NewServer starts a fake DingTalk. Close it when done. It panics when an
// option is invalid, like httptest.NewServer panics on failure.
func NewServer(opts ...Option) *Server {
	c := &config{
		now:        time.Now,
		appKey:     DefaultAppKey,
		appSecret:  DefaultAppSecret,
		agentID:    DefaultAgentID,
		corpID:     DefaultCorpID,
		tokenTTL:   DefaultTokenTTL,
		eventToken: "dingfntesttoken",
		eventKey:   "dingfntestencodingaeskey0123456789abcdefABC",
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			panic(err)
		}
	}
	if c.org == nil {
		c.org = GenerateOrg(OrgSpec{Users: 50})
	}
	dir, err := newDirectory(c.org)
	if err != nil {
		panic(err)
	}
	s := &Server{
		closed:    make(chan struct{}),
		now:       c.now,
		appKey:    c.appKey,
		appSecret: c.appSecret,
		agentID:   c.agentID,
		corpID:    c.corpID,
		tokenTTL:  c.tokenTTL,
		dir:       dir,
		tokens:    map[string]*tokenState{},
		robots:    map[string]*robotState{},
		schedules: map[scheduleKey][]slot{},
		maxCalls:  c.maxCalls,
		counts:    map[string]int{},
	}
	s.users.init()
	s.qps = qpsState{def: c.qpsDefault, perAPI: c.qpsPerAPI}
	s.quota.limit = c.monthlyQuota
	s.notices.init()
	s.processes.init()
	s.callback.init(c.eventToken, c.eventKey, c.pushClient)
	s.ext.init()
	if len(dir.ids()) > 0 {
		s.ext.seed(dir.ids()[0])
	}
	if c.robotCode == "" {
		c.robotCode = c.appKey
	}
	s.chatbot.init(c.robotCode)
	for tok, rc := range c.robots {
		s.robots[tok] = &robotState{cfg: rc}
	}
	s.routes = s.buildRoutes()
	if c.autoEvents != "" {
		s.events = newEventQueue(c.autoEvents)
		go s.events.run(s)
	}
	s.ip = c.ipLimit
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if c.listener != nil {
		s.srv.Listener.Close()
		s.srv.Listener = c.listener
	}
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close releases blocked slow answers, stops automatic events and shuts
// the server down.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.srv.Close()
	if s.events != nil {
		<-s.events.done
	}
}

// Handler returns the fake's handler, to mount it in another server.
// Requests served through it are recorded like any other.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Client returns an *http.Client for the server (see httptest.Server).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AppKey returns the app's key (Client ID).
func (s *Server) AppKey() string { return s.appKey }

// AppSecret returns the app's secret (Client Secret).
func (s *Server) AppSecret() string { return s.appSecret }

// AgentID returns the app's agent id.
func (s *Server) AgentID() int64 { return s.agentID }

// CorpID returns the organisation's corpId.
func (s *Server) CorpID() string { return s.corpID }

// Call is one recorded request.
type Call struct {
	// API is the path without the leading slash, e.g. "topapi/v2/user/get".
	API    string
	Method string
	Query  url.Values
	// Header holds the request headers; Body the raw request body.
	Header http.Header
	Body   []byte
	Time   time.Time
	// Status is the HTTP status written (0 for a dropped connection);
	// Errcode is the old API's errcode, Code the new API's error code.
	Status  int
	Errcode int
	Code    string
	// Fault names the injected fault that answered the call, if any.
	Fault FaultKind
}

// Calls returns a copy of the recorded calls in arrival order (the last
// WithMaxRecordedCalls of them, if set).
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	if s.maxCalls > 0 && len(c) > s.maxCalls {
		c = c[len(c)-s.maxCalls:]
	}
	return slices.Clone(c)
}

// CallCount returns how many requests reached api (path with or without
// the leading slash), whatever their outcome.
func (s *Server) CallCount(api string) int {
	api = apiName(api)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[api]
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.callBase = s.callSeq
	clear(s.counts)
	s.mu.Unlock()
}

func apiName(p string) string {
	p = strings.TrimPrefix(p, "/")
	if strings.HasPrefix(p, chatFilePrefix) { // one route serves every file
		return chatFilePrefix
	}
	return p
}

// generation tells how a route authenticates and answers.
type generation int

const (
	genOld   generation = iota // oapi: errcode envelope, token in the query
	genNew                     // /v1.0: HTTP status, token in a header
	genRobot                   // robot webhook: oapi envelope, robot token
)

type authKind int

const (
	authNone authKind = iota
	authApp           // app access token
	authUser          // user access token (new API)
)

type route struct {
	gen     generation
	methods []string
	auth    authKind
	// quota marks APIs counted against the monthly quota.
	quota bool
	// tokenAPI marks token endpoints, exempt from the default QPS limit.
	tokenAPI bool
	fn       func(*request) reply
}

// request is one parsed call handed to a route's function.
type request struct {
	r      *http.Request
	api    string
	body   []byte
	params params
	now    time.Time
	userID string // for authUser routes
}

// reply is a route's answer: an HTTP status and a JSON body.
type reply struct {
	status int
	body   map[string]any
	raw    []byte // a non-envelope body (e.g. HTML from a gateway)
	ctype  string
}

func ok(fields map[string]any) reply {
	b := map[string]any{"errcode": 0, "errmsg": "ok"}
	for k, v := range fields {
		b[k] = v
	}
	return reply{status: http.StatusOK, body: b}
}

func fail(code int, msg string) reply {
	return reply{status: http.StatusOK, body: map[string]any{"errcode": code, "errmsg": msg}}
}

// fail88 is DingTalk's authentication failure envelope with a string
// sub_code.
func fail88(sub, subMsg string) reply {
	return reply{status: http.StatusOK, body: map[string]any{
		"errcode": 88, "errmsg": "鉴权异常，请检查subCode和subMsg", "sub_code": sub, "sub_msg": subMsg,
	}}
}

func newOK(body map[string]any) reply { return reply{status: http.StatusOK, body: body} }

func newFail(status int, code, msg string) reply {
	return reply{status: status, body: map[string]any{"code": code, "message": msg}}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	api := apiName(r.URL.Path)
	rt, found := s.routes[api]

	s.mu.Lock()
	now := s.now()
	s.reqN++
	reqID := opaqueID("req", s.reqN)[:26]
	idx := s.callSeq
	s.callSeq++
	s.calls = append(s.calls, Call{API: api, Method: r.Method, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, Time: now})
	s.counts[api]++
	if s.maxCalls > 0 && len(s.calls) >= 2*s.maxCalls {
		drop := len(s.calls) - s.maxCalls
		s.calls = slices.Clone(s.calls[drop:])
		s.callBase += uint64(drop)
	}
	fault := s.takeFault(api)
	if fault == nil && s.ip != nil && s.ip.blocked(now) {
		fault = &Fault{Kind: FaultIPBlock}
	}
	s.mu.Unlock()

	gen := genOld
	if found {
		gen = rt.gen
	} else if strings.HasPrefix(api, "v1.0/") {
		gen = genNew
	}
	var rep reply
	if fault != nil {
		var handled bool
		rep, handled = s.applyFault(w, r, fault, gen, idx)
		if handled {
			return
		}
	}
	if rep.status == 0 {
		rep = s.dispatch(r, api, rt, found, body, now)
		if fault != nil && fault.Kind == FaultDropAfter {
			s.record(idx, reply{}, fault.Kind)
			dropConn(w)
			return
		}
	}
	var fk FaultKind
	if fault != nil {
		fk = fault.Kind
	}
	s.record(idx, rep, fk)
	s.write(w, rep, gen, reqID)
}

// dispatch runs the checks DingTalk's gateway makes, then the route.
func (s *Server) dispatch(r *http.Request, api string, rt route, found bool, body []byte, now time.Time) reply {
	if !found {
		switch {
		case strings.HasPrefix(api, "topapi/"):
			return reply{status: http.StatusOK, body: map[string]any{
				"errcode": 22, "errmsg": "Invalid method", "sub_code": "isv.invalid-method",
				"sub_msg": "不合法ApiName：" + api,
			}}
		case strings.HasPrefix(api, "v1.0/"):
			return newFail(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		default:
			return reply{status: http.StatusNotFound, body: map[string]any{"errcode": 404, "errmsg": "请求的URI地址不存在"}}
		}
	}
	if !slices.Contains(rt.methods, r.Method) {
		if rt.gen == genNew {
			return newFail(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		}
		if slices.Contains(rt.methods, http.MethodPost) {
			return fail(43002, "需要POST请求")
		}
		return fail(43001, "需要GET请求")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Order as on DingTalk's gateway: read the call, authenticate it (the
	// app is known only from its token), then throttle per app × API, then
	// count it against the month. Rejected calls are not counted.
	rq := &request{r: r, api: api, body: body, now: now}
	if rt.gen == genOld {
		p, err := parseParams(r, body)
		if err != nil {
			return fail(40035, "不合法的参数: "+err.Error())
		}
		rq.params = p
	} else {
		rq.params = queryParams(r)
	}
	switch rt.auth {
	case authApp:
		if rep, bad := s.checkAppToken(rq, rt.gen); bad {
			return rep
		}
	case authUser:
		if rep, bad := s.checkUserToken(rq); bad {
			return rep
		}
	}
	if rep, limited := s.checkQPS(api, rt, now); limited {
		return rep
	}
	if rep, exhausted := s.checkQuota(rt, now); exhausted {
		return rep
	}
	return rt.fn(rq)
}

func (s *Server) record(seq uint64, rep reply, fk FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.callBase || seq-s.callBase >= uint64(len(s.calls)) { // reset or trimmed meanwhile
		return
	}
	c := &s.calls[seq-s.callBase]
	c.Status = rep.status
	c.Fault = fk
	if rep.body != nil {
		if e, ok := rep.body["errcode"].(int); ok {
			c.Errcode = e
		}
		if code, ok := rep.body["code"].(string); ok && rep.status >= 400 {
			c.Code = code
		}
	}
}

func (s *Server) write(w http.ResponseWriter, rep reply, gen generation, reqID string) {
	if rep.raw != nil {
		w.Header().Set("Content-Type", rep.ctype)
		w.WriteHeader(rep.status)
		w.Write(rep.raw)
		return
	}
	if gen == genNew {
		w.Header().Set("x-acs-request-id", reqID)
		if rep.status >= 400 {
			rep.body["requestid"] = reqID
		}
	} else if _, isEnvelope := rep.body["errcode"]; isEnvelope && gen == genOld {
		// Robot webhook replies carry no request id.
		rep.body["request_id"] = reqID
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep.body); err != nil {
		http.Error(w, "encode reply: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(rep.status)
	w.Write(buf.Bytes())
}

// dropConn closes the connection without answering.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("dingtalktest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// Transport returns an http.RoundTripper that serves requests in process,
// through the same handler, without a network round trip. A client built
// with it runs entirely on the calling goroutines, so a test can drive it
// inside a testing/synctest bubble, where time.Now, timers and rate
// limiters run on the bubble's fake clock: create the Server outside the
// bubble (its listener is not part of it) and the client inside. A dropped
// connection (FaultDrop, FaultDropAfter) is returned as an error.
func (s *Server) Transport() http.RoundTripper { return inProcess{s} }

type inProcess struct{ s *Server }

// errDropped is what a dropped connection looks like in process.
var errDropped = errors.New("dingtalktest: connection closed without a reply")

// RoundTrip serves req through the Server's handler.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if req.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	w := &recorder{ResponseRecorder: httptest.NewRecorder()}
	t.s.serveHTTP(w, in)
	if req.Body != nil {
		req.Body.Close()
	}
	if w.dropped {
		return nil, errDropped
	}
	resp := w.Result()
	resp.Request = req
	return resp, nil
}

// recorder is a ResponseRecorder whose Hijack means "drop the connection".
type recorder struct {
	*httptest.ResponseRecorder
	dropped bool
}

// Hijack records that the handler dropped the connection.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.dropped = true
	return nil, nil, errDropped
}
