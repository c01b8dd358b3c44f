package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// errorBody is the JSON every error answer of the adapter carries; it is the
// shape dingfn's handlers use for their own 4xx and 5xx answers.
type errorBody struct {
	Error     string `json:"error"`
	Message   string `json:"message"`
	Missing   string `json:"missing,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func writeJSONError(w http.ResponseWriter, status int, code, message, requestID string) {
	writeJSON(w, status, errorBody{Error: code, Message: message, RequestID: requestID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal_error","message":"encoding failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// NotImplemented answers every request with HTTP 501 and a JSON body naming
// what is missing, {"error":"not_implemented","message":…,"missing":what},
// so a function deployed before its logic lands fails loudly and clearly
// instead of pretending to succeed.
func NotImplemented(what string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotImplemented, errorBody{
			Error:     "not_implemented",
			Message:   what + " is not implemented yet",
			Missing:   what,
			RequestID: RequestID(r.Context()),
		})
	})
}

// ErrNotImplemented is the error of a NotImplementedTimer tick.
var ErrNotImplemented = errors.New("not implemented yet")

// NotImplementedTimer is the timer counterpart of NotImplemented: every
// tick fails with an error wrapping ErrNotImplemented that names what.
func NotImplementedTimer(what string) TimerFunc {
	return func(context.Context) (any, error) {
		return nil, fmt.Errorf("%s: %w", what, ErrNotImplemented)
	}
}
