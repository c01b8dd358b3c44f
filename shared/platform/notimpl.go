package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dingfn/dingfn/shared/httpapi"
)

// NotImplemented answers every request with HTTP 501 and a JSON body naming
// what is missing, {"error":"not_implemented","message":…,"missing":what},
// so a function deployed before its logic lands fails loudly and clearly
// instead of pretending to succeed. The adapter logs these answers at warn
// level: an unbuilt function is known, not an incident. Put it behind the
// function's authentication (httpapi.Keys.Require) so that anonymous
// callers learn nothing beyond 401.
func NotImplemented(what string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteErrorBody(w, r, http.StatusNotImplemented, httpapi.ErrorBody{
			Error:   "not_implemented",
			Message: what + " is not implemented yet",
			Missing: what,
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
