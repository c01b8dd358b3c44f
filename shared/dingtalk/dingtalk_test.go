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
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

const testToken = "tok-SECRET-123"

// fakeTokens is a TokenSource whose current token tests control and whose
// calls they can inspect.
type fakeTokens struct {
	mu          sync.Mutex
	current     string
	next        []string // tokens handed out after each invalidation
	invalidated []string
	fetches     int
}

func (f *fakeTokens) AccessToken(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	return f.current, nil
}

func (f *fakeTokens) Invalidate(_ context.Context, tok string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated = append(f.invalidated, tok)
	if tok == f.current && len(f.next) > 0 {
		f.current, f.next = f.next[0], f.next[1:]
	}
	return nil
}

// env is one test's fake DingTalk and a client pointed at it.
type env struct {
	client *Client
	mux    *http.ServeMux
	server *httptest.Server
	tokens *fakeTokens
	sleeps []time.Duration
	logs   *bytes.Buffer
	mu     sync.Mutex
}

func (e *env) slept() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

// setup starts a fake DingTalk (both generations on one mux) and returns a
// client with a fake token source, no jitter, an instant recorded sleep and
// an unlimited rate limit.
func setup(t *testing.T, opts ...Option) *env {
	t.Helper()
	e := &env{mux: http.NewServeMux(), tokens: &fakeTokens{current: testToken}, logs: &bytes.Buffer{}}
	e.server = httptest.NewServer(e.mux)
	t.Cleanup(e.server.Close)
	base := []Option{
		WithBaseURLs(e.server.URL, e.server.URL),
		WithTokenSource(e.tokens),
		WithRateLimit(rate.Inf, 0),
		WithLogger(slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	c, err := NewClient("appkey-1", "appsecret-SECRET", append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		e.mu.Lock()
		e.sleeps = append(e.sleeps, d)
		e.mu.Unlock()
		return ctx.Err()
	}
	c.jitter = func(d time.Duration, _ float64) time.Duration { return d }
	e.client = c
	return e
}

// tokenCountingServer starts a DingTalk whose token endpoint hands out
// T1, T2, … and counts the fetches, for tests of the client's own token
// cache (setup injects a TokenSource instead); the caller adds the other
// handlers to mux.
func tokenCountingServer(t *testing.T) (*http.ServeMux, *httptest.Server, *atomic.Int32) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	fetches := new(atomic.Int32)
	mux.HandleFunc("/v1.0/oauth2/accessToken", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"accessToken":"T%d","expireIn":7200}`, fetches.Add(1))
	})
	return mux, srv, fetches
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// handle registers an old-API handler that checks method and token and
// replies with body.
func (e *env) handle(t *testing.T, method, path string, check func(r *http.Request), body string) *atomic.Int32 {
	t.Helper()
	var hits atomic.Int32
	e.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		testMethod(t, r, method)
		if check != nil {
			check(r)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})
	return &hits
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

func testOAPIToken(t *testing.T, r *http.Request) {
	t.Helper()
	if got := r.URL.Query().Get("access_token"); got != testToken {
		t.Errorf("access_token = %q, want %q", got, testToken)
	}
	if r.Header.Get(tokenHeader) != "" {
		t.Errorf("old API request carries the %s header", tokenHeader)
	}
}

func testAPIToken(t *testing.T, r *http.Request) {
	t.Helper()
	if got := r.Header.Get(tokenHeader); got != testToken {
		t.Errorf("%s = %q, want %q", tokenHeader, got, testToken)
	}
	if r.URL.Query().Has("access_token") {
		t.Error("new API request carries access_token in the query")
	}
}

func testQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	got := r.URL.Query()
	got.Del("access_token")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("query = %v, want %v", got, want)
	}
}

// testJSONBody compares the request body with want as decoded JSON, so key
// order and spacing do not matter.
func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	var got, w any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("body = %s, want %s", b, want)
	}
}

func testNoBody(t *testing.T, r *http.Request) {
	t.Helper()
	b, _ := io.ReadAll(r.Body)
	if len(b) != 0 {
		t.Errorf("body = %q, want none", b)
	}
}

// readTestdata returns a recorded DingTalk reply.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewClientValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		opts []Option
		want string
	}{
		{"missing credentials", "", nil, "appKey and appSecret are required"},
		{"relative oapi URL", "k", []Option{WithBaseURLs("oapi.dingtalk.com", DefaultAPIBaseURL)}, "oapi base URL"},
		{"api URL with query", "k", []Option{WithBaseURLs(DefaultOAPIBaseURL, "https://x/?a=1")}, "api base URL"},
		{"nil http client", "k", []Option{WithHTTPClient(nil)}, "nil *http.Client"},
		{"nil token source", "k", []Option{WithTokenSource(nil)}, "nil TokenSource"},
		{"nil logger", "k", []Option{WithLogger(nil)}, "nil *slog.Logger"},
		{"zero attempts", "k", []Option{WithRetryPolicy(RetryPolicy{})}, "MaxAttempts"},
		{"negative delay", "k", []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1, BaseDelay: -1})}, "negative"},
		{"jitter above 1", "k", []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1, Jitter: 2})}, "Jitter"},
		{"zero burst", "k", []Option{WithRateLimit(10, 0)}, "burst"},
		{"negative api rate", "k", []Option{WithAPIRateLimit("topapi/v2/user/get", -1, 1)}, "negative"},
		{"nil registry", "k", []Option{WithRegistry(nil)}, "nil *Registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.key, tt.key, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewClient error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := NewClient("", "", WithTokenSource(StaticTokenSource("x"))); err != nil {
		t.Errorf("NewClient with a token source and no credentials: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := NewClient("k", "s")
	if err != nil {
		t.Fatal(err)
	}
	if c.oapiBase.String() != DefaultOAPIBaseURL || c.apiBase.String() != DefaultAPIBaseURL {
		t.Errorf("base URLs = %s, %s", c.oapiBase, c.apiBase)
	}
	if _, ok := c.TokenSource().(*MemoryTokenSource); !ok {
		t.Errorf("default token source is %T, want *MemoryTokenSource", c.TokenSource())
	}
	// DingTalk's standard edition allows 20 QPS per API; the default bucket
	// must never let more than that through in any one second.
	d := DefaultRateLimit()
	if worst := float64(d.Limit) + float64(d.Burst); worst >= 20 {
		t.Errorf("default rate limit allows %v calls in a second, want < 20", worst)
	}
	p := DefaultRetryPolicy()
	if p.MaxAttempts != 3 || p.QPSDelay != time.Second || p.BaseDelay != time.Second {
		t.Errorf("default retry policy = %+v", p)
	}
}

func TestBaseURLPathPrefix(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/proxy/topapi/user/listid", nil, `{"errcode":0,"result":{"userid_list":["a"]}}`)
	c, err := NewClient("k", "s", WithBaseURLs(e.server.URL+"/proxy/", e.server.URL), WithTokenSource(StaticTokenSource(testToken)))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.Contact.ListUserIDs(context.Background(), 1)
	if err != nil || len(ids) != 1 {
		t.Fatalf("ListUserIDs = %v, %v", ids, err)
	}
}

func TestContextDoneBeforeCall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := e.handle(t, http.MethodPost, "/topapi/v2/user/get", nil, `{"errcode":0}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.Contact.GetUser(ctx, "u1", "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if hits.Load() != 0 {
		t.Errorf("server hit %d times, want 0", hits.Load())
	}
}
