//go:build dingfn.fc || dingfn.lambda

package platform

import (
	"context"
	"io"
	"log/slog"
	"net/http"
)

// A platform build leaves local mode out: the local HTTP server and the
// local timer's flags and signal handling are of no use under FC or
// Lambda. ServeHTTP and RunTimer never call these stubs in such a build.
const localBuilt = false

func interruptContext() (context.Context, context.CancelFunc) { panic("platform: no local mode") }

func serveLocal(context.Context, *slog.Logger, http.Handler, string, string, localHooks) error {
	panic("platform: no local mode")
}

func runLocalTimer(context.Context, string, *slog.Logger, TimerFunc, []string, io.Writer, io.Writer) int {
	panic("platform: no local mode")
}
