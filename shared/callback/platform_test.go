package callback_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/platform"
)

// platformCase builds a platform event around a DingTalk push and runs it
// through that platform's adapter.
type platformCase struct {
	name  string
	serve func(ctx context.Context, h http.Handler, event []byte) ([]byte, error)
	// build turns the recorded template into the invocation event.
	build func(t *testing.T, method string, query url.Values, body string) []byte
}

func loadTemplate(t *testing.T, name string) map[string]any {
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

func setMethod(m map[string]any, method string) {
	m["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = method
}

var platforms = []platformCase{
	{
		name:  "fc",
		serve: platform.ServeFCHTTPEvent,
		build: func(t *testing.T, method string, query url.Values, body string) []byte {
			m := loadTemplate(t, "fc-http-post.json")
			qp := map[string]string{}
			for k := range query {
				qp[k] = query.Get(k)
			}
			m["queryParameters"] = qp
			m["body"] = body // FC passes a JSON body as plain text
			setMethod(m, method)
			b, _ := json.Marshal(m)
			return b
		},
	},
	{
		name:  "lambda",
		serve: platform.ServeLambdaHTTPEvent,
		build: func(t *testing.T, method string, query url.Values, body string) []byte {
			m := loadTemplate(t, "lambda-url-post.json")
			m["rawQueryString"] = query.Encode()
			qs := map[string]string{}
			for k := range query {
				qs[k] = query.Get(k)
			}
			m["queryStringParameters"] = qs
			m["body"] = base64.StdEncoding.EncodeToString([]byte(body))
			setMethod(m, method)
			b, _ := json.Marshal(m)
			return b
		},
	},
}

// platformReply is the part of the FC and Lambda response shapes the tests
// read; both use these names.
type platformReply struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

func (r platformReply) body(t *testing.T) []byte {
	t.Helper()
	if !r.IsBase64Encoded {
		return []byte(r.Body)
	}
	b, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		t.Fatalf("reply body: %v", err)
	}
	return b
}

func (r platformReply) contentType() string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, "Content-Type") {
			return v
		}
	}
	return ""
}

// TestThroughPlatformAdapters drives the handler with FC HTTP-trigger and
// Lambda Function URL events carrying real encrypted pushes.
func TestThroughPlatformAdapters(t *testing.T) {
	t.Parallel()
	c, err := dingcrypto.New(pushToken, pushKey, "dingPlatformApp")
	if err != nil {
		t.Fatal(err)
	}
	encrypted := func(event string, sigName, tsName string) (url.Values, string) {
		env, err := c.Encrypt([]byte(event))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
		return url.Values{sigName: {env.MsgSignature}, tsName: {env.TimeStamp}, "nonce": {env.Nonce}}, string(body)
	}
	tests := []struct {
		name, method, event, sig, ts string
		mangle                       func(q url.Values, body string) (url.Values, string)
		status                       int
		code                         string // JSON error code when status != 200
		dispatched                   int
	}{
		{name: "check_url, msg_signature/timestamp", method: "POST", event: `{"EventType":"check_url"}`, sig: "msg_signature", ts: "timestamp", status: 200},
		{name: "check_url, signature/timeStamp", method: "POST", event: `{"EventType":"check_url"}`, sig: "signature", ts: "timeStamp", status: 200},
		{name: "event dispatched", method: "POST", event: `{"EventType":"user_leave_org","CorpId":"dingCorp","UserId":["u9"]}`, sig: "msg_signature", ts: "timestamp", status: 200, dispatched: 1},
		{name: "bad signature", method: "POST", event: `{"EventType":"check_url"}`, sig: "msg_signature", ts: "timestamp", status: 401, code: "bad_signature",
			mangle: func(q url.Values, b string) (url.Values, string) { q.Set("nonce", "forged"); return q, b }},
		{name: "wrong method", method: "GET", event: `{"EventType":"check_url"}`, sig: "msg_signature", ts: "timestamp", status: 405, code: "method_not_allowed"},
		{name: "malformed body", method: "POST", event: `{"EventType":"check_url"}`, sig: "msg_signature", ts: "timestamp", status: 400, code: "malformed_body",
			mangle: func(q url.Values, b string) (url.Values, string) { return q, "encrypt=" + b }},
		{name: "too large", method: "POST", event: `{"EventType":"check_url"}`, sig: "msg_signature", ts: "timestamp", status: 413, code: "body_too_large",
			mangle: func(q url.Values, b string) (url.Values, string) { return q, b + strings.Repeat(" ", 4<<10) }},
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, p := range platforms {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				rec := &events{}
				h, err := callback.NewHandler(c, rec, callback.WithLogger(quiet), callback.WithMaxBody(2<<10))
				if err != nil {
					t.Fatal(err)
				}
				q, body := encrypted(tt.event, tt.sig, tt.ts)
				if tt.mangle != nil {
					q, body = tt.mangle(q, body)
				}
				out, err := p.serve(context.Background(), h, p.build(t, tt.method, q, body))
				if err != nil {
					t.Fatalf("adapter: %v", err)
				}
				var reply platformReply
				if err := json.Unmarshal(out, &reply); err != nil {
					t.Fatalf("adapter reply %s: %v", out, err)
				}
				if reply.StatusCode != tt.status {
					t.Fatalf("status = %d, want %d; body %s", reply.StatusCode, tt.status, reply.body(t))
				}
				if ct := reply.contentType(); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if n := len(rec.list()); n != tt.dispatched {
					t.Errorf("dispatched %d events, want %d", n, tt.dispatched)
				}
				if tt.status != 200 {
					var e struct{ Error string }
					if err := json.Unmarshal(reply.body(t), &e); err != nil || e.Error != tt.code {
						t.Errorf("error body %s, want code %s", reply.body(t), tt.code)
					}
					return
				}
				var env dingcrypto.Envelope
				if err := json.Unmarshal(reply.body(t), &env); err != nil {
					t.Fatalf("reply %s: %v", reply.body(t), err)
				}
				if msg, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt); err != nil || string(msg) != "success" {
					t.Errorf("reply decrypts to %q, %v; want success", msg, err)
				}
			})
		}
	}
}
