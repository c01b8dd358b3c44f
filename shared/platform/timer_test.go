package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseTimerEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event []byte
		want  Trigger
	}{
		{"fc timer", readTestdata(t, "fc-timer.json"), Trigger{Source: SourceFCTimer, Name: "every-5-minutes", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Payload: `{"mode":"incremental"}`}},
		{"fc timer without payload", []byte(`{"triggerTime":"2026-11-30T08:00:00Z","triggerName":"t"}`), Trigger{Source: SourceFCTimer, Name: "t", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}},
		{"eventbridge scheduled", readTestdata(t, "eventbridge-scheduled.json"), Trigger{Source: SourceEventBridge, Name: "arn:aws:events:ap-southeast-1:123456789012:rule/dingfn-sync-schedule", ID: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", Time: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}},
		{"eventbridge constant input", readTestdata(t, "eventbridge-input.json"), Trigger{Source: SourceInput, Payload: "{\n  \"mode\": \"full\",\n  \"reason\": \"nightly full directory sync\"\n}"}},
		{"input that is a JSON string", []byte(`"full"`), Trigger{Source: SourceInput, Payload: `"full"`}},
		{"other aws.events detail type is input", []byte(`{"source":"aws.events","detail-type":"EC2 Instance State-change Notification"}`), Trigger{Source: SourceInput, Payload: `{"source":"aws.events","detail-type":"EC2 Instance State-change Notification"}`}},
		{"empty", nil, Trigger{Source: SourceInvoke}},
		{"null", []byte(" null\n"), Trigger{Source: SourceInvoke}},
		{"empty object", []byte(`{}`), Trigger{Source: SourceInput, Payload: `{}`}},
		{"not json", []byte("run now"), Trigger{Source: SourceInvoke, Payload: "run now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseTimerEvent(tt.event)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTimerInvocation(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := newLogger("sync", func(k string) string {
		if k == envFCRuntimeAPI {
			return "127.0.0.1:1"
		}
		return ""
	}, &logs)
	ok := func(ctx context.Context) (any, error) {
		tr, _ := TriggerFrom(ctx)
		return map[string]any{"users": 3, "trigger": tr.Source}, nil
	}
	out, err := timerInvocation(context.Background(), logger, ok, readTestdata(t, "fc-timer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"trigger":"fc-timer","users":3}` {
		t.Errorf("report: got %s", out)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, logs.String())
	}
	if line["msg"] != "tick done" || line["function"] != "sync" || line["runtime"] != "fc" {
		t.Errorf("log line: got %v", line)
	}
	if rep, _ := line["report"].(map[string]any); rep["users"] != 3.0 {
		t.Errorf("report logged as %v, want a JSON object", line["report"])
	}

	logs.Reset()
	sentinel := errors.New("list users: GET /topapi/v2/user/list?access_token=LEAKME123 failed")
	_, err = timerInvocation(context.Background(), logger, func(context.Context) (any, error) { return nil, sentinel }, nil)
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is lost through the platform error: %v", err)
	}
	var te *TimerError
	if !errors.As(err, &te) || strings.Contains(err.Error(), "LEAKME123") || strings.Contains(logs.String(), "LEAKME123") {
		t.Errorf("token not redacted: error %q, logs %s", err, logs.String())
	}

	logs.Reset()
	partial := func(context.Context) (any, error) {
		return map[string]any{"access_token": map[string]any{"refreshed": false, "error": "busy"}}, errors.New("refresh failed")
	}
	if _, err = timerInvocation(context.Background(), logger, partial, nil); err == nil {
		t.Fatal("a failed tick with a report must still fail")
	}
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, logs.String())
	}
	if rep, _ := line["report"].(map[string]any); line["msg"] != "tick failed" || rep["access_token"] == nil {
		t.Errorf("a failed tick's report must be logged with the failure, got %v", line)
	}

	_, err = timerInvocation(context.Background(), logger, func(context.Context) (any, error) { panic("kaboom") }, nil)
	if err == nil || !strings.Contains(err.Error(), "panic: kaboom") {
		t.Errorf("panic: got %v, want an error saying panic: kaboom", err)
	}
	_, err = timerInvocation(context.Background(), logger, func(context.Context) (any, error) { return func() {}, nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "report is not JSON") {
		t.Errorf("unmarshalable report: got %v", err)
	}
}

func TestRunLocalTimer(t *testing.T) {
	t.Parallel()
	discard := slog.New(slog.DiscardHandler)
	tests := []struct {
		name       string
		args       []string
		fn         TimerFunc
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name: "one tick prints the report", args: nil,
			fn: func(ctx context.Context) (any, error) {
				tr, _ := TriggerFrom(ctx)
				return map[string]string{"source": tr.Source, "payload": tr.Payload, "id": RequestID(ctx)[:6]}, nil
			},
			wantStdout: `{"id":"local-","payload":"","source":"local"}` + "\n",
		},
		{
			name: "payload flag", args: []string{"-payload", "full"},
			fn: func(ctx context.Context) (any, error) {
				tr, _ := TriggerFrom(ctx)
				return tr.Payload, nil
			},
			wantStdout: `"full"` + "\n",
		},
		{
			name: "failure exits 1 with the redacted error", args: nil,
			fn: func(context.Context) (any, error) {
				return nil, errors.New("gettoken: appsecret=s3cr3t rejected")
			},
			wantCode: 1, wantStderr: "token-refresher: gettoken: appsecret=REDACTED rejected\n",
		},
		{
			name: "not implemented", args: nil, fn: NotImplementedTimer("token refresh"),
			wantCode: 1, wantStderr: "token-refresher: token refresh: not implemented yet\n",
		},
		{name: "unknown flag", args: []string{"-bogus"}, fn: NotImplementedTimer("x"), wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "stray argument", args: []string{"now"}, fn: NotImplementedTimer("x"), wantCode: 2, wantStderr: `unexpected arguments ["now"]`},
		{name: "negative period", args: []string{"-every", "-1s"}, fn: NotImplementedTimer("x"), wantCode: 2, wantStderr: "-every must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := runLocalTimer(context.Background(), "token-refresher", discard, tt.fn, tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout: got %q, want %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestRunLocalTimerEvery(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := 0
	fn := func(ctx context.Context) (any, error) {
		ticks++
		if ticks == 2 {
			return nil, errors.New("transient")
		}
		if ticks == 4 {
			cancel() // the interrupt arrives during the fourth tick
		}
		return ticks, nil
	}
	var stdout, stderr bytes.Buffer
	code := runLocalTimer(ctx, "sync", slog.New(slog.DiscardHandler), fn, []string{"-every", "1ms"}, &stdout, &stderr)
	if code != 0 {
		t.Errorf("exit code after interrupt: got %d, want 0", code)
	}
	if ticks != 4 {
		t.Errorf("ticks: got %d, want 4 (a failed tick must not stop the loop, an interrupt must)", ticks)
	}
	if stdout.String() != "1\n3\n4\n" {
		t.Errorf("stdout: got %q, want the reports of ticks 1, 3 and 4", stdout.String())
	}
}

// An interrupt during a tick ends the loop even when the next period has
// already elapsed: with a 1 ns period the ticker is always ready as well,
// and a bare select would start another tick half of the time.
func TestRunLocalTimerEveryStopsAtInterrupt(t *testing.T) {
	t.Parallel()
	for i := range 64 {
		ctx, cancel := context.WithCancel(context.Background())
		ticks := 0
		fn := func(context.Context) (any, error) {
			ticks++
			cancel()
			return ticks, nil
		}
		var stdout, stderr bytes.Buffer
		code := runLocalTimer(ctx, "sync", slog.New(slog.DiscardHandler), fn, []string{"-every", "1ns"}, &stdout, &stderr)
		cancel()
		if code != 0 || ticks != 1 {
			t.Fatalf("run %d: got exit %d after %d ticks, want 0 after 1 (no tick after the interrupt)", i, code, ticks)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"GET https://oapi.dingtalk.com/user/get?access_token=abc123&userid=u1", "GET https://oapi.dingtalk.com/user/get?access_token=REDACTED&userid=u1"},
		{`{"accessToken":"tok-1","expireIn":7200}`, `{"accessToken":"REDACTED","expireIn":7200}`},
		{`body {"appSecret": "sec"} and jsapi_ticket=t1`, `body {"appSecret": "REDACTED"} and jsapi_ticket=REDACTED`},
		{"x-acs-dingtalk-access-token: abc", "x-acs-dingtalk-access-token: REDACTED"},
		{"Authorization: Bearer k-123", "Authorization: REDACTED"},
		{"userid=u1 deptId=2", "userid=u1 deptId=2"},
		{"POST /robot/send?access_token=r1&timestamp=1&sign=abc%2B", "POST /robot/send?access_token=REDACTED&timestamp=1&sign=REDACTED"},
		{"GET /gettoken?corpid=c&corpsecret=s1", "GET /gettoken?corpid=c&corpsecret=REDACTED"},
		{`{"tmp_auth_code":"x1","aes_key":"k1","SecurityToken":"sts"}`, `{"tmp_auth_code":"REDACTED","aes_key":"REDACTED","SecurityToken":"REDACTED"}`},
		{"design=flat designation=x", "design=flat designation=x"},
		{`{"code":"InvalidAuthentication"}`, `{"code":"InvalidAuthentication"}`},
		// The API path word accessToken is not a secret: the words after
		// it stay.
		{`dingtalk: v1.0/oauth2/accessToken: Post "http://127.0.0.1:1234/v1.0/oauth2/accessToken": dial tcp 127.0.0.1:1234: connect: connection refused`,
			`dingtalk: v1.0/oauth2/accessToken: Post "http://127.0.0.1:1234/v1.0/oauth2/accessToken": dial tcp 127.0.0.1:1234: connect: connection refused`},
		{"dingtalk: v1.0/oauth2/accessToken: HTTP 500", "dingtalk: v1.0/oauth2/accessToken: HTTP 500"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	ctx := withRequestInfo(context.Background(), "req-9", "")
	tests := []struct {
		name     string
		env      map[string]string
		json     bool
		debugOut bool
	}{
		{"fc is json", map[string]string{envFCRuntimeAPI: "x"}, true, false},
		{"lambda is json", map[string]string{envLambdaRuntimeAPI: "x"}, true, false},
		{"local is text", map[string]string{}, false, false},
		{"local json on request, debug level", map[string]string{"DINGFN_LOG_FORMAT": "json", "DINGFN_LOG_LEVEL": "debug"}, true, true},
		{"fc text on request", map[string]string{envFCRuntimeAPI: "x", "DINGFN_LOG_FORMAT": "text"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := newLogger("notify", env(tt.env), &buf)
			l.DebugContext(ctx, "dbg")
			l.InfoContext(ctx, "hello")
			out := buf.String()
			if got := strings.Contains(out, "dbg"); got != tt.debugOut {
				t.Errorf("debug line present: got %v, want %v", got, tt.debugOut)
			}
			last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
			if tt.json {
				var m map[string]any
				if err := json.Unmarshal([]byte(last), &m); err != nil {
					t.Fatalf("not JSON: %v: %s", err, last)
				}
				if m["request_id"] != "req-9" || m["function"] != "notify" {
					t.Errorf("got %v, want request_id and function", m)
				}
			} else if !strings.Contains(last, "request_id=req-9") || !strings.Contains(last, "function=notify") || strings.HasPrefix(last, "{") {
				t.Errorf("text line: got %q", last)
			}
		})
	}
}

// The platforms' JSON lines carry their time in UTC, whatever the zone
// of the record's time; the text lines keep the local zone. An unset or
// unknown level is info.
func TestLoggerTimeAndLevel(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 12, 1, 16, 30, 0, 0, shanghai)
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{envFCRuntimeAPI: "x"}, `"time":"2026-12-01T08:30:00Z"`},
		{map[string]string{envLambdaRuntimeAPI: "x", "DINGFN_LOG_LEVEL": "warn"}, `"time":"2026-12-01T08:30:00Z"`},
		{map[string]string{}, `time=2026-12-01T16:30:00.000+08:00`},
	} {
		var buf bytes.Buffer
		h := newLogger("sync", env(tt.env), &buf).Handler()
		if err := h.Handle(context.Background(), slog.NewRecord(at, slog.LevelWarn, "late", 0)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("env %v: got %s, want %s", tt.env, buf.String(), tt.want)
		}
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "bogus": slog.LevelInfo, " debug ": slog.LevelDebug, "ERROR": slog.LevelError} {
		if got := logLevel(in); got != want {
			t.Errorf("logLevel(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		want Runtime
	}{
		{map[string]string{envFCRuntimeAPI: "127.0.0.1:9000"}, FC},
		{map[string]string{envLambdaRuntimeAPI: "127.0.0.1:9001"}, Lambda},
		{map[string]string{envFCRuntimeAPI: "a", envLambdaRuntimeAPI: "b"}, FC},
		{map[string]string{"PORT": "9000"}, Local},
	} {
		if got := Detect(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("Detect(%v): got %s, want %s", tt.env, got, tt.want)
		}
	}
}

// SIGINT or SIGTERM during a one-shot local tick cancels the tick's
// context and waits for the tick to return, so its deferred cleanup (a
// lease release) runs before the process exits.
func TestRunLocalTimerInterruptWaitsForCleanup(t *testing.T) {
	t.Parallel()
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	started := make(chan struct{})
	var cleaned bool
	fn := func(tctx context.Context) (_ any, err error) {
		defer func() { cleaned = true }() // the lease release
		close(started)
		<-tctx.Done()
		return nil, tctx.Err()
	}
	go func() {
		<-started
		interrupt()
	}()
	var stdout, stderr bytes.Buffer
	code := runLocalTimerGrace(ctx, "token-refresher", slog.New(slog.DiscardHandler), fn, nil, &stdout, &stderr, time.Hour)
	if !cleaned {
		t.Error("the run ended before the interrupted tick's cleanup ran")
	}
	if code != 1 || !strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("got exit %d, stderr %q; want 1 with the tick's cancellation", code, stderr.String())
	}
}

// A tick that ignores the interrupt is abandoned after the grace period
// rather than holding the process forever.
func TestRunLocalTimerInterruptGivesUp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"-every", "1h"}} {
		t.Run(strings.Join(append([]string{"args"}, args...), " "), func(t *testing.T) {
			t.Parallel()
			ctx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			started, release := make(chan struct{}), make(chan struct{})
			defer close(release)
			fn := func(context.Context) (any, error) {
				close(started)
				<-release // deaf to cancellation
				return nil, nil
			}
			go func() {
				<-started
				interrupt()
			}()
			var stdout, stderr bytes.Buffer
			code := runLocalTimerGrace(ctx, "sync", slog.New(slog.DiscardHandler), fn, args, &stdout, &stderr, time.Millisecond)
			if code != 1 || !strings.Contains(stderr.String(), "did not return after the interrupt within 1ms") {
				t.Errorf("got exit %d, stderr %q; want 1 saying the tick was abandoned", code, stderr.String())
			}
		})
	}
}

// The -every loop also waits for the tick in progress when interrupted.
func TestRunLocalTimerEveryInterruptWaits(t *testing.T) {
	t.Parallel()
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var cleaned bool
	fn := func(tctx context.Context) (any, error) {
		defer func() { cleaned = true }()
		interrupt()
		<-tctx.Done()
		return "stopped", nil
	}
	var stdout, stderr bytes.Buffer
	code := runLocalTimerGrace(ctx, "sync", slog.New(slog.DiscardHandler), fn, []string{"-every", "1h"}, &stdout, &stderr, time.Hour)
	if code != 0 || !cleaned || stdout.String() != "\"stopped\"\n" {
		t.Errorf("got exit %d, cleaned %v, stdout %q; want 0 after the tick's own report", code, cleaned, stdout.String())
	}
}
