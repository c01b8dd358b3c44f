package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// Made-up credentials for these tests only.
const (
	testToken = "cbTokenForTests"
	testKey   = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus" // the official Go demo's sample key
	testOwner = "dingTestAppKey0001"
	otherKey  = "1234567890123456789012345678901234567890123"
)

func newCrypto(t testing.TB, token, key, owner string) *dingcrypto.Crypto {
	t.Helper()
	c, err := dingcrypto.New(token, key, owner)
	if err != nil {
		t.Fatalf("dingcrypto.New: %v", err)
	}
	return c
}

// recorder is a Dispatcher that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []*Event
	err    error
}

func (r *recorder) Dispatch(_ context.Context, ev *Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return r.err
}

func (r *recorder) got() []*Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Event(nil), r.events...)
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type fixture struct {
	crypto  *dingcrypto.Crypto
	disp    *recorder
	logs    *logBuffer
	handler http.Handler
}

// mustHandler is NewHandler for tests, which pass valid arguments.
func mustHandler(t testing.TB, c *dingcrypto.Crypto, d Dispatcher, opts ...Option) http.Handler {
	t.Helper()
	h, err := NewHandler(c, d, opts...)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

func setup(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{crypto: newCrypto(t, testToken, testKey, testOwner), disp: &recorder{}, logs: &logBuffer{}}
	logger := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.handler = mustHandler(t, f.crypto, f.disp, append([]Option{WithLogger(logger)}, opts...)...)
	return f
}

// spelling picks the query parameter names, DingTalk uses both.
type spelling struct{ sig, ts string }

var (
	newSpelling = spelling{"msg_signature", "timestamp"}
	oldSpelling = spelling{"signature", "timeStamp"}
)

// push builds the request DingTalk would send for event, encrypted by c.
func push(t testing.TB, c *dingcrypto.Crypto, event string, sp spelling) *http.Request {
	t.Helper()
	env, err := c.Encrypt([]byte(event))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{sp.sig: {env.MsgSignature}, sp.ts: {env.TimeStamp}, "nonce": {env.Nonce}}
	body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
	r := httptest.NewRequest(http.MethodPost, "/callback?"+q.Encode(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// assertSuccess checks the reply is exactly what DingTalk expects: 200,
// JSON, four string keys, and an encrypt that decrypts to "success" for
// the owner key.
func assertSuccess(t *testing.T, c *dingcrypto.Crypto, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var keys map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &keys); err != nil {
		t.Fatalf("reply is not JSON: %v", err)
	}
	for _, k := range []string{"msg_signature", "timeStamp", "nonce", "encrypt"} {
		if _, ok := keys[k].(string); !ok {
			t.Errorf("reply key %q = %v, want a string", k, keys[k])
		}
	}
	if len(keys) != 4 {
		t.Errorf("reply has keys %v, want exactly four", keys)
	}
	var env dingcrypto.Envelope
	_ = json.Unmarshal(w.Body.Bytes(), &env)
	msg, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt)
	if err != nil || string(msg) != "success" {
		t.Errorf("reply decrypts to %q, %v; want success", msg, err)
	}
}

func TestURLChecks(t *testing.T) {
	t.Parallel()
	for _, ev := range []string{
		`{"EventType":"check_url"}`,
		`{"eventType":"check_url"}`,
		`{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}`,
		`{"EventType":"check_update_suite_url","Random":"x"}`,
	} {
		for _, sp := range []spelling{newSpelling, oldSpelling} {
			t.Run(ev+"/"+sp.sig, func(t *testing.T) {
				f := setup(t)
				assertSuccess(t, f.crypto, serve(f.handler, push(t, f.crypto, ev, sp)))
				if got := f.disp.got(); len(got) != 0 {
					t.Errorf("URL check was dispatched: %+v", got[0])
				}
			})
		}
	}
}

// TestRecordedPayloads pushes every payload under testdata/events and
// checks what reaches the dispatcher.
func TestRecordedPayloads(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		typ, corp, id string
		time          time.Time
		dispatched    bool
	}{
		"check_url.json":                 {typ: "check_url"},
		"check_create_suite_url.json":    {typ: "check_create_suite_url"},
		"register_user_add_org.json":     {"user_add_org", "ding0123456789abcdef", "", time.UnixMilli(1700000000123), true},
		"register_org_dept_modify.json":  {"org_dept_modify", "ding0123456789abcdef", "", time.UnixMilli(1700000000123), true},
		"console_user_modify_org.json":   {"user_modify_org", "ding0123456789abcdef", "6a3f0c2b9f1e4d7c8b5a", time.UnixMilli(1700000000456), true},
		"console_label_user_change.json": {"label_user_change", "ding0123456789abcdef", "e-label-1", time.UnixMilli(1700000000789), true},
		"bpms_instance_change.json":      {"bpms_instance_change", "ding0123456789abcdef", "", time.Time{}, true},
		"suite_ticket.json":              {"suite_ticket", "", "", time.Unix(1700000000, 0), true},
		"org_remove.json":                {"org_remove", "ding0123456789abcdef", "e-org-rm", time.UnixMilli(1700000000000), true},
	}
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) != len(want) {
		t.Fatalf("testdata/events has %d files (%v), want %d", len(files), err, len(want))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			w, ok := want[filepath.Base(file)]
			if !ok {
				t.Fatalf("no expectation for %s", file)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f := setup(t)
			assertSuccess(t, f.crypto, serve(f.handler, push(t, f.crypto, string(raw), newSpelling)))
			got := f.disp.got()
			if !w.dispatched {
				if len(got) != 0 {
					t.Fatalf("dispatched %d events, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("dispatched %d events, want 1", len(got))
			}
			ev := got[0]
			if ev.Type != w.typ || ev.CorpID != w.corp || ev.EventID != w.id || !ev.Time.Equal(w.time) {
				t.Errorf("event = {%q %q %q %v}, want {%q %q %q %v}", ev.Type, ev.CorpID, ev.EventID, ev.Time, w.typ, w.corp, w.id, w.time)
			}
			if !bytes.Equal(bytes.TrimSpace(ev.Raw), bytes.TrimSpace(raw)) {
				t.Errorf("Raw = %s, want the decrypted payload %s", ev.Raw, raw)
			}
		})
	}
}

func TestDispatchFailureIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.disp.err = errors.New("store unavailable")
	w := serve(f.handler, push(t, f.crypto, `{"EventType":"user_add_org","CorpId":"ding1","UserId":["u1"]}`, newSpelling))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	assertErrorBody(t, w, codeDispatchFailed)
	if len(f.disp.got()) != 1 {
		t.Error("event was not offered to the dispatcher")
	}
	if !strings.Contains(f.logs.String(), "store unavailable") {
		t.Errorf("log does not say why: %s", f.logs)
	}
}

func assertErrorBody(t *testing.T, w *httptest.ResponseRecorder, code string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct{ Error, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", w.Body, err)
	}
	if body.Error != code || body.Message == "" {
		t.Errorf("error body = %+v, want code %q with a message", body, code)
	}
	if strings.Contains(w.Body.String(), "success") {
		t.Errorf("error body mentions success: %s", w.Body)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	good := newCrypto(t, testToken, testKey, testOwner)
	otherOwner := newCrypto(t, testToken, testKey, "dingSomeOtherApp")
	otherToken := newCrypto(t, "anotherToken", testKey, testOwner)
	otherAES := newCrypto(t, testToken, otherKey, testOwner)
	const event = `{"EventType":"user_add_org","CorpId":"ding1","UserId":["u1"]}`

	// withQuery rewrites a good push's query.
	withQuery := func(edit func(q url.Values)) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := push(t, good, event, newSpelling)
			q := r.URL.Query()
			edit(q)
			r.URL.RawQuery = q.Encode()
			return r
		}
	}
	// withBody keeps a good push's query and replaces its body.
	withBody := func(body string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := push(t, good, event, newSpelling)
			return httptest.NewRequest(http.MethodPost, r.URL.String(), strings.NewReader(body))
		}
	}
	// signedBody signs an arbitrary encrypt value correctly, so the
	// request gets past the signature check.
	signedBody := func(encrypt string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			q := url.Values{"msg_signature": {dingcrypto.Sign(testToken, "1700000000000", "n0nce", encrypt)}, "timestamp": {"1700000000000"}, "nonce": {"n0nce"}}
			b, _ := json.Marshal(map[string]string{"encrypt": encrypt})
			return httptest.NewRequest(http.MethodPost, "/callback?"+q.Encode(), bytes.NewReader(b))
		}
	}
	method := func(m string) func(t *testing.T) *http.Request {
		return func(t *testing.T) *http.Request {
			r := push(t, good, event, newSpelling)
			r.Method = m
			return r
		}
	}

	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		code   string
	}{
		{"GET", method(http.MethodGet), 405, codeMethod},
		{"PUT", method(http.MethodPut), 405, codeMethod},
		{"HEAD", method(http.MethodHead), 405, codeMethod},
		{"no signature", withQuery(func(q url.Values) { q.Del("msg_signature") }), 400, codeMissingParameter},
		{"empty signature", withQuery(func(q url.Values) { q.Set("msg_signature", "") }), 400, codeMissingParameter},
		{"no timestamp", withQuery(func(q url.Values) { q.Del("timestamp") }), 400, codeMissingParameter},
		{"no nonce", withQuery(func(q url.Values) { q.Del("nonce") }), 400, codeMissingParameter},
		{"empty body", withBody(""), 400, codeMalformedBody},
		{"not JSON", withBody("encrypt=abc"), 400, codeMalformedBody},
		{"JSON array", withBody(`["abc"]`), 400, codeMalformedBody},
		{"encrypt not a string", withBody(`{"encrypt":42}`), 400, codeMalformedBody},
		{"no encrypt", withBody(`{"message":"hi"}`), 400, codeMissingEncrypt},
		{"null body", withBody(`null`), 400, codeMissingEncrypt},
		{"tampered signature", withQuery(func(q url.Values) { q.Set("msg_signature", strings.Repeat("a", 40)) }), 401, codeBadSignature},
		{"tampered timestamp", withQuery(func(q url.Values) { q.Set("timestamp", "1") }), 401, codeBadSignature},
		{"other token", func(t *testing.T) *http.Request { return push(t, otherToken, event, newSpelling) }, 401, codeBadSignature},
		{"other owner key", func(t *testing.T) *http.Request { return push(t, otherOwner, event, oldSpelling) }, 403, codeReceiverMismatch},
		{"other AES key", func(t *testing.T) *http.Request { return push(t, otherAES, event, newSpelling) }, 400, codeBadPlaintext},
		{"not base64", signedBody("%%%%"), 400, codeBadCiphertext},
		{"ciphertext not whole blocks", signedBody("AAAAAAAA"), 400, codeBadCiphertext},
		{"payload not JSON", func(t *testing.T) *http.Request { return push(t, good, "success", newSpelling) }, 400, codeMalformedEvent},
		{"payload without EventType", func(t *testing.T) *http.Request { return push(t, good, `{"CorpId":"ding1"}`, newSpelling) }, 400, codeMalformedEvent},
		{"EventType not a string", func(t *testing.T) *http.Request { return push(t, good, `{"EventType":7}`, newSpelling) }, 400, codeMalformedEvent},
		{"body over the limit", withBody(`{"encrypt":"` + strings.Repeat("A", 2<<10) + `"}`), 413, codeTooLarge},
		{"chunked body over the limit", func(t *testing.T) *http.Request {
			r := withBody(`{"encrypt":"` + strings.Repeat("A", 2<<10) + `"}`)(t)
			r.ContentLength = -1
			r.Body = io.NopCloser(r.Body) // hide the length, as a chunked request does
			return r
		}, 413, codeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, WithMaxBody(1<<10))
			w := serve(f.handler, tt.req(t))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			assertErrorBody(t, w, tt.code)
			if tt.status == 405 && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
			if got := f.disp.got(); len(got) != 0 {
				t.Errorf("bad request dispatched %+v", got[0])
			}
			logs := f.logs.String()
			if !strings.Contains(logs, `"level":"WARN"`) || !strings.Contains(logs, `"code":"`+tt.code+`"`) {
				t.Errorf("no warn log naming %s: %s", tt.code, logs)
			}
			for _, secret := range []string{testToken, testKey, otherKey} {
				if strings.Contains(logs, secret) {
					t.Errorf("log leaks a secret: %s", logs)
				}
			}
		})
	}
}

func TestBodyLimitDefault(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// A real push just under the default limit is accepted…
	big := `{"EventType":"user_add_org","CorpId":"ding1","Pad":"` + strings.Repeat("x", 700<<10) + `"}`
	assertSuccess(t, f.crypto, serve(f.handler, push(t, f.crypto, big, newSpelling)))
	// …and one over it is not.
	huge := `{"EventType":"user_add_org","CorpId":"ding1","Pad":"` + strings.Repeat("x", 800<<10) + `"}`
	if w := serve(f.handler, push(t, f.crypto, huge, newSpelling)); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", w.Code)
	}
	if n := len(f.disp.got()); n != 1 {
		t.Errorf("dispatched %d events, want 1", n)
	}
}

func TestMaxClockSkew(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tt := range []struct {
		name   string
		clock  time.Time
		status int
	}{
		{"fresh", now, 200},
		{"a minute late", now.Add(time.Minute), 200},
		{"an hour late", now.Add(time.Hour), 401},
		{"an hour early", now.Add(-time.Hour), 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, WithMaxClockSkew(5*time.Minute), WithClock(func() time.Time { return tt.clock }))
			w := serve(f.handler, push(t, f.crypto, `{"EventType":"org_change","CorpId":"ding1"}`, newSpelling))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.status != 200 {
				assertErrorBody(t, w, codeExpired)
				if len(f.disp.got()) != 0 {
					t.Error("stale push dispatched")
				}
			}
		})
	}
}

func TestLogDispatcherLogsNoPayload(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	d := LogDispatcher(slog.New(slog.NewJSONHandler(&logs, nil)))
	ev, err := ParseEvent([]byte(`{"EventType":"user_modify_org","CorpId":"dingCorp42","eventId":"e1","diffInfo":{"curr":{"name":"张三","telephone":"13800000000"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Dispatch(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"user_modify_org", "dingCorp42", "e1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
	for _, leak := range []string{"张三", "13800000000", "diffInfo"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks payload %q: %s", leak, out)
		}
	}
}

func TestNewHandlerRejectsNil(t *testing.T) {
	t.Parallel()
	if h, err := NewHandler(nil, nil); err == nil || h != nil {
		t.Errorf("NewHandler(nil, nil): got %v, %v; want an error", h, err)
	}
}

// Invalid options fail the construction with an error naming the option;
// valid ones are accepted.
func TestNewHandlerOptions(t *testing.T) {
	t.Parallel()
	c := newCrypto(t, testToken, testKey, testOwner)
	tests := []struct {
		name string
		opt  Option
		want string // "" means valid
	}{
		{"nil logger", WithLogger(nil), "WithLogger"},
		{"zero body limit", WithMaxBody(0), "WithMaxBody"},
		{"negative body limit", WithMaxBody(-1), "WithMaxBody"},
		{"nil clock", WithClock(nil), "WithClock"},
		{"body limit", WithMaxBody(1), ""},
		{"skew check off", WithMaxClockSkew(0), ""},
		{"clock", WithClock(time.Now), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(c, &recorder{}, tt.opt)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || h != nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, %v; want an error naming %s", h, err, tt.want)
			}
		})
	}
}

// TestOfficialPushes replays every published push in dingcrypto's copy of
// the reference vectors (kept in step with the reference there) under both
// query spellings: events are acknowledged, the bare "success" payload is
// not an event.
func TestOfficialPushes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../dingcrypto/testdata/crypto-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors struct {
		Pushes []struct {
			ID, Token, Receiver, Timestamp, Nonce, Encrypt string
			AESKey                                         string `json:"aes_key"`
			MsgSignature                                   string `json:"msg_signature"`
			ExpectedMsg                                    string `json:"expected_msg"`
		} `json:"callback_decrypt_ok"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil || len(vectors.Pushes) == 0 {
		t.Fatalf("vectors: %v (%d pushes)", err, len(vectors.Pushes))
	}
	for _, v := range vectors.Pushes {
		for _, sp := range []spelling{newSpelling, oldSpelling} {
			t.Run(v.ID+"/"+sp.sig, func(t *testing.T) {
				c := newCrypto(t, v.Token, v.AESKey, v.Receiver)
				q := url.Values{sp.sig: {v.MsgSignature}, sp.ts: {v.Timestamp}, "nonce": {v.Nonce}}
				body, _ := json.Marshal(map[string]string{"encrypt": v.Encrypt})
				disp := &recorder{}
				// The handler's clock reads the push's own time: the
				// published pushes are years old, and the timestamp window
				// is on by default.
				sent, err := dingcrypto.ParseTimestamp(v.Timestamp)
				if err != nil {
					t.Fatal(err)
				}
				h := mustHandler(t, c, disp, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithClock(func() time.Time { return sent }))
				w := serve(h, httptest.NewRequest(http.MethodPost, "/?"+q.Encode(), bytes.NewReader(body)))
				ev, err := ParseEvent([]byte(v.ExpectedMsg))
				if err != nil {
					if w.Code != http.StatusBadRequest {
						t.Fatalf("non-event payload answered %d, want 400", w.Code)
					}
					assertErrorBody(t, w, codeMalformedEvent)
					return
				}
				assertSuccess(t, c, w)
				if n := len(disp.got()); IsCheck(ev.Type) && n != 0 || !IsCheck(ev.Type) && n != 1 {
					t.Errorf("%s dispatched %d times", ev.Type, n)
				}
			})
		}
	}
}

// TestMaxClockSkewDefault: the window is on unless turned off, and reads
// timestamps in seconds and in milliseconds.
func TestMaxClockSkewDefault(t *testing.T) {
	t.Parallel()
	const event = `{"EventType":"org_change","CorpId":"ding1"}`
	sentAt := time.Unix(1772442000, 0)
	for _, tt := range []struct {
		name   string
		ts     string
		clock  time.Time
		opts   []Option
		status int
	}{
		{"seconds, DingTalk's last retry", "1772442000", sentAt.Add(40 * time.Second), nil, 200},
		{"milliseconds, DingTalk's last retry", "1772442000000", sentAt.Add(40 * time.Second), nil, 200},
		{"seconds, six minutes late", "1772442000", sentAt.Add(6 * time.Minute), nil, 401},
		{"milliseconds, six minutes early", "1772442000000", sentAt.Add(-6 * time.Minute), nil, 401},
		{"window off", "1772442000", sentAt.Add(24 * time.Hour), []Option{WithMaxClockSkew(0)}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, append([]Option{WithClock(func() time.Time { return tt.clock })}, tt.opts...)...)
			env, err := f.crypto.Encrypt([]byte(event))
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"msg_signature": {dingcrypto.Sign(testToken, tt.ts, env.Nonce, env.Encrypt)}, "timestamp": {tt.ts}, "nonce": {env.Nonce}}
			body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
			w := serve(f.handler, httptest.NewRequest(http.MethodPost, "/callback?"+q.Encode(), bytes.NewReader(body)))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if n := len(f.disp.got()); (tt.status == 200) != (n == 1) {
				t.Errorf("dispatched %d events", n)
			}
		})
	}
}
