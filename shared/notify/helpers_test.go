package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// testKey is the bearer key of the tests' caller "svc".
const testKey = "test-notify-key-0123456789"

// memory is the backend of tests where store behaviour does not matter.
var memory = storetest.Memory()

// start is the tests' manual clock's start: 09:00 China time.
var start = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// env is one test's world: a fake DingTalk, a store and a manual clock
// shared by any number of notify instances.
type env struct {
	t    testing.TB
	clk  *clocktest.Manual
	fake *dingtalktest.Server
	st   store.Store
	keys *httpapi.Keys
	doc  *apiDoc
	opts []notify.Option
}

type envOption func(*envConfig)

type envConfig struct {
	fake  []dingtalktest.Option
	opts  []notify.Option
	start time.Time
}

// withRealStart starts the manual clock at the real time, for tests of
// robot signing: the client signs with the real clock.
func withRealStart() envOption {
	return func(c *envConfig) { c.start = time.Now().Truncate(time.Second) }
}

func withFake(o ...dingtalktest.Option) envOption {
	return func(c *envConfig) { c.fake = append(c.fake, o...) }
}

func withNotify(o ...notify.Option) envOption {
	return func(c *envConfig) { c.opts = append(c.opts, o...) }
}

func newEnv(t testing.TB, b storetest.Backend, opts ...envOption) *env {
	t.Helper()
	c := envConfig{start: start}
	for _, o := range opts {
		o(&c)
	}
	clk := clocktest.New(c.start)
	fake := dingtalktest.NewServer(append([]dingtalktest.Option{dingtalktest.WithClock(clk.Now)}, c.fake...)...)
	t.Cleanup(fake.Close)
	keys, err := httpapi.ParseKeys("svc=" + testKey)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, clk: clk, fake: fake, st: b.Open(t, clk.Now), keys: keys, doc: loadDoc(t), opts: c.opts}
}

// client returns a DingTalk client of the fake without client-side
// limits or pauses: the tests are about notify's own limits.
func (e *env) client() *dingtalk.Client {
	e.t.Helper()
	c, err := dingtalk.NewClient(e.fake.AppKey(), e.fake.AppSecret(),
		dingtalk.WithBaseURLs(e.fake.URL, e.fake.URL),
		dingtalk.WithHTTPClient(e.fake.Client()),
		dingtalk.WithRateLimit(rate.Inf, 0),
		dingtalk.WithRobotRateLimit(rate.Inf, 0),
		dingtalk.WithRetryPolicy(dingtalk.RetryPolicy{MaxAttempts: 3, MaxRateLimitRetries: 1}))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// instance returns one more notify instance on the shared store.
func (e *env) instance(opts ...notify.Option) *notify.Service {
	e.t.Helper()
	all := append([]notify.Option{notify.WithClock(e.clk.Now)}, e.opts...)
	s, err := notify.New(e.st, e.client(), e.fake.AgentID(), append(all, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// handler returns the HTTP API of s, checked against the OpenAPI
// document.
func (e *env) handler(s *notify.Service) http.Handler {
	return e.doc.check(e.t, notify.Handler(s, e.keys))
}

// call makes one request of the API h and decodes the JSON answer into
// out (when non-nil).
func call(t testing.TB, h http.Handler, method, path string, body any, out any, hdr ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	if out != nil {
		b, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: status %d, body %s: %v", method, path, res.StatusCode, b, err)
		}
		res.Body = io.NopCloser(bytes.NewReader(b))
	}
	return res
}

// errBody is the error body as tests read it.
type errBody struct {
	Error           string `json:"error"`
	Message         string `json:"message"`
	Field           string `json:"field"`
	Rule            string `json:"rule"`
	DingTalkErrCode int    `json:"dingtalk_errcode"`
}

// apiDoc validates requests and responses against openapi.json.
type apiDoc struct {
	v validator.Validator
}

var (
	docOnce sync.Once
	docVal  validator.Validator
	docErr  error
)

func loadDoc(t testing.TB) *apiDoc {
	t.Helper()
	docOnce.Do(func() {
		raw, err := notify.OpenAPI()
		if err != nil {
			docErr = err
			return
		}
		doc, err := libopenapi.NewDocument(raw)
		if err != nil {
			docErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			docErr = fmt.Errorf("%v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			docErr = fmt.Errorf("openapi.json is not a valid OpenAPI 3.1 document: %v", verrs)
			return
		}
		docVal = v
	})
	if docErr != nil {
		t.Fatal(docErr)
	}
	return &apiDoc{v: docVal}
}

// invalidRequestHeader marks a request a test sends invalid on purpose:
// only its answer is checked against the document; with the value
// "route", whose route is outside the API, nothing is.
const invalidRequestHeader = "X-Test-Invalid-Request"

var docMu sync.Mutex // the validator's caches are not documented as safe for concurrent use

// check wraps h so that every request it serves and every answer it
// gives are validated against the document; a mismatch fails the test.
func (d *apiDoc) check(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		out := rec.Body.Bytes()

		vreq := r.Clone(context.Background())
		vreq.Body = io.NopCloser(bytes.NewReader(body))
		res.Body = io.NopCloser(bytes.NewReader(out))
		docMu.Lock()
		var errs []string
		if r.Header.Get(invalidRequestHeader) == "" {
			if ok, verrs := d.v.ValidateHttpRequest(vreq); !ok {
				for _, e := range verrs {
					errs = append(errs, "request: "+e.Error())
				}
			}
			vreq.Body = io.NopCloser(bytes.NewReader(body))
		}
		if r.Header.Get(invalidRequestHeader) == "route" {
			// A path or method outside the API: nothing to check against.
		} else if ok, verrs := d.v.ValidateHttpResponse(vreq, res); !ok {
			for _, e := range verrs {
				errs = append(errs, fmt.Sprintf("response %d: %s", res.StatusCode, e.Error()))
			}
		}
		docMu.Unlock()
		if len(errs) > 0 {
			t.Errorf("%s %s does not match openapi.json:\n  %s\n  body: %s", r.Method, r.URL, strings.Join(errs, "\n  "), truncate(out, 600))
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(out)
	})
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// userIDs returns the first n userids of the fake's generated
// organisation.
func userIDs(t testing.TB, fake *dingtalktest.Server, n int) []string {
	t.Helper()
	org := fake.Org()
	if len(org.Users) < n {
		t.Fatalf("the fake has %d users, want %d", len(org.Users), n)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = org.Users[i].UserID
	}
	return ids
}

// deliveries counts how often each userid received a notice.
func deliveries(fake *dingtalktest.Server) map[string]int {
	out := map[string]int{}
	for _, w := range fake.WorkNotices() {
		for _, u := range w.Delivered {
			out[u]++
		}
	}
	return out
}

// sendCalls is how many asyncsend_v2 calls reached the fake.
func sendCalls(fake *dingtalktest.Server) int {
	return fake.CallCount("topapi/message/corpconversation/asyncsend_v2")
}

func textNotice(content string, userids ...string) notify.NoticeRequest {
	return notify.NoticeRequest{UserIDs: userids, Msg: dingtalk.TextMessage(content)}
}
