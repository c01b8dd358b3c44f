package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// ErrorBody is the JSON every error answer of dingfn carries: the platform
// adapter's own, NotImplemented's and the handlers' 4xx and 5xx answers, so
// a client parses one shape whichever layer refused it. Error, Message and
// (when known) RequestID are always there; the other fields say more where
// a client can act on it and are left out otherwise.
type ErrorBody struct {
	// Error is a stable snake_case code clients branch on.
	Error string `json:"error"`
	// Message says, in English, what is wrong and what to fix.
	Message string `json:"message"`
	// Field names the request field at fault, as a dotted JSON path
	// ("msg.text.content").
	Field string `json:"field,omitempty"`
	// Rule names the validation rule the field broke ("required",
	// "max_length").
	Rule string `json:"rule,omitempty"`
	// Missing names what a not-yet-built function lacks (HTTP 501).
	Missing string `json:"missing,omitempty"`
	// DingTalkErrCode and DingTalkCode carry DingTalk's own error code
	// when DingTalk refused the call: errcode of the old API, code of the
	// new one.
	DingTalkErrCode int    `json:"dingtalk_errcode,omitempty"`
	DingTalkCode    string `json:"dingtalk_code,omitempty"`
	// RequestID finds the request's log lines; WriteErrorBody fills it
	// from the request's context. It comes last, as it always has.
	RequestID string `json:"request_id,omitempty"`
}

// Error is a failed API request as a Go error: the status and the body it
// is answered with. DecodeJSON and IdempotencyKey return one.
type Error struct {
	Status int
	Body   ErrorBody
}

// Error says the status, the code and the message.
func (e *Error) Error() string {
	return fmt.Sprintf("http %d %s: %s", e.Status, e.Body.Error, e.Body.Message)
}

// Write answers r with the error.
func (e *Error) Write(w http.ResponseWriter, r *http.Request) {
	WriteErrorBody(w, r, e.Status, e.Body)
}

// WriteError answers r with status and dingfn's JSON error body,
// {"error":code,"message":message,"request_id":…}: code is a stable
// snake_case name clients branch on, message says what to fix, and the
// request id (RequestID of r's context, left out when there is none) finds
// the request's log lines.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	WriteErrorBody(w, r, status, ErrorBody{Error: code, Message: message})
}

// WriteErrorBody answers r with status and body, filling the body's
// request id from r's context when it has none.
func WriteErrorBody(w http.ResponseWriter, r *http.Request, status int, body ErrorBody) {
	if body.RequestID == "" {
		body.RequestID = RequestID(r.Context())
	}
	WriteJSON(w, status, body)
}

// WriteJSON answers with status and v encoded as JSON (Content-Type
// application/json, which is UTF-8 by definition and takes no charset, and
// an exact Content-Length). v must be a value encoding/json can encode;
// if it is not, the answer is a 500 internal_error body instead.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":"internal_error","message":"response encoding failed"}`), http.StatusInternalServerError
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id id. The platform
// adapter sets it on every request and tick: the platform's invocation id
// on Function Compute and Lambda, a random one locally.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
