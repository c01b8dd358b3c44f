package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// NotImplemented answers every request with HTTP 501 and a JSON body naming
// what is missing, {"error":"not_implemented","message":…,"missing":what},
// so a function deployed before its logic lands fails loudly and clearly
// instead of pretending to succeed.
func NotImplemented(what string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusNotImplemented, errorBody{
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
