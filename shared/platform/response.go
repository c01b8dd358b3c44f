package platform

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// errorBody is the JSON every error answer of dingfn carries: the adapter's
// own, NotImplemented's and the handlers' 4xx and 5xx answers, so a client
// parses one shape whichever layer refused it.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Missing   string `json:"missing,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// WriteError answers r with status and dingfn's JSON error body,
// {"error":code,"message":message,"request_id":…}: code is a stable
// snake_case name clients branch on, message says what to fix, and the
// request id (RequestID of r's context, left out when there is none) finds
// the request's log lines.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	WriteJSON(w, status, errorBody{Error: code, Message: message, RequestID: RequestID(r.Context())})
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
