// Package runtimetest runs function binaries the way FC and Lambda run
// them: a fake of Function Compute's 2020-11-11 runtime API, the AWS
// Lambda Runtime Interface Emulator, child processes with captured output,
// and one-time builds.
//
// Tests use the functions taking a testing.TB, which fail the test and
// clean up when it ends; the benchmarks (shared/bench) use the ones
// returning errors (StartProcess, NewFakeFCServer, FakeFC.Call, LaunchRIE,
// RIE.Call), whose resources the caller releases.
package runtimetest

import (
	"bytes"
	"context"
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

// RIEModule is the Runtime Interface Emulator version the tests run; the Go
// module proxy serves it. DINGFN_RIE may name a prebuilt binary instead.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// GoTool returns the go command.
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// Build compiles pkgs (relative to dir) into out for the host, with
// -tags lambda.norpc as the Lambda deployables are built.
func Build(dir, out string, pkgs ...string) error {
	args := append([]string{"build", "-tags", "lambda.norpc", "-o", out + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command(GoTool(), args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// tempRoot is the directory Main made for this test binary.
var tempRoot string

// Main runs a test binary's tests with TempRoot set to a fresh directory,
// removes the directory and exits with the tests' status. Call it from
// TestMain: builds and the emulator outlive single tests, so t.TempDir
// does not fit.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "dingfn-runtimetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tempRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TempRoot is the directory Main made; put per-binary builds under it.
func TempRoot() string { return tempRoot }

// rieBinary installs the emulator once per test binary.
var rieBinary = sync.OnceValues(func() (string, error) { return InstallRIE(tempRoot) })

// InstallRIE returns the emulator binary: DINGFN_RIE if set, else a copy
// cached in the user cache directory, else one built with go install into
// tmp (and cached for the next run), which needs the Go module proxy.
func InstallRIE(tmp string) (string, error) {
	if p := os.Getenv("DINGFN_RIE"); p != "" {
		return p, nil
	}
	version := RIEModule[strings.LastIndexByte(RIEModule, '@')+1:]
	cacheDir, cerr := os.UserCacheDir()
	cached := ""
	if cerr == nil {
		cached = filepath.Join(cacheDir, "dingfn-test", "aws-lambda-rie-"+version)
		if _, err := os.Stat(cached); err == nil {
			return cached, nil
		}
	}
	gobin := filepath.Join(tmp, "rie")
	cmd := exec.Command(GoTool(), "install", RIEModule)
	cmd.Dir = tmp // outside any module
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", RIEModule, err, out)
	}
	built := filepath.Join(gobin, "aws-lambda-rie")
	if cached != "" && os.MkdirAll(filepath.Dir(cached), 0o755) == nil {
		part := cached + ".part" + strconv.Itoa(os.Getpid())
		if b, err := os.ReadFile(built); err == nil && os.WriteFile(part, b, 0o755) == nil && os.Rename(part, cached) == nil {
			return cached, nil
		}
	}
	return built, nil
}

// Buffer collects a child's output while it runs; Wrote is signalled after
// each write so tests can wait for output without polling.
type Buffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	Wrote chan struct{}
}

// NewBuffer returns an empty Buffer.
func NewBuffer() *Buffer { return &Buffer{Wrote: make(chan struct{}, 1)} }

// Write records p and signals Wrote, so tests wait for output instead of
// sleeping.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.Wrote <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Process is a child process with captured output.
type Process struct {
	Cmd            *exec.Cmd
	Stdout, Stderr *Buffer
	Done           chan struct{}
	err            error
}

// ChildEnv is the test's environment without anything that would make a
// child pick a runtime, port or log format other than the test's, plus extra.
func ChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "FC_RUNTIME_API", "AWS_LAMBDA_RUNTIME_API", "PORT", "DINGFN_LOG_FORMAT", "DINGFN_LOG_LEVEL":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// StartProcess runs name with env; the caller stops it (Stop).
func StartProcess(env []string, name string, args ...string) (*Process, error) {
	p := &Process{Cmd: exec.Command(name, args...), Stdout: NewBuffer(), Stderr: NewBuffer(), Done: make(chan struct{})}
	p.Cmd.Env = env
	p.Cmd.Stdout, p.Cmd.Stderr = p.Stdout, p.Stderr
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.Done) }()
	return p, nil
}

// Start runs name with env; the process is killed when the test ends, and
// its output is logged if the test failed.
func Start(t testing.TB, env []string, name string, args ...string) *Process {
	t.Helper()
	p, err := StartProcess(env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", filepath.Base(name), p.Stdout, p.Stderr)
		}
	})
	return p
}

// Wait returns the exit code, failing the test if the process outlives d.
func (p *Process) Wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.Done:
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

// Stop kills the process and waits for it, so its output is complete.
func (p *Process) Stop() {
	_ = p.Cmd.Process.Kill()
	<-p.Done
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitListening retries connecting to addr with a growing delay until it
// accepts, the process dies, or 20 s pass.
func WaitListening(t testing.TB, p *Process, addr string) {
	t.Helper()
	if err := waitListening(p, addr); err != nil {
		t.Fatal(err)
	}
}

// errExited means the process ended before it listened.
var errExited = errors.New("process exited before listening")

func waitListening(p *Process, addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%w on %s", errExited, addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s after 20s: %v", addr, err)
		}
		select {
		case <-p.Done:
		case <-time.After(delay):
		}
	}
}

// FakeFC implements the part of Function Compute's 2020-11-11 runtime API
// that fc-runtime-go-sdk uses: GET …/invocation/next hands out one queued
// invocation with the x-fc-* headers the SDK requires, POST
// …/{id}/response and …/{id}/error take its result.
type FakeFC struct {
	*httptest.Server
	queue   chan invocation
	mu      sync.Mutex
	results map[string]chan Result
	seq     atomic.Int64
	stop    chan struct{}
	// closeOnce guards stop.
	closeOnce sync.Once
	// conns counts the functions' open connections; connsChanged is
	// closed (and replaced) when one closes.
	conns        int
	connsChanged chan struct{}
}

type invocation struct {
	id      string
	payload []byte
}

// Result is what the function posted for one invocation.
type Result struct {
	Kind   string // "response" or "error"
	Body   []byte
	Header http.Header
}

const fcAPI = "/2020-11-11/runtime/invocation/"

// NewFakeFC starts a fake runtime API on loopback, closed when the test ends.
func NewFakeFC(t testing.TB) *FakeFC {
	f := NewFakeFCServer()
	t.Cleanup(f.Close)
	return f
}

// NewFakeFCServer starts a fake runtime API on loopback; the caller
// closes it.
func NewFakeFCServer() *FakeFC {
	f := &FakeFC{queue: make(chan invocation), results: map[string]chan Result{}, stop: make(chan struct{}), connsChanged: make(chan struct{})}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Server.Config.ConnState = f.connState
	f.Server.Start()
	return f
}

func (f *FakeFC) connState(_ net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st {
	case http.StateNew:
		f.conns++
	case http.StateClosed, http.StateHijacked:
		f.conns--
		close(f.connsChanged)
		f.connsChanged = make(chan struct{})
	}
}

// Close ends the functions' pending polls and shuts the server down.
func (f *FakeFC) Close() {
	f.closeOnce.Do(func() { close(f.stop) })
	f.Server.Close()
}

// Env is the FC_RUNTIME_API setting that points a function at the fake.
func (f *FakeFC) Env() string { return "FC_RUNTIME_API=" + strings.TrimPrefix(f.URL, "http://") }

func (f *FakeFC) serve(w http.ResponseWriter, r *http.Request) {
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
		ch <- Result{Kind: kind, Body: body, Header: r.Header.Clone()}
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}
}

// WaitIdle returns once no function has a connection open, or with ctx's
// error. A killed function's last poll for an invocation may still reach
// the fake, and be waiting for one, after the process is gone; an
// invocation handed to it is lost. Whoever runs functions one after
// another on one fake waits, after stopping one, until the server has
// closed all its connections before starting the next.
func (f *FakeFC) WaitIdle(ctx context.Context) error {
	for {
		f.mu.Lock()
		n, changed := f.conns, f.connsChanged
		f.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%d function connection(s) still open: %w", n, ctx.Err())
		}
	}
}

// Invoke queues one invocation for p and waits for its result.
func (f *FakeFC) Invoke(t testing.TB, p *Process, payload []byte) (string, Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id, res, err := f.Call(ctx, p, payload)
	if err != nil {
		t.Fatal(err)
	}
	return id, res
}

// Call queues one invocation for p and waits until p posts its result, p
// exits or ctx ends.
func (f *FakeFC) Call(ctx context.Context, p *Process, payload []byte) (string, Result, error) {
	id := fmt.Sprintf("fc-req-%d", f.seq.Add(1))
	ch := make(chan Result, 1)
	f.mu.Lock()
	f.results[id] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.results, id)
		f.mu.Unlock()
	}()
	select {
	case f.queue <- invocation{id: id, payload: payload}:
	case <-p.Done:
		return id, Result{}, errors.New("function exited before polling for an invocation")
	case <-ctx.Done():
		return id, Result{}, fmt.Errorf("function never polled …/invocation/next: %w", ctx.Err())
	}
	select {
	case res := <-ch:
		return id, res, nil
	case <-p.Done:
		return id, Result{}, fmt.Errorf("function exited during invocation %s", id)
	case <-ctx.Done():
		return id, Result{}, fmt.Errorf("no result for invocation %s: %w", id, ctx.Err())
	}
}

// RIE is one binary running under the Lambda Runtime Interface Emulator.
type RIE struct {
	Proc *Process
	URL  string
}

// StartRIE runs bin under the emulator with env, on loopback ports of its
// own, and waits until the emulator accepts connections. The emulator is
// installed once per test binary (under TempRoot, so Main must run); the
// test is skipped when it cannot be, which needs the Go module proxy.
func StartRIE(t testing.TB, bin string, env []string) *RIE {
	t.Helper()
	rieBin, err := rieBinary()
	if err != nil {
		t.Skipf("cannot build the Lambda Runtime Interface Emulator (needs the Go module proxy): %v", err)
	}
	r, err := LaunchRIE(rieBin, bin, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Proc.Stop()
		if t.Failed() {
			t.Logf("emulator stdout:\n%s\nstderr:\n%s", r.Proc.Stdout, r.Proc.Stderr)
		}
	})
	return r
}

// LaunchRIE runs bin under the emulator rieBin (see InstallRIE) with env,
// on loopback ports of its own, and waits until the emulator accepts
// connections; the caller stops r.Proc. The emulator starts bin at the
// first invocation.
func LaunchRIE(rieBin, bin string, env []string) (*RIE, error) {
	// freePort's ports can be taken by another process before the emulator
	// binds them on a busy machine; then it exits at once and we retry.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		apiPort, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort))
		p, err := StartProcess(env, rieBin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, "--log-level", "error", bin)
		if err != nil {
			return nil, err
		}
		err = waitListening(p, addr)
		if err == nil {
			return &RIE{Proc: p, URL: "http://" + addr + "/2015-03-31/functions/function/invocations"}, nil
		}
		p.Stop()
		if !errors.Is(err, errExited) || attempt == 3 {
			return nil, fmt.Errorf("Runtime Interface Emulator: %v\nstderr:\n%s", err, p.Stderr)
		}
	}
}

// Invoke posts one event and returns the function's result (the emulator
// answers 200 with {"errorMessage","errorType"} for a failed invocation).
func (r *RIE) Invoke(t testing.TB, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	body, err := r.Call(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// Call posts one event and returns the function's result.
func (r *RIE) Call(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke through the emulator: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke through the emulator: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("emulator answered %d: %s", resp.StatusCode, body)
	}
	return body, nil
}
