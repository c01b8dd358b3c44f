package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/redact"
)

// scripted replies with bodies[i] on the i-th hit (the last one repeats);
// a body of "HANGUP" closes the connection without a reply and "500"
// answers HTTP 500.
func scripted(t *testing.T, e *env, path string, bodies ...string) *atomic.Int32 {
	t.Helper()
	var hits atomic.Int32
	e.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1)) - 1
		b := bodies[min(n, len(bodies)-1)]
		switch {
		case b == "HANGUP":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		case strings.HasPrefix(b, "HTTP "):
			var code int
			fmt.Sscanf(b, "HTTP %d", &code)
			w.WriteHeader(code)
			fmt.Fprint(w, strings.TrimSpace(strings.TrimPrefix(b, fmt.Sprintf("HTTP %d", code))))
		default:
			fmt.Fprint(w, b)
		}
	})
	return &hits
}

const okUser = `{"errcode":0,"result":{"userid":"u1","name":"张三"}}`

func TestTokenInvalidInvalidatesAndRetriesOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.tokens.next = []string{"tok-2"}
	var seen []string
	var hits atomic.Int32
	e.mux.HandleFunc("/topapi/v2/user/get", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		tok := r.URL.Query().Get("access_token")
		seen = append(seen, tok)
		if tok == testToken {
			fmt.Fprint(w, readTestdata(t, "error_88_40014.json"))
			return
		}
		fmt.Fprint(w, okUser)
	})
	u, err := e.client.Contact.GetUser(context.Background(), "u1", "")
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if u.UserID != "u1" {
		t.Errorf("UserID = %q", u.UserID)
	}
	if want := []string{testToken, "tok-2"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("tokens sent = %v, want %v", seen, want)
	}
	if want := []string{testToken}; !reflect.DeepEqual(e.tokens.invalidated, want) {
		t.Errorf("invalidated = %v, want %v", e.tokens.invalidated, want)
	}
	if len(e.slept()) != 0 {
		t.Errorf("slept %v before a token retry, want no pause", e.slept())
	}
}

func TestTokenInvalidTwiceStops(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.tokens.next = []string{"tok-2", "tok-3"}
	hits := scripted(t, e, "/topapi/v2/user/get", `{"errcode":40014,"errmsg":"不合法的access_token"}`)
	_, err := e.client.Contact.GetUser(context.Background(), "u1", "")
	if !IsTokenInvalid(err) {
		t.Fatalf("err = %v, want token invalid", err)
	}
	if hits.Load() != 2 {
		t.Errorf("server hit %d times, want 2 (one retry)", hits.Load())
	}
}

func TestTokenInvalidOnNewAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.tokens.next = []string{"tok-2"}
	var seen []string
	e.mux.HandleFunc("/v1.0/workflow/processInstances", func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get(tokenHeader)
		seen = append(seen, tok)
		if tok == testToken {
			w.WriteHeader(400)
			fmt.Fprint(w, readTestdata(t, "error_api_invalid_auth.json"))
			return
		}
		fmt.Fprint(w, `{"instanceId":"pi-1"}`)
	})
	id, err := e.client.Process.CreateInstance(context.Background(), &CreateProcessInstanceRequest{
		ProcessCode: "PROC-1", OriginatorUserID: "u1", FormComponentValues: []FormComponentValue{{Name: "a", Value: "b"}},
	})
	if err != nil || id != "pi-1" {
		t.Fatalf("CreateInstance = %q, %v", id, err)
	}
	if want := []string{testToken, "tok-2"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("tokens sent = %v, want %v", seen, want)
	}
	if strings.Contains(e.logs.String(), testToken) || strings.Contains(e.logs.String(), "tok-2") {
		t.Errorf("logs leak the token:\n%s", e.logs)
	}
}

func TestExplicitTokenNotInvalidated(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := scripted(t, e, "/v1.0/oauth2/jsapiTickets", "HTTP 400 "+readTestdata(t, "error_api_invalid_auth.json"))
	_, err := e.client.Auth.GetJSAPITicket(context.Background(), "caller-token")
	if !IsTokenInvalid(err) {
		t.Fatalf("err = %v, want token invalid", err)
	}
	if hits.Load() != 1 || len(e.tokens.invalidated) != 0 {
		t.Errorf("hits = %d, invalidated = %v; want 1 and none", hits.Load(), e.tokens.invalidated)
	}
}

func TestRateLimitBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		bodies []string
		call   func(*Client) error
		sleeps []time.Duration
		hits   int32
		ok     bool
	}{
		{
			name: "90018 waits about a second", path: "/topapi/v2/user/get",
			bodies: []string{`{"errcode":90018,"errmsg":"限流"}`, okUser},
			call:   func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err },
			sleeps: []time.Duration{time.Second}, hits: 2, ok: true,
		},
		{
			name: "90002 backs off 1, 2, 4 s", path: "/topapi/v2/user/get",
			bodies: []string{`{"errcode":90002}`, `{"errcode":90002}`, `{"errcode":90002}`, okUser},
			call:   func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err },
			sleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, hits: 4, ok: true,
		},
		{
			name: "90002 gives up after three retries", path: "/topapi/v2/user/get",
			bodies: []string{`{"errcode":90002}`},
			call:   func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err },
			sleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, hits: 4,
		},
		{
			name: "rate-limited work notice is resent: it was not executed", path: "/topapi/message/corpconversation/asyncsend_v2",
			bodies: []string{`{"errcode":90018}`, `{"errcode":0,"task_id":7}`},
			call: func(c *Client) error {
				_, err := c.Message.Send(context.Background(), &WorkNotice{AgentID: 1, UserIDList: CommaStrings{"u"}, Msg: TextMessage("hi")})
				return err
			},
			sleeps: []time.Duration{time.Second}, hits: 2, ok: true,
		},
		{
			name: "403 QPS on new API", path: "/v1.0/workflow/processInstances",
			bodies: []string{"HTTP 403 " + readTestdata(t, "error_api_qps.json"), `{"result":{"title":"t"}}`},
			call:   func(c *Client) error { _, err := c.Process.GetInstance(context.Background(), "p"); return err },
			sleeps: []time.Duration{time.Second}, hits: 2, ok: true,
		},
		{
			name: "429 on new API", path: "/v1.0/workflow/processInstances",
			bodies: []string{`HTTP 429 {"code":"Throttling","message":"x"}`, `{"result":{"title":"t"}}`},
			call:   func(c *Client) error { _, err := c.Process.GetInstance(context.Background(), "p"); return err },
			sleeps: []time.Duration{time.Second}, hits: 2, ok: true,
		},
		{
			name: "robot muted for 10 minutes is not retried", path: "/robot/send",
			bodies: []string{`{"errcode":410100,"errmsg":"send too fast"}`},
			call: func(c *Client) error {
				return c.Robot.Send(context.Background(), Webhook{AccessToken: "r"}, RobotText("hi"))
			},
			hits: 1,
		},
		{
			name: "quota exhausted is not retried", path: "/topapi/v2/user/get",
			bodies: []string{`{"errcode":90020}`},
			call:   func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err },
			hits:   1,
		},
		{
			name: "43004 is not retried", path: "/topapi/v2/user/get",
			bodies: []string{`{"errcode":43004}`},
			call:   func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err },
			hits:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			hits := scripted(t, e, tt.path, tt.bodies...)
			err := tt.call(e.client)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
			if hits.Load() != tt.hits {
				t.Errorf("server hit %d times, want %d", hits.Load(), tt.hits)
			}
			if got := e.slept(); !reflect.DeepEqual(got, tt.sleeps) && !(len(got) == 0 && len(tt.sleeps) == 0) {
				t.Errorf("sleeps = %v, want %v", got, tt.sleeps)
			}
		})
	}
}

func TestRetryAfterHeaderHonoured(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var hits atomic.Int32
	e.mux.HandleFunc("/v1.0/workflow/processInstances", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"code":"Throttling"}`)
			return
		}
		fmt.Fprint(w, `{"result":{}}`)
	})
	if _, err := e.client.Process.GetInstance(context.Background(), "p"); err != nil {
		t.Fatal(err)
	}
	if got := e.slept(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("sleeps = %v, want [3s]", got)
	}
}

// deadlineCtx reports a deadline but never expires, so deadline
// arithmetic can be tested against a frozen clock without racing time.
type deadlineCtx struct {
	context.Context
	dl time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }

func TestRetryStopsAtDeadline(t *testing.T) {
	t.Parallel()
	e := setup(t)
	t0 := time.Unix(1_700_000_000, 0)
	e.client.now = func() time.Time { return t0 }
	hits := scripted(t, e, "/topapi/v2/user/get", `{"errcode":90002}`)
	ctx := deadlineCtx{context.Background(), t0.Add(1500 * time.Millisecond)}
	_, err := e.client.Contact.GetUser(ctx, "u1", "")
	if !IsRateLimited(err) {
		t.Fatalf("err = %v, want the rate-limit error", err)
	}
	// 1 s fits in 1.5 s, the next 2 s does not: give up without sleeping.
	if got := e.slept(); !reflect.DeepEqual(got, []time.Duration{time.Second}) {
		t.Errorf("sleeps = %v, want [1s]", got)
	}
	if hits.Load() != 2 {
		t.Errorf("hits = %d, want 2", hits.Load())
	}
}

func TestJitterBounds(t *testing.T) {
	t.Parallel()
	for range 100 {
		d := randomJitter(time.Second, 0.2)
		if d < time.Second || d >= 1200*time.Millisecond {
			t.Fatalf("jitter(1s, 0.2) = %v, want within [1s, 1.2s)", d)
		}
	}
	if d := randomJitter(time.Second, 0); d != time.Second {
		t.Errorf("jitter with 0 = %v", d)
	}
}

func TestBusyRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		bodies []string
		call   func(*Client) error
		hits   int32
		ok     bool
	}{
		{"read succeeds on third try", "/topapi/v2/user/get",
			[]string{`{"errcode":-1,"errmsg":"系统繁忙"}`, `{"errcode":-1}`, okUser},
			func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err }, 3, true},
		{"at most three tries", "/topapi/v2/user/get",
			[]string{`{"errcode":-1}`},
			func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err }, 3, false},
		{"create retried: -1 is a refusal", "/topapi/v2/department/create",
			[]string{`{"errcode":-1}`, `{"errcode":0,"result":{"dept_id":5}}`},
			func(c *Client) error {
				_, err := c.Contact.CreateDepartment(context.Background(), &CreateDepartmentRequest{Name: "研发", ParentID: 1})
				return err
			}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			hits := scripted(t, e, tt.path, tt.bodies...)
			err := tt.call(e.client)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
			if hits.Load() != tt.hits {
				t.Errorf("hits = %d, want %d", hits.Load(), tt.hits)
			}
		})
	}
}

func TestAmbiguousFailuresRetriedForReadsOnly(t *testing.T) {
	t.Parallel()
	notice := &WorkNotice{AgentID: 1, UserIDList: CommaStrings{"u1"}, Msg: TextMessage("hi")}
	tests := []struct {
		name  string
		path  string
		fail  string
		ok    string
		call  func(*Client) error
		hits  int32
		isErr bool
	}{
		{"read after 500", "/topapi/v2/user/get", "HTTP 500 oops", okUser,
			func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err }, 2, false},
		{"read after hang-up", "/topapi/v2/user/get", "HANGUP", okUser,
			func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err }, 2, false},
		{"new-API read after 503", "/v1.0/workflow/processInstances", `HTTP 503 {"code":"ServiceUnavailable"}`, `{"result":{}}`,
			func(c *Client) error { _, err := c.Process.GetInstance(context.Background(), "p"); return err }, 2, false},
		{"work notice after 500", "/topapi/message/corpconversation/asyncsend_v2", "HTTP 500 oops", `{"errcode":0,"task_id":1}`,
			func(c *Client) error { _, err := c.Message.Send(context.Background(), notice); return err }, 1, true},
		{"work notice after hang-up", "/topapi/message/corpconversation/asyncsend_v2", "HANGUP", `{"errcode":0,"task_id":1}`,
			func(c *Client) error { _, err := c.Message.Send(context.Background(), notice); return err }, 1, true},
		{"user create after hang-up", "/topapi/v2/user/create", "HANGUP", `{"errcode":0,"result":{"userid":"u"}}`,
			func(c *Client) error {
				_, err := c.Contact.CreateUser(context.Background(), &CreateUserRequest{Name: "n", Mobile: "1", DeptIDList: CommaInts{1}})
				return err
			}, 1, true},
		{"approval create after 502", "/v1.0/workflow/processInstances", "HTTP 502 bad gateway", `{"instanceId":"x"}`,
			func(c *Client) error {
				_, err := c.Process.CreateInstance(context.Background(), &CreateProcessInstanceRequest{ProcessCode: "P", OriginatorUserID: "u", FormComponentValues: []FormComponentValue{{Name: "a", Value: "b"}}})
				return err
			}, 1, true},
		{"robot after hang-up", "/robot/send", "HANGUP", `{"errcode":0}`,
			func(c *Client) error {
				return c.Robot.Send(context.Background(), Webhook{AccessToken: "r"}, RobotText("hi"))
			}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			hits := scripted(t, e, tt.path, tt.fail, tt.ok)
			err := tt.call(e.client)
			if (err != nil) != tt.isErr {
				t.Errorf("err = %v, want error=%v", err, tt.isErr)
			}
			if tt.isErr && !IsTransient(err) {
				t.Errorf("IsTransient(%v) = false, want true", err)
			}
			if hits.Load() != tt.hits {
				t.Errorf("hits = %d, want %d", hits.Load(), tt.hits)
			}
		})
	}
}

func TestTransportErrorRedacted(t *testing.T) {
	t.Parallel()
	e := setup(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	scripted(t, e, "/topapi/v2/user/get", "HANGUP")
	_, err := e.client.Contact.GetUser(context.Background(), "u1", "")
	var de *Error
	if !errors.As(err, &de) || de.Err == nil {
		t.Fatalf("err = %v, want a transport *Error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
	if !strings.Contains(err.Error(), "access_token=REDACTED") {
		t.Errorf("error %q does not show the redacted URL", err)
	}
	if strings.Contains(e.logs.String(), testToken) {
		t.Errorf("log leaks the token:\n%s", e.logs)
	}
}

func TestRateLimiterPerAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, WithAPIRateLimit("topapi/v2/user/get", 1e-6, 1))
	hits := scripted(t, e, "/topapi/v2/user/get", okUser)
	other := scripted(t, e, "/topapi/user/listid", `{"errcode":0,"result":{"userid_list":[]}}`)
	ctx := context.Background()
	if _, err := e.client.Contact.GetUser(ctx, "u1", ""); err != nil {
		t.Fatal(err)
	}
	// The bucket is empty and refills in ~11 days: a call with a deadline
	// fails at once instead of waiting, and never reaches DingTalk.
	ctx2, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := e.client.Contact.GetUser(ctx2, "u1", "")
	if !errors.Is(err, ErrClientRateLimit) {
		t.Errorf("second call err = %v, want a client rate limit error", err)
	}
	// Callers branch on the predicates: the client's own limit is a rate
	// limit (send again after a pause), never a call that may have run.
	if !IsRateLimited(err) || MaybeSent(err) || IsTransient(err) {
		t.Errorf("client rate limit: IsRateLimited %v, MaybeSent %v, IsTransient %v; want true, false, false", IsRateLimited(err), MaybeSent(err), IsTransient(err))
	}
	if hits.Load() != 1 {
		t.Errorf("limited API hit %d times, want 1", hits.Load())
	}
	// Other APIs have their own bucket.
	for range 5 {
		if _, err := e.client.Contact.ListUserIDs(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	if other.Load() != 5 {
		t.Errorf("other API hit %d times, want 5", other.Load())
	}
}

func TestRateLimiterBurst(t *testing.T) {
	t.Parallel()
	// A bucket of 3 that refills only once in ~4 months: exactly three
	// immediate calls pass, the fourth is refused without reaching
	// DingTalk, whatever the machine's speed.
	e := setup(t, WithRateLimit(1e-7, 3))
	hits := scripted(t, e, "/topapi/user/listid", `{"errcode":0,"result":{"userid_list":[]}}`)
	for range 3 {
		if _, err := e.client.Contact.ListUserIDs(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := e.client.Contact.ListUserIDs(ctx, 1); !errors.Is(err, ErrClientRateLimit) {
		t.Errorf("4th call: err = %v, want ErrClientRateLimit", err)
	}
	if hits.Load() != 3 {
		t.Errorf("hits = %d, want 3", hits.Load())
	}
}

// TestConcurrentTokenFailuresRefreshOnce starts many calls with the same
// token, lets DingTalk reject them all together, and checks that the
// shared cache fetches exactly one new token: every caller invalidates
// only the token it used, so late invalidations do not drop the fresh one.
func TestConcurrentTokenFailuresRefreshOnce(t *testing.T) {
	t.Parallel()
	const callers = 8
	mux, srv, fetches := tokenCountingServer(t)
	var arrived atomic.Int32
	allIn := make(chan struct{})
	mux.HandleFunc("/topapi/v2/user/get", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") == "T1" {
			if arrived.Add(1) == callers {
				close(allIn)
			}
			<-allIn // reject only once every caller holds T1
			fmt.Fprint(w, `{"errcode":88,"sub_code":"40014","errmsg":"鉴权异常"}`)
			return
		}
		fmt.Fprint(w, okUser)
	})
	c, err := NewClient("k", "s", WithBaseURLs(srv.URL, srv.URL), WithRateLimit(rate.Inf, 0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := c.Contact.GetUser(context.Background(), "u1", ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if fetches.Load() != 2 {
		t.Errorf("token fetches = %d, want 2 (T1, then one refresh)", fetches.Load())
	}
}

func TestDialFailureRetriedForWrites(t *testing.T) {
	t.Parallel()
	// A listener that is closed at once: connecting fails, so nothing was
	// sent and even a work notice may be tried again.
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	e := setup(t)
	c, err := NewClient("k", "s", WithBaseURLs(addr, addr), WithTokenSource(StaticTokenSource(testToken)), WithRateLimit(rate.Inf, 0))
	if err != nil {
		t.Fatal(err)
	}
	var sleeps []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }
	c.jitter = e.client.jitter
	_, err = c.Message.Send(context.Background(), &WorkNotice{AgentID: 1, ToAllUser: true, Msg: TextMessage("x")})
	if !IsTransient(err) {
		t.Fatalf("err = %v, want a transient transport error", err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second}; !reflect.DeepEqual(sleeps, want) {
		t.Errorf("sleeps = %v, want %v (three attempts)", sleeps, want)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestNewAPIBusyRetriedForReads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := scripted(t, e, "/v1.0/workflow/processInstances", `HTTP 400 {"code":"system.busy","message":"系统繁忙"}`, `{"result":{}}`)
	if _, err := e.client.Process.GetInstance(context.Background(), "p"); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 {
		t.Errorf("hits = %d, want 2", hits.Load())
	}
}

func TestRateLimitDelayHasJitter(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.client.jitter = randomJitter // the real one
	scripted(t, e, "/topapi/v2/user/get", `{"errcode":90018}`, `{"errcode":90018}`, `{"errcode":90018}`, okUser)
	if _, err := e.client.Contact.GetUser(context.Background(), "u1", ""); err != nil {
		t.Fatal(err)
	}
	got := e.slept()
	if len(got) != 3 {
		t.Fatalf("sleeps = %v, want 3", got)
	}
	for _, d := range got {
		if d < time.Second || d >= 1200*time.Millisecond {
			t.Errorf("delay %v outside [1s, 1.2s)", d)
		}
	}
}

func TestRetryAfterBeyondMaxDelayStops(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var hits atomic.Int32
	e.mux.HandleFunc("/v1.0/workflow/processInstances", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(429)
		fmt.Fprint(w, `{"code":"Throttling"}`)
	})
	_, err := e.client.Process.GetInstance(context.Background(), "p")
	if de, ok := asError(err); !ok || de.RetryAfter != 2*time.Minute {
		t.Fatalf("err = %v, want RetryAfter 2m", err)
	}
	if hits.Load() != 1 || len(e.slept()) != 0 {
		t.Errorf("hits = %d, sleeps = %v; want one call and no wait", hits.Load(), e.slept())
	}
}

func TestRetryLogged(t *testing.T) {
	t.Parallel()
	e := setup(t)
	scripted(t, e, "/topapi/v2/user/get", `{"errcode":-1,"errmsg":"系统繁忙"}`, okUser)
	if _, err := e.client.Contact.GetUser(context.Background(), "u1", ""); err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "level=WARN msg=\"dingtalk retry\" api=topapi/v2/user/get attempt=1") {
		t.Errorf("no structured retry line in:\n%s", logs)
	}
	if strings.Contains(logs, testToken) {
		t.Errorf("logs leak the token:\n%s", logs)
	}
}

// The client hides every query parameter it ever hid (the list it kept
// before it used shared/redact's), in any case, and keeps the others.
func TestQueryParamsRedacted(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"access_token", "appsecret", "corpsecret", "sign", "signature", "code", "tmp_auth_code", "AppSecret", "Access_Token"} {
		u, err := url.Parse("https://oapi.dingtalk.com/x?" + name + "=v-secret&userid=u1")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := redact.URL(u), "https://oapi.dingtalk.com/x?"+name+"=REDACTED&userid=u1"; got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
	ue := redactErr(&url.Error{Op: "Get", URL: "https://oapi.dingtalk.com/gettoken?appkey=k&appsecret=s3cr3t", Err: errors.New("EOF")})
	if strings.Contains(ue.Error(), "s3cr3t") || !strings.Contains(ue.Error(), "appkey=k&appsecret=REDACTED") {
		t.Errorf("redactErr: got %q, want the app secret hidden and the rest kept", ue)
	}
}
