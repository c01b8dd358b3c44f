package platform

// Runtime-protocol tests: the test functions under internal/testfn are built
// as real binaries and driven the way each platform drives them — through a
// fake of FC's 2020-11-11 runtime API, through the AWS Lambda Runtime
// Interface Emulator, and as local processes.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rt "github.com/dingfn/dingfn/shared/platform/runtimetest"
)

func TestMain(m *testing.M) { rt.Main(m) }

// testBinaries builds the test functions once per test binary.
var testBinaries = sync.OnceValues(func() (map[string]string, error) {
	dir := filepath.Join(rt.TempRoot(), "bin")
	if err := rt.Build(".", dir, "./internal/testfn/..."); err != nil {
		return nil, err
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
		fake := rt.NewFakeFC(t)
		p := rt.Start(t, rt.ChildEnv(fake.Env()), bins["http"])

		id, res := fake.Invoke(t, p, readTestdata(t, "fc-http-get.json"))
		if res.Kind != "response" {
			t.Fatalf("got %s %s, want a response", res.Kind, res.Body)
		}
		checkEchoResponse(t, res.Body, "/callback", id)

		_, res = fake.Invoke(t, p, fcHTTPEvent(t, "/binary"))
		resp, body := decodeResponse(t, res.Body)
		if !resp.IsBase64Encoded || !bytes.Equal(body, []byte{0xff, 0x00, 0xfe, 'd', 'i', 'n', 'g'}) {
			t.Errorf("binary body: got base64=%v %x", resp.IsBase64Encoded, body)
		}

		_, res = fake.Invoke(t, p, fcHTTPEvent(t, "/notimpl"))
		if resp, _ := decodeResponse(t, res.Body); resp.StatusCode != http.StatusNotImplemented {
			t.Errorf("notimpl: got %d, want 501", resp.StatusCode)
		}

		_, res = fake.Invoke(t, p, fcHTTPEvent(t, "/panic"))
		if resp, _ := decodeResponse(t, res.Body); res.Kind != "response" || resp.StatusCode != 500 {
			t.Errorf("panic: got %s %s, want a 500 response", res.Kind, res.Body)
		}

		// A timer event sent to an HTTP function is an invocation error, and
		// the instance keeps serving.
		_, res = fake.Invoke(t, p, readTestdata(t, "fc-timer.json"))
		var ie invokeError
		mustJSON(t, res.Body, &ie)
		if res.Kind != "error" || ie.Type != "EventError" || !strings.Contains(ie.Message, "no requestContext.http.method") {
			t.Errorf("bad event: got %s %+v, want an EventError", res.Kind, ie)
		}
		id, res = fake.Invoke(t, p, readTestdata(t, "fc-http-get.json"))
		checkEchoResponse(t, res.Body, "/callback", id)

		p.Stop()
		logs := p.Stderr.String()
		if strings.Contains(logs, "SECRET-TOKEN-VALUE") {
			t.Errorf("secret in logs:\n%s", logs)
		}
		if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"request_id":"`+id+`"`) {
			t.Errorf("no JSON access log line with the request id:\n%s", logs)
		}
	})

	t.Run("timer", func(t *testing.T) {
		t.Parallel()
		fake := rt.NewFakeFC(t)
		p := rt.Start(t, rt.ChildEnv(fake.Env()), bins["timer"])

		id, res := fake.Invoke(t, p, readTestdata(t, "fc-timer.json"))
		if res.Kind != "response" {
			t.Fatalf("got %s %s, want a response", res.Kind, res.Body)
		}
		var rep timerReport
		mustJSON(t, res.Body, &rep)
		want := Trigger{Source: SourceFCTimer, Name: "every-5-minutes", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Payload: `{"mode":"incremental"}`}
		if rep.Trigger != want || rep.RequestID != id || !rep.HasDeadline {
			t.Errorf("report: got %+v, want trigger %+v, request id %s and a deadline", rep, want, id)
		}

		_, res = fake.Invoke(t, p, []byte(`{"triggerTime":"2026-11-30T08:05:00Z","triggerName":"every-5-minutes","payload":"fail"}`))
		var ie invokeError
		mustJSON(t, res.Body, &ie)
		if res.Kind != "error" || ie.Type != "TimerError" || !strings.Contains(ie.Message, "access_token=REDACTED") {
			t.Errorf("failing tick: got %s %+v, want a redacted TimerError", res.Kind, ie)
		}
		p.Stop()
		if strings.Contains(string(res.Body)+p.Stderr.String()+p.Stdout.String(), "SECRET-TOKEN-VALUE") {
			t.Errorf("token leaked through the FC error path")
		}
		if !strings.Contains(p.Stderr.String(), `"msg":"tick done"`) {
			t.Errorf("no JSON tick log:\n%s", p.Stderr)
		}
	})
}

func TestLambdaRuntimeInterfaceEmulator(t *testing.T) {
	t.Parallel()
	bins := binaries(t)

	t.Run("http", func(t *testing.T) {
		t.Parallel()
		r := rt.StartRIE(t, bins["http"], rt.ChildEnv())
		out := r.Invoke(t, readTestdata(t, "lambda-url-post.json"))
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

		out = r.Invoke(t, readTestdata(t, "lambda-httpapi-stage.json"))
		checkEchoResponse(t, out, "/callback", decodeRequestID(t, out))

		out = r.Invoke(t, lambdaURLEvent(t, "/binary"))
		resp, body = decodeResponse(t, out)
		if !resp.IsBase64Encoded || !bytes.Equal(body, []byte{0xff, 0x00, 0xfe, 'd', 'i', 'n', 'g'}) {
			t.Errorf("binary body: got base64=%v %x", resp.IsBase64Encoded, body)
		}

		out = r.Invoke(t, readTestdata(t, "apigw-v1.json"))
		var ie invokeError
		mustJSON(t, out, &ie)
		if ie.Type != "EventError" || !strings.Contains(ie.Message, "payload format 1.0") {
			t.Errorf("payload 1.0: got %s, want an EventError", out)
		}
		out = r.Invoke(t, lambdaURLEvent(t, "/panic"))
		if resp, _ := decodeResponse(t, out); resp.StatusCode != 500 {
			t.Errorf("panic: got %s, want a 500 response", out)
		}
		r.Proc.Stop()
		if strings.Contains(r.Proc.Stdout.String()+r.Proc.Stderr.String(), "SECRET-TOKEN-VALUE") {
			t.Errorf("secret in logs")
		}
	})

	t.Run("timer", func(t *testing.T) {
		t.Parallel()
		r := rt.StartRIE(t, bins["timer"], rt.ChildEnv())
		for _, tt := range []struct {
			file string
			want Trigger
		}{
			{"eventbridge-scheduled.json", Trigger{Source: SourceEventBridge, Name: "arn:aws:events:ap-southeast-1:123456789012:rule/dingfn-sync-schedule", ID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}},
			{"eventbridge-input.json", Trigger{Source: SourceInput, Payload: "{\n  \"mode\": \"full\",\n  \"reason\": \"nightly full directory sync\"\n}"}},
		} {
			var rep timerReport
			mustJSON(t, r.Invoke(t, readTestdata(t, tt.file)), &rep)
			if rep.Trigger.Source != tt.want.Source || rep.Trigger.Name != tt.want.Name || rep.Trigger.ID != tt.want.ID || !rep.Trigger.Time.Equal(tt.want.Time) || !rep.HasDeadline || rep.RequestID == "" {
				t.Errorf("%s: got %+v, want trigger %+v with a request id and a deadline", tt.file, rep, tt.want)
			}
			// The emulator re-encodes the payload; compare Input as JSON.
			if tt.want.Source == SourceInput && !sameJSON(rep.Trigger.Payload, tt.want.Payload) {
				t.Errorf("%s: payload %s, want %s", tt.file, rep.Trigger.Payload, tt.want.Payload)
			}
		}
		out := r.Invoke(t, []byte(`{"triggerName":"manual","payload":"fail"}`))
		var ie invokeError
		mustJSON(t, out, &ie)
		if ie.Type != "TimerError" || !strings.Contains(ie.Message, "access_token=REDACTED") {
			t.Errorf("failing tick: got %s, want a redacted TimerError", out)
		}
		r.Proc.Stop()
		if strings.Contains(string(out)+r.Proc.Stdout.String()+r.Proc.Stderr.String(), "SECRET-TOKEN-VALUE") {
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
		port := strconv.Itoa(rt.FreePort(t))
		p := rt.Start(t, rt.ChildEnv("PORT="+port), bins["http"])
		addr := net.JoinHostPort("127.0.0.1", port)
		rt.WaitListening(t, p, addr)
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
		if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("notimpl: got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.Wait(t, 30*time.Second); code != 0 {
			t.Errorf("exit code after SIGINT: got %d, want 0", code)
		}
		if !strings.Contains(p.Stderr.String(), "level=INFO msg=request") {
			t.Errorf("no text access log locally:\n%s", p.Stderr)
		}
	})

	t.Run("http exits 1 when the port is taken", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p := rt.Start(t, rt.ChildEnv("PORT="+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), bins["http"])
		if code := p.Wait(t, 30*time.Second); code != 1 {
			t.Errorf("exit code: got %d, want 1", code)
		}
		if !strings.Contains(p.Stderr.String(), "address already in use") {
			t.Errorf("stderr does not say why:\n%s", p.Stderr)
		}
	})

	t.Run("timer one tick", func(t *testing.T) {
		t.Parallel()
		p := rt.Start(t, rt.ChildEnv(), bins["timer"], "-payload", "hello")
		if code := p.Wait(t, 30*time.Second); code != 0 {
			t.Fatalf("exit code: got %d, want 0", code)
		}
		out := p.Stdout.String()
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
		p := rt.Start(t, rt.ChildEnv(), bins["timer"], "-payload", "fail")
		if code := p.Wait(t, 30*time.Second); code != 1 {
			t.Fatalf("exit code: got %d, want 1", code)
		}
		if p.Stdout.String() != "" {
			t.Errorf("stdout should be empty on failure, got %q", p.Stdout)
		}
		if errText := p.Stderr.String(); !strings.Contains(errText, "timerfn: sync failed") || strings.Contains(errText, "SECRET-TOKEN-VALUE") {
			t.Errorf("stderr: got %q, want the redacted error", errText)
		}
	})

	t.Run("timer every until interrupted", func(t *testing.T) {
		t.Parallel()
		p := rt.Start(t, rt.ChildEnv(), bins["timer"], "-every", "5ms")
		deadline := time.After(30 * time.Second)
		for strings.Count(p.Stdout.String(), "\n") < 3 {
			select {
			case <-deadline:
				t.Fatalf("fewer than 3 ticks in 30s: %q", p.Stdout)
			case <-p.Done:
				t.Fatalf("exited before being interrupted")
			case <-p.Stdout.Wrote:
			}
		}
		if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := p.Wait(t, 30*time.Second); code != 0 {
			t.Errorf("exit code after SIGINT: got %d, want 0", code)
		}
	})
}
