package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type text struct {
	Content string `json:"content"`
}

type message struct {
	MsgType string `json:"msgtype"`
	Text    *text  `json:"text,omitempty"`
}

type base struct {
	AgentID int64 `json:"agent_id"`
}

type sendRequest struct {
	base
	UserIDs  []string          `json:"userids"`
	Msg      message           `json:"msg"`
	Items    []message         `json:"items"`
	Labels   map[string]int    `json:"labels"`
	Extra    map[string]any    `json:"extra"`
	Raw      json.RawMessage   `json:"raw"`
	At       time.Time         `json:"at"`
	Priority uint8             `json:"priority"`
	Ratio    float64           `json:"ratio"`
	Flag     bool              `json:"flag"`
	Nested   map[string]*text  `json:"nested"`
	Ignored  string            `json:"-"`
	Renamed  string            `json:"renamed_field"`
	ByName   string            //nolint: no tag, matched by name
	Opaque   map[string]string `json:"opaque"`
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		limit       int64
		wantStatus  int // 0: accepted
		wantField   string
		wantRule    string
		wantMessage string
	}{
		{name: "valid", body: `{"userids":["u1","u2"],"msg":{"msgtype":"text","text":{"content":"hi"}},"agent_id":7}`},
		{name: "valid with surrounding space", body: " \n{\"flag\":true}\n\t "},
		{name: "keys match case-insensitively as encoding/json does", body: `{"UserIDs":["u"],"byname":"x","Renamed_Field":"y"}`},
		{name: "anything inside an opaque value", body: `{"extra":{"a":{"b":[1,{"c":2}]}},"raw":{"z":1},"at":"2026-01-02T03:04:05Z"}`},
		{name: "exactly at the limit", body: `{"flag":true}`, limit: int64(len(`{"flag":true}`))},

		{name: "empty", body: "", wantStatus: 400, wantMessage: "body is empty"},
		{name: "only space", body: "  \n ", wantStatus: 400, wantMessage: "body is empty"},
		{name: "null", body: "null", wantStatus: 400, wantMessage: "body is null"},
		{name: "not json", body: "userids=u1", wantStatus: 400, wantMessage: "not valid JSON at byte 1"},
		{name: "truncated", body: `{"userids":["u1"`, wantStatus: 400, wantMessage: "ends before its JSON value is complete"},
		{name: "invalid utf-8", body: "{\"renamed_field\":\"\xff\"}", wantStatus: 400, wantMessage: "not valid UTF-8"},
		{name: "trailing object", body: `{"flag":true}{"flag":false}`, wantStatus: 400, wantMessage: "more data after its JSON value"},
		{name: "trailing garbage", body: `{"flag":true} x`, wantStatus: 400, wantMessage: "more data after its JSON value"},
		{name: "array instead of object", body: `[1,2]`, wantStatus: 400, wantMessage: "body must be an object, got array"},
		{name: "string instead of array", body: `{"userids":"u1"}`, wantStatus: 400, wantField: "userids", wantRule: RuleType,
			wantMessage: `field "userids": must be an array, got string`},
		{name: "number in a string array", body: `{"userids":["u1",2]}`, wantStatus: 400, wantField: "userids", wantRule: RuleType,
			wantMessage: `field "userids": each element must be a string, got number`},
		{name: "fraction for an integer", body: `{"agent_id":1.5}`, wantStatus: 400, wantField: "agent_id", wantRule: RuleType,
			wantMessage: `field "agent_id": must be an integer, got number 1.5`},
		{name: "negative for unsigned", body: `{"priority":-1}`, wantStatus: 400, wantField: "priority", wantRule: RuleType,
			wantMessage: "non-negative integer"},
		{name: "nested wrong type", body: `{"msg":{"text":{"content":3}}}`, wantStatus: 400, wantField: "msg.text.content", wantRule: RuleType,
			wantMessage: `field "msg.text.content": must be a string, got number`},
		{name: "wrong map value", body: `{"labels":{"a":"b"}}`, wantStatus: 400, wantField: "labels", wantRule: RuleType,
			wantMessage: `field "labels": each value must be an integer, got string`},
		{name: "bool as string", body: `{"flag":"true"}`, wantStatus: 400, wantField: "flag", wantRule: RuleType, wantMessage: "must be a boolean"},
		{name: "unknown top-level field", body: `{"userids":["u"],"usrids":["u"]}`, wantStatus: 400, wantField: "usrids", wantRule: RuleUnknownField,
			wantMessage: `field "usrids" is not known`},
		{name: "unknown nested field", body: `{"msg":{"msgtype":"text","text":{"contnet":"hi"}}}`, wantStatus: 400, wantField: "msg.text.contnet", wantRule: RuleUnknownField},
		{name: "unknown field in an array element", body: `{"items":[{"msgtype":"a"},{"msgtype":"b","bogus":1}]}`, wantStatus: 400, wantField: "items.bogus", wantRule: RuleUnknownField},
		{name: "unknown field in a map value", body: `{"nested":{"k":{"content":"x","x":1}}}`, wantStatus: 400, wantField: "nested.k.x", wantRule: RuleUnknownField},
		{name: "a json:\"-\" field is unknown", body: `{"Ignored":"x"}`, wantStatus: 400, wantField: "Ignored", wantRule: RuleUnknownField},
		{name: "time in the wrong format", body: `{"at":"yesterday"}`, wantStatus: 400, wantMessage: "body: "},

		{name: "over the limit", body: `{"renamed_field":"` + strings.Repeat("x", 100) + `"}`, limit: 64, wantStatus: 413, wantMessage: "exceeds 64 bytes"},
		{name: "one byte over the limit", body: `{"flag":true}`, limit: int64(len(`{"flag":true}`)) - 1, wantStatus: 413},
		{name: "trailing data past the limit", body: `{"flag":true}` + strings.Repeat(" ", 100), limit: 20, wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/send", strings.NewReader(tt.body))
			r = r.WithContext(WithRequestID(r.Context(), "req-7"))
			w := httptest.NewRecorder()
			var v sendRequest
			err := DecodeJSON(w, r, &v, tt.limit)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("got %v (%s), want it accepted", err, w.Body)
				}
				if w.Body.Len() != 0 {
					t.Errorf("accepted body must not be answered, got %s", w.Body)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if w.Code != tt.wantStatus || e.Status != tt.wantStatus {
				t.Errorf("status: got %d (error %d), want %d", w.Code, e.Status, tt.wantStatus)
			}
			var body ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("answer is not the JSON error body: %v: %s", err, w.Body)
			}
			wantCode := CodeInvalidBody
			if tt.wantStatus == 413 {
				wantCode = CodeBodyTooLarge
			}
			if body.Error != wantCode || body.RequestID != "req-7" || body.Field != tt.wantField || body.Rule != tt.wantRule {
				t.Errorf("body: got %+v, want code %s, field %q, rule %q", body, wantCode, tt.wantField, tt.wantRule)
			}
			if !strings.Contains(body.Message, tt.wantMessage) {
				t.Errorf("message: got %q, want it to contain %q", body.Message, tt.wantMessage)
			}
			if tt.wantField != "" && !strings.Contains(body.Message, fmt.Sprintf("%q", tt.wantField)) {
				t.Errorf("message %q does not name the field %q", body.Message, tt.wantField)
			}
		})
	}
}

func TestDecodeJSONContentLengthOverLimit(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.ContentLength = DefaultBodyLimit + 1 // declared, so refused before reading
	w := httptest.NewRecorder()
	var v sendRequest
	if err := DecodeJSON(w, r, &v, 0); err == nil || w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("got %v %d, want 413", err, w.Code)
	}
}

func TestDecodeJSONWiringMistake(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	var v sendRequest
	err := DecodeJSON(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`)), v, 0)
	if err == nil || w.Code != http.StatusInternalServerError {
		t.Errorf("non-pointer target: got %v %d, want a 500", err, w.Code)
	}
}

// encoding/json has no typed error for an unknown field, so DecodeJSON
// reads its text; this pins the text it relies on.
func TestUnknownFieldErrorText(t *testing.T) {
	t.Parallel()
	dec := json.NewDecoder(strings.NewReader(`{"bogus":1}`))
	dec.DisallowUnknownFields()
	var v struct{}
	err := dec.Decode(&v)
	if err == nil || err.Error() != unknownFieldPrefix+`"bogus"` {
		t.Fatalf("encoding/json's unknown-field error changed: %v", err)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"userids":["u1"],"msg":{"msgtype":"text","text":{"content":"hi"}}}`,
		`{"items":[{"bogus":1}]}`, `{"labels":{"a":"b"}}`, `null`, ``, `[`, `{"flag":true} 1`,
		`{"extra":{"x":[1,2,{"y":null}]}}`, "{\"renamed_field\":\"\xff\"}", `{"nested":{"a":{"content":1}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		w := httptest.NewRecorder()
		var v sendRequest
		err := DecodeJSON(w, r, &v, 4096)
		if err == nil {
			if w.Body.Len() != 0 {
				t.Fatalf("accepted, yet answered: %s", w.Body)
			}
			// Whatever was accepted is valid JSON that fits the type.
			if !json.Valid(body) {
				t.Fatalf("accepted invalid JSON %q", body)
			}
			return
		}
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		var e ErrorBody
		if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" || e.Message == "" {
			t.Fatalf("answer is not the error body: %s", w.Body)
		}
		if e.Field != "" && e.Rule == "" {
			t.Fatalf("a field comes with the rule it broke: %+v", e)
		}
	})
}

// errReader fails every read, as a body whose client went away.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestReadBody: a body over the limit is 413 whether or not its length was
// announced; a body that cannot be read is the read's error, not an API
// error; no body is empty.
func TestReadBody(t *testing.T) {
	for _, tt := range []struct {
		name      string
		body      string
		length    int64
		wantCode  string
		wantBody  string
		wantError bool
	}{
		{name: "within the limit", body: "0123456789", length: 10, wantBody: "0123456789"},
		{name: "announced over the limit", body: "x", length: 11, wantCode: CodeBodyTooLarge},
		{name: "chunked over the limit", body: strings.Repeat("x", 11), length: -1, wantCode: CodeBodyTooLarge},
		{name: "unreadable", length: -1, wantError: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.wantError {
				r.Body = readCloser{}
			}
			r.ContentLength = tt.length
			got, err := ReadBody(httptest.NewRecorder(), r, 10)
			var e *Error
			switch {
			case tt.wantCode != "":
				if !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge || e.Body.Error != tt.wantCode {
					t.Errorf("got %q, %v; want a 413 %s", got, err, tt.wantCode)
				}
			case tt.wantError:
				if err == nil || errors.As(err, &e) {
					t.Errorf("got %q, %v; want the read's error", got, err)
				}
			case err != nil || string(got) != tt.wantBody:
				t.Errorf("got %q, %v; want %q", got, err, tt.wantBody)
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Body = nil
	if got, err := ReadBody(httptest.NewRecorder(), r, 0); err != nil || len(got) != 0 {
		t.Errorf("no body: %q, %v", got, err)
	}
}

type readCloser struct{ errReader }

func (readCloser) Close() error { return nil }
