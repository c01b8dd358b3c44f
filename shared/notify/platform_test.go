package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store"
)

// transport carries one API request to the handler: over loopback HTTP,
// or as a Function Compute or Lambda (HTTP API 2.0) invocation event
// built from the recorded templates in testdata/platform.
type transport struct {
	name string
	do   func(t *testing.T, h http.Handler, method, target string, hdr http.Header, body []byte) (int, http.Header, []byte)
}

func template(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/platform/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// platformReply is the part of FC's and Lambda's response JSON the tests
// read; both use these names.
type platformReply struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

func decodeReply(t *testing.T, out []byte, err error) (int, http.Header, []byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("adapter: %v", err)
	}
	var r platformReply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("adapter reply %s: %v", out, err)
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			t.Fatal(err)
		}
	}
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return r.StatusCode, h, body
}

func flat(hdr http.Header) map[string]string {
	m := map[string]string{}
	for k := range hdr {
		m[k] = hdr.Get(k)
	}
	return m
}

var transports = []transport{
	{"http", func(t *testing.T, h http.Handler, method, target string, hdr http.Header, body []byte) (int, http.Header, []byte) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, err := http.NewRequest(method, srv.URL+target, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr.Clone()
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}},
	{"fc", func(t *testing.T, h http.Handler, method, target string, hdr http.Header, body []byte) (int, http.Header, []byte) {
		m := template(t, "fc-http.json")
		u, _ := url.Parse(target)
		qp := map[string]string{}
		for k := range u.Query() {
			qp[k] = u.Query().Get(k)
		}
		m["rawPath"], m["queryParameters"], m["body"], m["headers"] = u.Path, qp, string(body), flat(hdr)
		rc := m["requestContext"].(map[string]any)["http"].(map[string]any)
		rc["method"], rc["path"] = method, u.Path
		ev, _ := json.Marshal(m)
		out, err := platform.ServeFCHTTPEvent(context.Background(), h, ev)
		return decodeReply(t, out, err)
	}},
	{"lambda", func(t *testing.T, h http.Handler, method, target string, hdr http.Header, body []byte) (int, http.Header, []byte) {
		m := template(t, "lambda-httpapi.json")
		u, _ := url.Parse(target)
		hs := map[string]string{}
		for k := range hdr {
			hs[strings.ToLower(k)] = hdr.Get(k)
		}
		m["rawPath"], m["rawQueryString"], m["headers"] = "/prod"+u.Path, u.RawQuery, hs
		m["body"], m["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		m["routeKey"] = method + " /{proxy+}"
		rc := m["requestContext"].(map[string]any)
		rc["routeKey"] = m["routeKey"]
		rc["http"].(map[string]any)["method"], rc["http"].(map[string]any)["path"] = method, "/prod"+u.Path
		ev, _ := json.Marshal(m)
		out, err := platform.ServeLambdaHTTPEvent(context.Background(), h, ev)
		return decodeReply(t, out, err)
	}},
}

// TestEveryEndpointOnEveryPlatform sends one request to each endpoint
// over loopback HTTP, as an FC event and as a Lambda HTTP API event, and
// expects the same status and JSON from all three.
func TestEveryEndpointOnEveryPlatform(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := robotEnv(t, memory)
			svc := e.instance(notify.WithDirectory(orgDirectory(e.fake)))
			h := e.handler(svc)
			u0 := e.fake.Org().Users[0]
			auth := http.Header{"Authorization": {"Bearer " + testKey}, "Content-Type": {"application/json"}}
			send := func(method, target, body string, hdr http.Header) (int, http.Header, map[string]any) {
				t.Helper()
				if hdr == nil {
					hdr = auth
				}
				status, h2, b := tr.do(t, h, method, target, hdr, []byte(body))
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("%s %s: %d %s: not JSON", method, target, status, b)
				}
				if ct := h2.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s %s: Content-Type %q", method, target, ct)
				}
				return status, h2, m
			}
			idem := auth.Clone()
			idem.Set("Idempotency-Key", "platform-key-1")
			status, hdr, a := send("POST", "/v1/notices", `{"userids":["`+u0.UserID+`"],"msg":{"msgtype":"text","text":{"content":"via `+tr.name+`"}}}`, idem)
			if status != 202 || a["status"] != "sent" || hdr.Get("Location") == "" {
				t.Fatalf("send: %d %v", status, a)
			}
			id := a["id"].(string)
			if status, hdr, _ := send("POST", "/v1/notices", `{"userids":["`+u0.UserID+`"],"msg":{"msgtype":"text","text":{"content":"via `+tr.name+`"}}}`, idem); status != 202 || hdr.Get("Idempotent-Replayed") != "true" {
				t.Errorf("replay: %d %v", status, hdr)
			}
			checks := []struct {
				method, target, body string
				status               int
				field, want          string
			}{
				{"GET", "/v1/notices/" + id, "", 200, "status", "sent"},
				{"GET", "/v1/notices/" + id + "?dingtalk=false", "", 200, "id", id},
				{"POST", "/v1/robots/ops/messages", `{"msgtype":"text","text":{"content":"via ` + tr.name + `"}}`, 200, "robot", "ops"},
				{"POST", "/v1/jsapi/config", `{"url":"https://app.example.com/"}`, 501, "error", notify.CodeNotConfigured},
				{"POST", "/v1/login", `{"code":"` + e.fake.NewAuthCode(u0.UserID) + `","kind":"in_app"}`, 200, "userid", u0.UserID},
				{"GET", "/v1/users/" + u0.UserID, "", 200, "userid", u0.UserID},
				{"GET", "/v1/users?unionid=" + url.QueryEscape(u0.UnionID), "", 200, "userid", u0.UserID},
				{"GET", "/v1/departments/1", "", 200, "source", "mirror"},
				{"GET", "/v1/departments/1/users?recursive=true&limit=2", "", 200, "source", "mirror"},
				{"GET", "/v1/openapi.json", "", 200, "openapi", "3.1.0"},
				{"DELETE", "/v1/notices/" + id, "", 200, "status", "recalled"},
				{"POST", "/v1/notices", `{"userids":["` + u0.UserID + `"],"msg":{"msgtype":"link","link":{"title":"t"}}}`, 400, "field", "msg.link.messageUrl"},
			}
			for _, c := range checks {
				hdr := auth
				if c.status == 400 {
					hdr = auth.Clone()
					hdr.Set(invalidRequestHeader, "1")
				}
				status, rh, m := send(c.method, c.target, c.body, hdr)
				if status != c.status || m[c.field] != c.want {
					t.Errorf("%s %s: %d %s=%v; want %d %s", c.method, c.target, status, c.field, m[c.field], c.status, c.want)
				}
				if strings.HasPrefix(c.target, "/v1/users") || strings.HasPrefix(c.target, "/v1/departments") {
					if rh.Get(notify.MirrorSyncedAtHeader) == "" {
						t.Errorf("%s: no %s", c.target, notify.MirrorSyncedAtHeader)
					}
				}
			}
			noKey := http.Header{"Content-Type": {"application/json"}, invalidRequestHeader: {"1"}}
			if status, _, m := send("GET", "/v1/notices/"+id, "", noKey); status != 401 || m["error"] != "unauthorized" {
				t.Errorf("without a key: %d %v", status, m)
			}
			if n := len(e.fake.RobotMessages(opsToken)); n != 1 {
				t.Errorf("robot messages %d", n)
			}
		})
	}
}

// TestLogLinesNameTheCallerOnce: the platform's logger adds the caller
// from the context, so notify's own lines do not add it again; a caller
// outside an authenticated request (the command line's own notify) is
// named too.
func TestLogLinesNameTheCallerOnce(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := platform.NewLogger("notify", func(k string) string {
		return map[string]string{"DINGFN_LOG_FORMAT": "json"}[k]
	}, &logs)
	e := newEnv(t, memory)
	s := e.instance(notify.WithLogger(logger))
	h := e.handler(s)
	ids := userIDs(t, e.fake, 1)
	if res := call(t, h, "POST", "/v1/notices", textNotice("via the API", ids...), nil); res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d", res.StatusCode)
	}
	if _, err := s.SendNotice(context.Background(), "cli", textNotice("from this process", ids...)); err != nil {
		t.Fatal(err)
	}
	var callers []string
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, `"msg":"notify: notice"`) {
			continue
		}
		if n := strings.Count(line, `"caller"`); n != 1 {
			t.Errorf("%d callers in %s", n, line)
		}
		var l struct{ Caller string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		callers = append(callers, l.Caller)
	}
	if strings.Join(callers, ",") != "svc,cli" {
		t.Errorf("notice lines name %q, want svc then cli", callers)
	}
}

// brokenStore fails every write with its own cause.
type brokenStore struct{ store.Store }

var errDiskOnFire = errors.New("test store: disk on fire")

func (brokenStore) Put(context.Context, string, store.Item, store.Cond) (int64, error) {
	return 0, errDiskOnFire
}

func (brokenStore) Batch(context.Context, string, []store.Write) error { return errDiskOnFire }

// TestServerErrorLogsItsCause: a 500 tells the caller only to see the
// logs, so the log line must carry the cause, not the answer's text again.
func TestServerErrorLogsItsCause(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, memory)
	s, err := notify.New(brokenStore{e.st}, e.client(), e.fake.AgentID(), notify.WithClock(e.clk.Now),
		notify.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	res := call(t, e.handler(s), "POST", "/v1/notices", textNotice("never stored", userIDs(t, e.fake, 1)...), nil)
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", res.StatusCode)
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, `"msg":"notify: request failed"`) {
			line = l
		}
	}
	if !strings.Contains(line, errDiskOnFire.Error()) {
		t.Errorf("the 500's log line does not name its cause:\n%s", logs.String())
	}
}
