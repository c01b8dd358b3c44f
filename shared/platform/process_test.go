package platform

// Runtime-protocol tests: the test functions under internal/testfn are built
// as real binaries and driven the way each platform drives them — through a
// fake of FC's 2020-11-11 runtime API, through the AWS Lambda Runtime
// Interface Emulator, and as local processes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rieModule is the Runtime Interface Emulator version the tests run; the
// module proxy serves it. DINGFN_RIE may name a prebuilt binary instead.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

var tmpRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dingfn-platform-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// testBinaries builds the test functions once per test binary, for the
// host, with -tags lambda.norpc as the Lambda deployable is built.
var testBinaries = sync.OnceValues(func() (map[string]string, error) {
	dir := filepath.Join(tmpRoot, "bin")
	cmd := exec.Command(goTool(), "build", "-tags", "lambda.norpc", "-o", dir+string(filepath.Separator), "./internal/testfn/...")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build test functions: %v\n%s", err, out)
	}
	return map[string]string{"http": filepath.Join(dir, "httpfn"), "timer": filepath.Join(dir, "timerfn")}, nil
})

func binaries(t *testing.T) map[string]string {
	t.Helper()
	bins, err := testBinaries()
	if err != nil {
		t.Fatal(err)
	}
	return bins
}

// rieBinary installs the emulator once per test binary; the user cache keeps
// it across runs.
var rieBinary = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("DINGFN_RIE"); p != "" {
		return p, nil
	}
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		cacheDir = tmpRoot
	}
	version := rieModule[strings.LastIndexByte(rieModule, '@')+1:]
	cached := filepath.Join(cacheDir, "dingfn-test", "aws-lambda-rie-"+version)
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	gobin := filepath.Join(tmpRoot, "rie")
	cmd := exec.Command(goTool(), "install", rieModule)
	cmd.Dir = tmpRoot // outside our module: go install pkg@version ignores it anyway
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", rieModule, err, out)
	}
	built := filepath.Join(gobin, "aws-lambda-rie")
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err == nil {
		tmp := cached + ".tmp" + strconv.Itoa(os.Getpid())
		if b, err := os.ReadFile(built); err == nil && os.WriteFile(tmp, b, 0o755) == nil && os.Rename(tmp, cached) == nil {
			return cached, nil
		}
	}
	return built, nil
})

// syncBuffer collects a child's output while it runs; wrote is signalled
// after each write so tests can wait for output without polling.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

// childEnv is the test's environment without anything that would make a
// child pick a runtime or port other than the test's.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case envFCRuntimeAPI, envLambdaRuntimeAPI, "PORT", "DINGFN_LOG_FORMAT", "DINGFN_LOG_LEVEL":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func start(t *testing.T, env []string, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), stdout: newSyncBuffer(), stderr: newSyncBuffer(), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", filepath.Base(name), p.stdout, p.stderr)
		}
	})
	return p
}

// wait returns the exit code, failing the test if the process outlives d.
func (p *process) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("process still running after %s", d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// stop kills the process and waits for it, so its output is complete.
func (p *process) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening polls until addr accepts connections or the process dies;
// bounded, so a child that never listens fails the test instead of hanging.
func waitListening(t *testing.T, p *process, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if p.exited() {
			t.Fatalf("process exited before listening on %s", addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %s after 20s: %v", addr, err)
		}
		select {
		case <-p.done:
		case <-time.After(delay):
		}
	}
}

// fakeFC implements the part of Function Compute's 2020-11-11 runtime API
// that fc-runtime-go-sdk polls: GET …/invocation/next hands out one queued
// invocation with its x-fc-* headers, POST …/{id}/response and …/{id}/error
// take the result.
type fakeFC struct {
	*httptest.Server
	queue   chan fcInvocation
	mu      sync.Mutex
	results map[string]chan fcResult
	seq     atomic.Int64
	stop    chan struct{}
}

type fcInvocation struct {
	id      string
	payload []byte
}

type fcResult struct {
	kind   string // "response" or "error"
	body   []byte
	header http.Header
}

const fcAPI = "/2020-11-11/runtime/invocation/"

func newFakeFC(t *testing.T) *fakeFC {
	f := &fakeFC{queue: make(chan fcInvocation), results: map[string]chan fcResult{}, stop: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { close(f.stop); f.Close() })
	return f
}

func (f *fakeFC) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, fcAPI)
	switch {
	case !ok:
		http.NotFound(w, r)
	case r.Method == http.MethodGet && rest == "next":
		select {
		case inv := <-f.queue:
			h := w.Header()
			h.Set("x-fc-request-id", inv.id)
			h.Set("x-fc-function-deadline", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			h.Set("x-fc-function-timeout", "30")
			h.Set("x-fc-function-name", "dingfn-test")
			h.Set("x-fc-function-memory", "128")
			h.Set("x-fc-region", "cn-hangzhou")
			_, _ = w.Write(inv.payload)
		case <-f.stop:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost:
		id, kind, _ := strings.Cut(rest, "/")
		f.mu.Lock()
		ch := f.results[id]
		f.mu.Unlock()
		if ch == nil || (kind != "response" && kind != "error") {
			http.Error(w, "unknown invocation", http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ch <- fcResult{kind: kind, body: body, header: r.Header.Clone()}
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}
}

// invoke queues one invocation and waits for the function's answer.
func (f *fakeFC) invoke(t *testing.T, p *process, payload []byte) (string, fcResult) {
	t.Helper()
	id := fmt.Sprintf("fc-req-%d", f.seq.Add(1))
	ch := make(chan fcResult, 1)
	f.mu.Lock()
	f.results[id] = ch
	f.mu.Unlock()
	timeout := time.After(30 * time.Second)
	select {
	case f.queue <- fcInvocation{id: id, payload: payload}:
	case <-p.done:
		t.Fatalf("function exited before polling for an invocation")
	case <-timeout:
		t.Fatalf("function never polled …/invocation/next")
	}
	select {
	case res := <-ch:
		return id, res
	case <-p.done:
		t.Fatalf("function exited during invocation %s", id)
	case <-timeout:
		t.Fatalf("no result for invocation %s", id)
	}
	panic("unreachable")
}

// rie runs one binary under the Lambda Runtime Interface Emulator.
type rie struct {
	proc *process
	url  string
}

func startRIE(t *testing.T, bin string, env ...string) *rie {
	t.Helper()
	rieBin, err := rieBinary()
	if err != nil {
		t.Skipf("cannot build the Lambda Runtime Interface Emulator (needs the Go module proxy): %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	p := start(t, childEnv(env...), rieBin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, "--log-level", "error", bin)
	waitListening(t, p, addr)
	return &rie{proc: p, url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
}

func (r *rie) invoke(t *testing.T, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke through the emulator: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("emulator answered %d: %s", resp.StatusCode, body)
	}
	return body
}

// timerReport is what internal/testfn/timerfn returns.
type timerReport struct {
	Trigger     Trigger `json:"trigger"`
	RequestID   string  `json:"request_id"`
	HasDeadline bool    `json:"has_deadline"`
}

type invokeError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("not the expected JSON: %v\n%s", err, b)
	}
}

// checkHTTPResponse asserts the echo of fc-http-get.json / lambda-url-post.json
// came back through a platform response.
func checkEchoResponse(t *testing.T, out []byte, wantPath, wantRequestID string) {
	t.Helper()
	resp, body := decodeResponse(t, out)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("statusCode: got %d, want 201; response %s", resp.StatusCode, out)
	}
	eq(t, "X-Echo header", resp.Headers["X-Echo"], "yes")
	var e struct {
		Method    string              `json:"method"`
		Path      string              `json:"path"`
		Query     map[string][]string `json:"query"`
		Signature string              `json:"signature"`
		RequestID string              `json:"requestID"`
		SourceIP  string              `json:"sourceIP"`
		Body      string              `json:"body"`
	}
	mustJSON(t, body, &e)
	eq(t, "path", e.Path, wantPath)
	eq(t, "requestID", e.RequestID, wantRequestID)
	if e.SourceIP == "" || e.Signature == "" {
		t.Errorf("source IP or header lost: %+v", e)
	}
}

func fcHTTPEvent(t *testing.T, path string) []byte {
	t.Helper()
	var ev map[string]any
	mustJSON(t, readTestdata(t, "fc-http-get.json"), &ev)
	ev["rawPath"] = path
	b, _ := json.Marshal(ev)
	return b
}

func lambdaURLEvent(t *testing.T, path string) []byte {
	t.Helper()
	var ev map[string]any
	mustJSON(t, readTestdata(t, "lambda-url-post.json"), &ev)
	ev["rawPath"] = path
	b, _ := json.Marshal(ev)
	return b
}

func TestFCRuntimeAPI(t *testing.T) {
	t.Parallel()
	bins := binaries(t)

	t.Run("http", func(t *testing.T) {
		t.Parallel()
		fake := newFakeFC(t)
		p := start(t, childEnv(envFCRuntimeAPI+"="+strings.TrimPrefix(fake.URL, "http://")), bins["http"])

		id, res := fake.invoke(t, p, readTestdata(t, "fc-http-get.json"))
		if res.kind != "response" {
			t.Fatalf("got %s %s, want a response", res.kind, res.body)
		}
		checkEchoResponse(t, res.body, "/callback", id)

		_, res = fake.invoke(t, p, fcHTTPEvent(t, "/binary"))
		resp, body := decodeResponse(t, res.body)
		if !resp.IsBase64Encoded || !bytes.Equal(body, []byte{0xff, 0x00, 0xfe, 'd', 'i', 'n', 'g'}) {
			t.Errorf("binary body: got base64=%v %x", resp.IsBase64Encoded, body)
		}

		_, res = fake.invoke(t, p, fcHTTPEvent(t, "/notimpl"))
		if resp, _ := decodeResponse(t, res.body); resp.StatusCode != http.StatusNotImplemented {
			t.Errorf("notimpl: got %d, want 501", resp.StatusCode)
		}

		_, res = fake.invoke(t, p, fcHTTPEvent(t, "/panic"))
		if resp, _ := decodeResponse(t, res.body); res.kind != "response" || resp.StatusCode != 500 {
			t.Errorf("panic: got %s %s, want a 500 response", res.kind, res.body)
		}

		// A timer event sent to an HTTP function is an invocation error, and
		// the instance keeps serving.
		_, res = fake.invoke(t, p, readTestdata(t, "fc-timer.json"))
		var ie invokeError
		mustJSON(t, res.body, &ie)
		if res.kind != "error" || ie.Type != "EventError" || !strings.Contains(ie.Message, "no requestContext.http.method") {
			t.Errorf("bad event: got %s %+v, want an EventError", res.kind, ie)
		}
		id, res = fake.invoke(t, p, readTestdata(t, "fc-http-get.json"))
		checkEchoResponse(t, res.body, "/callback", id)

		p.stop()
		logs := p.stderr.String()
		if strings.Contains(logs, "SECRET-TOKEN-VALUE") {
			t.Errorf("secret in logs:\n%s", logs)
		}
		if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"request_id":"`+id+`"`) {
			t.Errorf("no JSON access log line with the request id:\n%s", logs)
		}
	})

	t.Run("timer", func(t *testing.T) {
		t.Parallel()
		fake := newFakeFC(t)
		p := start(t, childEnv(envFCRuntimeAPI+"="+strings.TrimPrefix(fake.URL, "http://")), bins["timer"])

		id, res := fake.invoke(t, p, readTestdata(t, "fc-timer.json"))
		if res.kind != "response" {
			t.Fatalf("got %s %s, want a response", res.kind, res.body)
		}
		var rep timerReport
		mustJSON(t, res.body, &rep)
		want := Trigger{Source: SourceFCTimer, Name: "every-5-minutes", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Payload: `{"mode":"incremental"}`}
		if rep.Trigger != want || rep.RequestID != id || !rep.HasDeadline {
			t.Errorf("report: got %+v, want trigger %+v, request id %s and a deadline", rep, want, id)
		}

		_, res = fake.invoke(t, p, []byte(`{"triggerTime":"2026-11-30T08:05:00Z","triggerName":"every-5-minutes","payload":"fail"}`))
		var ie invokeError
		mustJSON(t, res.body, &ie)
		if res.kind != "error" || ie.Type != "TimerError" || !strings.Contains(ie.Message, "access_token=REDACTED") {
			t.Errorf("failing tick: got %s %+v, want a redacted TimerError", res.kind, ie)
		}
		p.stop()
		if strings.Contains(string(res.body)+p.stderr.String()+p.stdout.String(), "SECRET-TOKEN-VALUE") {
			t.Errorf("token leaked through the FC error path")
		}
		if !strings.Contains(p.stderr.String(), `"msg":"tick done"`) {
			t.Errorf("no JSON tick log:\n%s", p.stderr)
		}
	})
}

func TestLambdaRuntimeInterfaceEmulator(t *testing.T) {
	t.Parallel()
	bins := binaries(t)

	t.Run("http", func(t *testing.T) {
		t.Parallel()
		r := startRIE(t, bins["http"])
		out := r.invoke(t, readTestdata(t, "lambda-url-post.json"))
		resp, _ := decodeResponse(t, out)
		if len(resp.Cookies) != 2 || resp.Cookies[0] != "a=1" {
			t.Errorf("cookies: got %v, want [a=1 b=2]", resp.Cookies)
		}
		var e struct {
			RequestID string `json:"requestID"`
		}
		_, body := decodeResponse(t, out)
		mustJSON(t, body, &e)
		if e.RequestID == "" || e.RequestID == "0b4f2a3c-9d1e-4f5a-8b6c-7d8e9f0a1b2c" {
			t.Errorf("request id: got %q, want the emulator's invocation id", e.RequestID)
		}
		checkEchoResponse(t, out, "/send", e.RequestID)

		out = r.invoke(t, readTestdata(t, "lambda-httpapi-stage.json"))
		checkEchoResponse(t, out, "/callback", decodeRequestID(t, out))

		out = r.invoke(t, lambdaURLEvent(t, "/binary"))
		resp, body = decodeResponse(t, out)
		if !resp.IsBase64Encoded || !bytes.Equal(body, []byte{0xff, 0x00, 0xfe, 'd', 'i', 'n', 'g'}) {
			t.Errorf("binary body: got base64=%v %x", resp.IsBase64Encoded, body)
		}

		out = r.invoke(t, readTestdata(t, "apigw-v1.json"))
		var ie invokeError
		mustJSON(t, out, &ie)
		if ie.Type != "EventError" || !strings.Contains(ie.Message, "payload format 1.0") {
			t.Errorf("payload 1.0: got %s, want an EventError", out)
		}
		out = r.invoke(t, lambdaURLEvent(t, "/panic"))
		if resp, _ := decodeResponse(t, out); resp.StatusCode != 500 {
			t.Errorf("panic: got %s, want a 500 response", out)
		}
		r.proc.stop()
		if strings.Contains(r.proc.stdout.String()+r.proc.stderr.String(), "SECRET-TOKEN-VALUE") {
			t.Errorf("secret in logs")
		}
	})

	t.Run("timer", func(t *testing.T) {
		t.Parallel()
		r := startRIE(t, bins["timer"])
		for _, tt := range []struct {
			file string
			want Trigger
		}{
			{"eventbridge-scheduled.json", Trigger{Source: SourceEventBridge, Name: "arn:aws:events:ap-southeast-1:123456789012:rule/dingfn-sync-schedule", ID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}},
			{"eventbridge-input.json", Trigger{Source: SourceInput, Payload: "{\n  \"mode\": \"full\",\n  \"reason\": \"nightly full directory sync\"\n}"}},
		} {
			var rep timerReport
			mustJSON(t, r.invoke(t, readTestdata(t, tt.file)), &rep)
			if rep.Trigger.Source != tt.want.Source || rep.Trigger.Name != tt.want.Name || rep.Trigger.ID != tt.want.ID || !rep.Trigger.Time.Equal(tt.want.Time) || !rep.HasDeadline || rep.RequestID == "" {
				t.Errorf("%s: got %+v, want trigger %+v with a request id and a deadline", tt.file, rep, tt.want)
			}
			// The emulator re-encodes the payload; compare Input as JSON.
			if tt.want.Source == SourceInput && !sameJSON(rep.Trigger.Payload, tt.want.Payload) {
				t.Errorf("%s: payload %s, want %s", tt.file, rep.Trigger.Payload, tt.want.Payload)
			}
		}
		out := r.invoke(t, []byte(`{"triggerName":"manual","payload":"fail"}`))
		var ie invokeError
		mustJSON(t, out, &ie)
		if ie.Type != "TimerError" || !strings.Contains(ie.Message, "access_token=REDACTED") {
			t.Errorf("failing tick: got %s, want a redacted TimerError", out)
		}
		r.proc.stop()
		if strings.Contains(string(out)+r.proc.stdout.String()+r.proc.stderr.String(), "SECRET-TOKEN-VALUE") {
			t.Errorf("token leaked through the Lambda error path")
		}
	})
}

func decodeRequestID(t *testing.T, out []byte) string {
	t.Helper()
	_, body := decodeResponse(t, out)
	var e struct {
		RequestID string `json:"requestID"`
	}
	mustJSON(t, body, &e)
	return e.RequestID
}

func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

func TestLocalProcess(t *testing.T) {
	t.Parallel()
	bins := binaries(t)

	t.Run("http serves PORT and stops gracefully on SIGTERM", func(t *testing.T) {
		t.Parallel()
		port := strconv.Itoa(freePort(t))
		p := start(t, childEnv("PORT="+port), bins["http"])
		addr := net.JoinHostPort("127.0.0.1", port)
		waitListening(t, p, addr)
		resp, err := http.Get("http://" + addr + "/deep/path?x=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Path      string `json:"path"`
			RequestID string `json:"requestID"`
			SourceIP  string `json:"sourceIP"`
		}
		mustJSON(t, body, &e)
		if resp.StatusCode != http.StatusCreated || e.Path != "/deep/path" || e.SourceIP != "127.0.0.1" || !strings.HasPrefix(e.RequestID, "local-") {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
		resp, err = http.Get("http://" + addr + "/notimpl")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("notimpl: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Errorf("exit code after SIGINT: got %d, want 0", code)
		}
		if !strings.Contains(p.stderr.String(), "level=INFO msg=request") {
			t.Errorf("no text access log locally:\n%s", p.stderr)
		}
	})

	t.Run("http exits 1 when the port is taken", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p := start(t, childEnv("PORT="+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), bins["http"])
		if code := p.wait(t, 30*time.Second); code != 1 {
			t.Errorf("exit code: got %d, want 1", code)
		}
		if !strings.Contains(p.stderr.String(), "address already in use") {
			t.Errorf("stderr does not say why:\n%s", p.stderr)
		}
	})

	t.Run("timer one tick", func(t *testing.T) {
		t.Parallel()
		p := start(t, childEnv(), bins["timer"], "-payload", "hello")
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("exit code: got %d, want 0", code)
		}
		out := p.stdout.String()
		if strings.Count(out, "\n") != 1 {
			t.Errorf("stdout should be exactly one JSON line, got %q", out)
		}
		var rep timerReport
		mustJSON(t, []byte(out), &rep)
		if rep.Trigger.Source != SourceLocal || rep.Trigger.Payload != "hello" || !strings.HasPrefix(rep.RequestID, "local-") {
			t.Errorf("report: got %+v", rep)
		}
	})

	t.Run("timer failure exits 1", func(t *testing.T) {
		t.Parallel()
		p := start(t, childEnv(), bins["timer"], "-payload", "fail")
		if code := p.wait(t, 30*time.Second); code != 1 {
			t.Fatalf("exit code: got %d, want 1", code)
		}
		if p.stdout.String() != "" {
			t.Errorf("stdout should be empty on failure, got %q", p.stdout)
		}
		if errText := p.stderr.String(); !strings.Contains(errText, "timerfn: sync failed") || strings.Contains(errText, "SECRET-TOKEN-VALUE") {
			t.Errorf("stderr: got %q, want the redacted error", errText)
		}
	})

	t.Run("timer every until interrupted", func(t *testing.T) {
		t.Parallel()
		p := start(t, childEnv(), bins["timer"], "-every", "5ms")
		deadline := time.After(30 * time.Second)
		for strings.Count(p.stdout.String(), "\n") < 3 {
			select {
			case <-deadline:
				t.Fatalf("fewer than 3 ticks in 30s: %q", p.stdout)
			case <-p.done:
				t.Fatalf("exited before being interrupted")
			case <-p.stdout.wrote:
			}
		}
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Errorf("exit code after SIGINT: got %d, want 0", code)
		}
	})
}
