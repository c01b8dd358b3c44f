package platform

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	fcevents "github.com/aliyun/fc-runtime-go-sdk/events"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/dingfn/dingfn/shared/httpapi"
)

// echo is what echoHandler reports about the request it was handed.
type echo struct {
	Method        string              `json:"method"`
	Path          string              `json:"path"`
	EscapedPath   string              `json:"escapedPath"`
	RequestURI    string              `json:"requestURI"`
	RawQuery      string              `json:"rawQuery"`
	Query         map[string][]string `json:"query"`
	Host          string              `json:"host"`
	Proto         string              `json:"proto"`
	Header        map[string]string   `json:"header"`
	Body          string              `json:"body"`
	BodyBase64    string              `json:"bodyBase64"`
	ContentLength int64               `json:"contentLength"`
	RequestID     string              `json:"requestID"`
	SourceIP      string              `json:"sourceIP"`
	RemoteAddr    string              `json:"remoteAddr"`
}

func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := map[string]string{}
		for k := range r.Header {
			h[k] = r.Header.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Origin")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(echo{
			Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), RequestURI: r.RequestURI,
			RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Host: r.Host, Proto: r.Proto,
			Header: h, Body: string(body), BodyBase64: base64.StdEncoding.EncodeToString(body),
			ContentLength: r.ContentLength, RequestID: RequestID(r.Context()), SourceIP: SourceIP(r.Context()),
			RemoteAddr: r.RemoteAddr,
		})
	})
}

func readFile(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// platformResponse is the union of the FC and Lambda response shapes.
type platformResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Cookies         []string          `json:"cookies"`
}

func decodeResponse(t *testing.T, out []byte) (platformResponse, []byte) {
	t.Helper()
	var resp platformResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, out)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			t.Fatalf("isBase64Encoded body does not decode: %v", err)
		}
		body = b
	}
	return resp, body
}

func decodeEcho(t *testing.T, body []byte) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("handler body is not the echo JSON: %v\n%s", err, body)
	}
	return e
}

func TestServeHTTPEvent(t *testing.T) {
	t.Parallel()
	binaryBody := append([]byte{0xff, 0x00, 0xfe}, `{"encrypt":"Zm9v"}`...)
	tests := []struct {
		name  string
		serve func(context.Context, http.Handler, []byte) ([]byte, error)
		file  string
		ctx   context.Context
		check func(t *testing.T, e echo)
	}{
		{
			name: "fc get with query map", serve: ServeFCHTTPEvent, file: "fc-http-get.json",
			check: func(t *testing.T, e echo) {
				want := map[string][]string{"nonce": {"nEXhMP4r"}, "signature": {"5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0"}, "tags": {"a,b"}, "timestamp": {"1445827045067"}}
				if !reflect.DeepEqual(e.Query, want) {
					t.Errorf("query: got %v, want %v", e.Query, want)
				}
				if e.RawQuery != "nonce=nEXhMP4r&signature=5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0&tags=a%2Cb&timestamp=1445827045067" {
					t.Errorf("rawQuery: got %q, want the sorted encoding of queryParameters", e.RawQuery)
				}
				eq(t, "method", e.Method, "GET")
				eq(t, "path", e.Path, "/callback")
				eq(t, "host", e.Host, "callback-dingfn-abcdefghij.cn-hangzhou.fcapp.run")
				eq(t, "header", e.Header["X-Test-Signature"], "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0")
				eq(t, "requestID", e.RequestID, "1-6745a1b2-0123456789abcdef01234567")
				eq(t, "sourceIP", e.SourceIP, "203.0.113.17")
				eq(t, "remoteAddr", e.RemoteAddr, "203.0.113.17:0")
				eq(t, "proto", e.Proto, "HTTP/1.1")
				eq(t, "body", e.Body, "")
				if _, ok := e.Header["Host"]; ok {
					t.Errorf("Host left in the header map; net/http moves it to r.Host")
				}
			},
		},
		{
			name: "fc post base64 body and escaped path", serve: ServeFCHTTPEvent, file: "fc-http-post-base64.json",
			check: func(t *testing.T, e echo) {
				eq(t, "body", e.BodyBase64, base64.StdEncoding.EncodeToString(binaryBody))
				if e.ContentLength != int64(len(binaryBody)) {
					t.Errorf("contentLength: got %d, want %d", e.ContentLength, len(binaryBody))
				}
				eq(t, "path", e.Path, "/callback/events/dingtalk")
				eq(t, "escapedPath", e.EscapedPath, "/callback/events%2Fdingtalk")
				eq(t, "nonce", first(e.Query["nonce"]), "a b+c&d=e")
				eq(t, "requestURI", e.RequestURI, "/callback/events%2Fdingtalk?nonce=a+b%2Bc%26d%3De&timestamp=1795939200123")
				eq(t, "user agent from requestContext", e.Header["User-Agent"], "DingTalk-Callback")
			},
		},
		{
			name: "fc minimal event with absent pointer fields", serve: ServeFCHTTPEvent, file: "fc-http-minimal.json",
			check: func(t *testing.T, e echo) {
				eq(t, "method", e.Method, "POST")
				eq(t, "path", e.Path, "/send")
				eq(t, "body", e.Body, `{"msg":"你好"}`)
				eq(t, "rawQuery", e.RawQuery, "")
				eq(t, "requestID", e.RequestID, "")
				eq(t, "sourceIP", e.SourceIP, "")
			},
		},
		{
			name: "fc request id from the invocation wins", serve: ServeFCHTTPEvent, file: "fc-http-get.json",
			ctx: fccontext.NewContext(context.Background(), &fccontext.FcContext{RequestID: "fc-invoke-1"}),
			check: func(t *testing.T, e echo) {
				eq(t, "requestID", e.RequestID, "fc-invoke-1")
			},
		},
		{
			name: "lambda function url with repeated query, cookies and base64 body", serve: ServeLambdaHTTPEvent, file: "lambda-url-post.json",
			check: func(t *testing.T, e echo) {
				eq(t, "rawQuery", e.RawQuery, "to=user1&to=user2&q=a%20b%2Bc")
				if !reflect.DeepEqual(e.Query["to"], []string{"user1", "user2"}) {
					t.Errorf("query to: got %v, want both values from rawQueryString", e.Query["to"])
				}
				eq(t, "q", first(e.Query["q"]), "a b+c")
				eq(t, "body", e.Body, `{"userids":["user1"],"msg":"hi"}`)
				eq(t, "cookie", e.Header["Cookie"], "session=abc; theme=dark")
				eq(t, "authorization", e.Header["Authorization"], "Bearer not-a-real-key-0000000000")
				eq(t, "host", e.Host, "abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-southeast-1.on.aws")
				eq(t, "sourceIP (not X-Forwarded-For)", e.SourceIP, "203.0.113.40")
				eq(t, "requestID", e.RequestID, "0b4f2a3c-9d1e-4f5a-8b6c-7d8e9f0a1b2c")
			},
		},
		{
			name: "lambda http api on a named stage", serve: ServeLambdaHTTPEvent, file: "lambda-httpapi-stage.json",
			ctx: lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-invoke-1"}),
			check: func(t *testing.T, e echo) {
				eq(t, "path without stage", e.Path, "/callback")
				eq(t, "signature", first(e.Query["signature"]), "abc")
				eq(t, "body", e.Body, "{\"encrypt\":\"abc==\"}\n   ")
				eq(t, "requestID", e.RequestID, "aws-invoke-1")
				eq(t, "header", e.Header["X-Test-Signature"], "sig-httpapi")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			out, err := tt.serve(ctx, echoHandler(), readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
			resp, body := decodeResponse(t, out)
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("statusCode: got %d, want 202", resp.StatusCode)
			}
			eq(t, "content type", resp.Headers["Content-Type"], "application/json")
			eq(t, "repeated header", resp.Headers["Vary"], "Accept, Origin")
			if resp.IsBase64Encoded {
				t.Errorf("a UTF-8 JSON body came back base64-encoded")
			}
			tt.check(t, decodeEcho(t, body))
		})
	}
}

func TestHTTPEventPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, wantPath, wantURI string
	}{
		{"fc double slash is a path, not a host", `{"rawPath":"//evil.example/x","requestContext":{"http":{"method":"GET"}}}`, "//evil.example/x", "//evil.example/x"},
		{"fc path without leading slash", `{"rawPath":"x","requestContext":{"http":{"method":"GET"}}}`, "/x", "/x"},
		{"fc no path", `{"requestContext":{"http":{"method":"GET"}}}`, "/", "/"},
		{"lambda stage is a prefix of another segment", `{"version":"2.0","rawPath":"/production/x","requestContext":{"stage":"prod","http":{"method":"GET"}}}`, "/production/x", "/production/x"},
		{"lambda stage root", `{"version":"2.0","rawPath":"/prod","requestContext":{"stage":"prod","http":{"method":"GET"}}}`, "", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serve := ServeFCHTTPEvent
			if strings.HasPrefix(tt.name, "lambda") {
				serve = ServeLambdaHTTPEvent
			}
			out, err := serve(context.Background(), echoHandler(), []byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			_, body := decodeResponse(t, out)
			e := decodeEcho(t, body)
			if tt.wantPath != "" {
				eq(t, "path", e.Path, tt.wantPath)
			}
			eq(t, "requestURI", e.RequestURI, tt.wantURI)
			eq(t, "host", e.Host, "")
		})
	}
}

func TestBodylessAnswers(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(http.StatusNoContent)
		}
		_, _ = io.WriteString(w, "ignored body")
	})
	for _, ev := range []string{
		`{"rawPath":"/","requestContext":{"http":{"method":"HEAD"}}}`,
		`{"rawPath":"/204","requestContext":{"http":{"method":"POST"}}}`,
	} {
		out, err := ServeFCHTTPEvent(context.Background(), h, []byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := decodeResponse(t, out); len(body) != 0 {
			t.Errorf("%s: got status %d body %q, want no body", ev, resp.StatusCode, body)
		}
	}
}

func eq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestResponseShapes(t *testing.T) {
	t.Parallel()
	binary := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "x=1")
		_, _ = w.Write([]byte{0x00, 0xff, 0xfe, 0x01})
	})
	silent := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	text := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>hi</html>") })
	for _, p := range []struct {
		name  string
		serve func(context.Context, http.Handler, []byte) ([]byte, error)
		file  string
	}{
		{"fc", ServeFCHTTPEvent, "fc-http-get.json"},
		{"lambda", ServeLambdaHTTPEvent, "lambda-url-post.json"},
	} {
		t.Run(p.name+"/binary body is base64", func(t *testing.T) {
			out, err := p.serve(context.Background(), binary, readTestdata(t, p.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, body := decodeResponse(t, out)
			if !resp.IsBase64Encoded || !bytes.Equal(body, []byte{0x00, 0xff, 0xfe, 0x01}) {
				t.Errorf("got isBase64Encoded=%v body=%x, want true and 00fffe01", resp.IsBase64Encoded, body)
			}
			eq(t, "sniffed content type", resp.Headers["Content-Type"], "application/octet-stream")
			if p.name == "lambda" {
				if !reflect.DeepEqual(resp.Cookies, []string{"x=1"}) || resp.Headers["Set-Cookie"] != "" {
					t.Errorf("lambda Set-Cookie: got cookies %v and header %q, want cookies [x=1] and no header", resp.Cookies, resp.Headers["Set-Cookie"])
				}
			} else {
				eq(t, "fc Set-Cookie header", resp.Headers["Set-Cookie"], "x=1")
			}
		})
		t.Run(p.name+"/silent handler is 200 with empty body", func(t *testing.T) {
			out, err := p.serve(context.Background(), silent, readTestdata(t, p.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, body := decodeResponse(t, out)
			if resp.StatusCode != 200 || len(body) != 0 || resp.IsBase64Encoded {
				t.Errorf("got %d %q base64=%v, want 200 empty plain", resp.StatusCode, body, resp.IsBase64Encoded)
			}
			if p.name == "lambda" && !bytes.Contains(out, []byte(`"cookies":[]`)) {
				t.Errorf("lambda response should carry an empty cookies list, got %s", out)
			}
		})
		t.Run(p.name+"/content type sniffed like net/http", func(t *testing.T) {
			out, err := p.serve(context.Background(), text, readTestdata(t, p.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := decodeResponse(t, out)
			eq(t, "content type", resp.Headers["Content-Type"], "text/html; charset=utf-8")
		})
		t.Run(p.name+"/not implemented", func(t *testing.T) {
			out, err := p.serve(context.Background(), NotImplemented("directory sync"), readTestdata(t, p.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, body := decodeResponse(t, out)
			if resp.StatusCode != http.StatusNotImplemented {
				t.Errorf("status: got %d, want 501", resp.StatusCode)
			}
			var e httpapi.ErrorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("501 body is not JSON: %v: %s", err, body)
			}
			if e.Error != "not_implemented" || e.Missing != "directory sync" || !strings.Contains(e.Message, "directory sync") || e.RequestID == "" {
				t.Errorf("501 body: got %+v, want not_implemented naming directory sync with the request id", e)
			}
		})
	}
}

func TestPanicBecomes500WithoutLeakingSecrets(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("cannot refresh: GET /gettoken?appkey=k&appsecret=TOPSECRET1 failed")
	})
	out, err := ServeFCHTTPEvent(context.Background(), h, readTestdata(t, "fc-http-get.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := decodeResponse(t, out)
	if resp.StatusCode != 500 {
		t.Errorf("status: got %d, want 500", resp.StatusCode)
	}
	var e httpapi.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error != "internal_error" || e.RequestID != "1-6745a1b2-0123456789abcdef01234567" {
		t.Errorf("500 body: got %s (%v), want internal_error with the request id", body, err)
	}
	if strings.Contains(logs.String()+string(out), "TOPSECRET1") {
		t.Errorf("secret leaked:\nlogs: %s\nresponse: %s", logs.String(), out)
	}
	if !strings.Contains(logs.String(), "handler panic") || !strings.Contains(logs.String(), "appsecret=REDACTED") {
		t.Errorf("panic not logged with the secret redacted: %s", logs.String())
	}
}

func TestBadHTTPEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		serve  func(context.Context, http.Handler, []byte) ([]byte, error)
		event  string
		reason string
	}{
		{"fc empty", ServeFCHTTPEvent, "", "not an HTTP trigger event"},
		{"fc not json", ServeFCHTTPEvent, "hello", "not an HTTP trigger event"},
		{"fc timer event to an http function", ServeFCHTTPEvent, string(readTestdata(t, "fc-timer.json")), "no requestContext.http.method"},
		{"fc bad base64", ServeFCHTTPEvent, `{"rawPath":"/","body":"***","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`, "not base64"},
		{"fc timeEpoch as number", ServeFCHTTPEvent, `{"rawPath":"/","requestContext":{"http":{"method":"GET"},"timeEpoch":1}}`, "not an HTTP trigger event"},
		{"lambda payload 1.0", ServeLambdaHTTPEvent, string(readTestdata(t, "apigw-v1.json")), "payload format 1.0"},
		{"lambda scheduled event to an http function", ServeLambdaHTTPEvent, string(readTestdata(t, "eventbridge-scheduled.json")), "no requestContext.http.method"},
		{"lambda bad base64", ServeLambdaHTTPEvent, `{"version":"2.0","rawPath":"/","body":"@@","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}}}`, "not base64"},
		{"lambda timeEpoch as string", ServeLambdaHTTPEvent, `{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"},"timeEpoch":"1"}}`, "not a Function URL"},
	}
	called := false
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.serve(context.Background(), h, []byte(tt.event))
			var ee *EventError
			if !errors.As(err, &ee) {
				t.Fatalf("got %s, %v; want an *EventError", out, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
		})
	}
	if called {
		t.Errorf("the handler ran for an invalid event")
	}
}

// TestTestdataMatchesSDKStructs round-trips every recorded event through the
// SDK struct it claims to be, so a misspelt field in a fixture (FC's
// queryParameters vs Lambda's queryStringParameters) cannot go unnoticed.
func TestTestdataMatchesSDKStructs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		into any
	}{
		{"fc-http-get.json", &fcevents.HTTPTriggerEvent{}},
		{"fc-http-post-base64.json", &fcevents.HTTPTriggerEvent{}},
		{"fc-http-minimal.json", &fcevents.HTTPTriggerEvent{}},
		{"fc-timer.json", &fcevents.TimerEvent{}},
		{"lambda-url-post.json", &lambdaevents.APIGatewayV2HTTPRequest{}},
		{"lambda-httpapi-stage.json", &lambdaevents.APIGatewayV2HTTPRequest{}},
		{"eventbridge-scheduled.json", &lambdaevents.EventBridgeEvent{}},
		{"apigw-v1.json", &lambdaevents.APIGatewayProxyRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readTestdata(t, tt.file)
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.into); err != nil {
				t.Fatalf("does not decode strictly into %T: %v", tt.into, err)
			}
			again, err := json.Marshal(tt.into)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal(raw, &want)
			_ = json.Unmarshal(again, &got)
			if path, ok := subset(want, got, ""); !ok {
				t.Errorf("%s lost or changed in the round trip through %T", path, tt.into)
			}
		})
	}
}

// subset reports whether every value in want is in got, naming the first
// that is not.
func subset(want, got any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range w {
			if p, ok := subset(v, g[k], path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, false
		}
		for i := range w {
			if p, ok := subset(w[i], g[i], path+"[]"); !ok {
				return p, false
			}
		}
		return "", true
	default:
		if got == nil && (want == nil || want == false || want == "") {
			return "", true // omitempty in the SDK struct
		}
		if !reflect.DeepEqual(want, got) {
			return path, false
		}
		return "", true
	}
}
