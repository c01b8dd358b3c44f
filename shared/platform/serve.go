package platform

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// Local server limits. They mirror the platforms (a 6 MB request body is
// Lambda's synchronous payload limit) so a handler that works locally does
// not fail on size alone once deployed, and keep slow clients from holding
// connections open.
const (
	localMaxBody           = 6 << 20
	localReadHeaderTimeout = 10 * time.Second
	localReadTimeout       = 60 * time.Second
	localWriteTimeout      = 90 * time.Second
	localIdleTimeout       = 120 * time.Second
	localShutdownTimeout   = 20 * time.Second
	// localMaxConns caps the connections served at once: one local
	// function is a development or a single-caller tool, and a flood of
	// connections should queue, not exhaust the process's file
	// descriptors. Connections beyond it wait in the kernel's backlog.
	localMaxConns = 128
	defaultPort   = "9000"
	// defaultHost keeps a local function to this machine: it holds real
	// credentials and, for notify, sends messages as the app. Listening
	// elsewhere is an explicit choice (DINGFN_HOST).
	defaultHost = "127.0.0.1"
)

// The local-mode listen address: DINGFN_HOST (default 127.0.0.1) and PORT
// (default 9000). Both are in shared/config's contract table.
const (
	envHost = "DINGFN_HOST"
	envPort = "PORT"
)

// ServeHTTP runs the HTTP function name with handler h on the runtime Detect
// picks: an FC HTTP trigger, a Lambda Function URL or HTTP API, or a local
// server answering every path on $DINGFN_HOST:$PORT (default
// 127.0.0.1:9000: loopback only unless DINGFN_HOST says otherwise, such as
// 0.0.0.0), serving at most 128 connections at once. It installs
// Logger(name) as the slog default, recovers handler panics as logged 500s
// and logs one line per request (method, path, status, duration; never
// headers, query or body).
//
// On the platforms it never returns. Locally it returns after SIGINT or
// SIGTERM once in-flight requests finished (at most 20 s; a second signal
// ends the process at once), so deferred cleanup in main runs. A fatal error (the port is taken, the runtime API
// is unreachable) is logged and the process exits with status 1.
func ServeHTTP(name string, h http.Handler) {
	logger := Logger(name)
	slog.SetDefault(logger)
	h = instrument(logger, h)
	switch rt := Detect(os.Getenv); {
	case rt == FC || rt == Lambda:
		serve := httpEventServer(rt)
		err := start(rt, func(ctx context.Context, event []byte) (json.RawMessage, error) {
			return platformHTTP(ctx, logger, serve, h, event)
		})
		logger.Error("cannot serve", slog.String("error", Redact(err.Error())))
		os.Exit(1)
	case localBuilt:
		ctx, stop := interruptContext()
		defer stop()
		if err := serveLocal(ctx, logger, h, os.Getenv(envHost), os.Getenv(envPort), localHooks{}); err != nil {
			logger.Error("local server failed", slog.String("error", Redact(err.Error())))
			os.Exit(1)
		}
	default:
		logger.Error("cannot serve", slog.String("error", errNoLocal(name).Error()))
		os.Exit(1)
	}
}

func platformHTTP(ctx context.Context, logger *slog.Logger, serve httpEventFunc, h http.Handler, event []byte) (json.RawMessage, error) {
	out, err := serve(ctx, h, event)
	if err != nil {
		ctx = withRequestInfo(ctx, platformInvocationID(ctx), "")
		logger.ErrorContext(ctx, "invalid invocation", slog.String("error", Redact(err.Error())))
		return nil, err
	}
	return out, nil
}

// localHooks let tests observe the local server: ready is told the bound
// address (tests listen on port 0), shuttingDown runs when the graceful
// shutdown begins, and maxConns replaces localMaxConns when positive.
type localHooks struct {
	ready        func(net.Addr)
	shuttingDown func()
	maxConns     int
}

// localRequest gives local requests what the platform adapters give theirs:
// a request id and the source IP in the context.
func localRequest(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := withRequestInfo(r.Context(), newLocalID(), hostOnly(r.RemoteAddr))
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// instrument logs each request (with the authenticated caller, when the
// handler authenticated one) and turns a handler panic into a 500.
func instrument(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				recovered(sw, r, v, !sw.wrote)
			}
			level := slog.LevelInfo
			switch {
			case sw.status == http.StatusNotImplemented:
				// A function deployed before its logic: known, not an
				// incident to page anyone about.
				level = slog.LevelWarn
			case sw.status >= 500:
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes),
				durationMS(start),
			}
			if sw.caller != "" {
				attrs = append(attrs, slog.String("caller", sw.caller))
			}
			logger.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		h.ServeHTTP(sw, r)
		if !sw.wrote {
			sw.status = http.StatusOK
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	bytes  int64
	caller string
}

// SetCaller records the authenticated caller for the request's log line
// (httpapi.Keys.Require calls it).
func (w *statusWriter) SetCaller(name string) { w.caller = name }

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
