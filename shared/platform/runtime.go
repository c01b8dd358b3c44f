package platform

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/redact"
)

// Runtime names the environment a function binary runs in.
type Runtime string

// The runtimes a binary can find itself in.
const (
	FC     Runtime = "fc"
	Lambda Runtime = "lambda"
	Local  Runtime = "local"
)

// The environment variables each platform's runtime API client reads.
const (
	envFCRuntimeAPI     = "FC_RUNTIME_API"
	envLambdaRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"
)

// Detect picks the runtime from the environment: FC_RUNTIME_API wins over
// AWS_LAMBDA_RUNTIME_API, and neither means local mode. getenv is usually
// os.Getenv.
func Detect(getenv func(string) string) Runtime {
	switch {
	case getenv(envFCRuntimeAPI) != "":
		return FC
	case getenv(envLambdaRuntimeAPI) != "":
		return Lambda
	default:
		return Local
	}
}

// Logger returns the structured logger of function name: JSON on stderr on
// the platforms (their log services index JSON fields), text locally unless
// DINGFN_LOG_FORMAT=json; DINGFN_LOG_LEVEL sets the level. Records logged
// with a context carry the request id (see RequestID) as request_id and,
// in an authenticated request, the caller's name (httpapi.Caller) as
// caller.
func Logger(name string) *slog.Logger {
	return NewLogger(name, os.Getenv, os.Stderr)
}

// NewLogger is Logger reading its settings through getenv and writing to
// w, for processes that are not one function, such as `dingfn dev`.
func NewLogger(name string, getenv func(string) string, w io.Writer) *slog.Logger {
	return newLogger(name, getenv, w)
}

func newLogger(name string, getenv func(string) string, w io.Writer) *slog.Logger {
	rt := Detect(getenv)
	opts := &slog.HandlerOptions{Level: logLevel(getenv("DINGFN_LOG_LEVEL"))}
	var h slog.Handler
	format := strings.ToLower(strings.TrimSpace(getenv("DINGFN_LOG_FORMAT")))
	if format == "json" || (format != "text" && rt != Local) {
		opts.ReplaceAttr = utcTime
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(contextHandler{h}).With(slog.String("function", name), slog.String("runtime", string(rt)))
}

func logLevel(s string) slog.Level {
	if s == "" {
		// The usual case, without building UnmarshalText's error at
		// every cold start.
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// utcTime writes a record's time in UTC: the log services read the
// instant, and formatting it in the local zone would make every cold start
// load the zone (/etc/localtime) for its first line.
func utcTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
		a.Value = slog.TimeValue(a.Value.Time().UTC())
	}
	return a
}

// contextHandler adds the request id carried by the record's context, so
// every line of one invocation can be found together, and the
// authenticated caller's name, so a line says on whose behalf it was done.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
		if caller := httpapi.Caller(ctx); caller != "" {
			r.AddAttrs(slog.String("caller", caller))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// Redact hides token, ticket and secret values inside s (see
// redact.String, which keeps the words around them); the adapter applies
// it to every error text it logs or hands back to a platform, as a second
// line of defence behind the clients that should never put them there.
func Redact(s string) string {
	return redact.String(s)
}

// durationMS logs an elapsed time as milliseconds, the unit both platforms'
// own invocation reports use.
func durationMS(start time.Time) slog.Attr {
	return slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000)
}
