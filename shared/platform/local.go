//go:build !(dingfn.fc || dingfn.lambda)

package platform

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/netutil"
)

// localBuilt says this build has local mode: a build for neither
// platform, such as go run. Local mode's code is in this file, so a
// platform build links none of it (nor flag, os/signal and netutil).
const localBuilt = true

// interruptContext is cancelled by the first SIGINT or SIGTERM. The
// signals are caught only until then: a second one ends the process the
// default way, so an operator is never stuck behind a slow shutdown.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// serveLocal serves h on host:port (defaults 127.0.0.1 and 9000) until ctx
// ends, then shuts down gracefully.
func serveLocal(ctx context.Context, logger *slog.Logger, h http.Handler, host, port string, hooks localHooks) error {
	host, port = strings.TrimSpace(host), strings.TrimSpace(port)
	if host == "" {
		host = defaultHost
	}
	if port == "" {
		port = defaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("PORT must be a port number 0-65535, got %q", port)
	}
	addr := net.JoinHostPort(host, port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (DINGFN_HOST, PORT): %w", addr, err)
	}
	maxConns := localMaxConns
	if hooks.maxConns > 0 {
		maxConns = hooks.maxConns
	}
	ln = netutil.LimitListener(ln, maxConns)
	srv := &http.Server{
		Handler:           localRequest(http.MaxBytesHandler(h, localMaxBody)),
		ReadHeaderTimeout: localReadHeaderTimeout,
		ReadTimeout:       localReadTimeout,
		WriteTimeout:      localWriteTimeout,
		IdleTimeout:       localIdleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", slog.String("addr", ln.Addr().String()), slog.Int("max_connections", maxConns))
	if hooks.shuttingDown != nil {
		srv.RegisterOnShutdown(hooks.shuttingDown)
	}
	if hooks.ready != nil {
		hooks.ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), localShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// runLocalTimer is RunTimer's local mode; it returns the exit status.
func runLocalTimer(ctx context.Context, name string, logger *slog.Logger, fn TimerFunc, args []string, stdout, stderr io.Writer) int {
	return runLocalTimerGrace(ctx, name, logger, fn, args, stdout, stderr, localTimerGrace)
}

// runLocalTimerGrace is runLocalTimer giving an interrupted tick grace to
// return.
func runLocalTimerGrace(ctx context.Context, name string, logger *slog.Logger, fn TimerFunc, args []string, stdout, stderr io.Writer, grace time.Duration) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	every := fs.Duration("every", 0, "tick now and then on this period (e.g. 10m) until interrupted; default: one tick")
	payload := fs.String("payload", "", "trigger payload handed to the function")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [-every D] [-payload S]\n\nRuns the %s timer once locally and prints its report as JSON.\n\n", name, name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", name, fs.Args())
		fs.Usage()
		return 2
	}
	if *every < 0 {
		fmt.Fprintf(stderr, "%s: -every must be positive, got %s\n", name, *every)
		return 2
	}
	once := func() error {
		// The tick's context is ctx's child, so an interrupt cancels it.
		tctx := withRequestInfo(ctx, newLocalID(), "")
		tctx = context.WithValue(tctx, triggerKey{}, Trigger{Source: SourceLocal, Time: time.Now().UTC(), Payload: *payload})
		b, err := awaitTick(ctx, logger, grace, func() (json.RawMessage, error) { return tick(tctx, logger, fn) })
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	if *every == 0 {
		if err := once(); err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", name, Redact(err.Error()))
			return 1
		}
		return 0
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		// A failed tick is already logged; keep ticking like a platform
		// timer would.
		if err := once(); errors.Is(err, errTickAbandoned) {
			fmt.Fprintf(stderr, "%s: %s\n", name, err)
			return 1
		}
		// An interrupt wins over a period that elapsed meanwhile (select
		// alone picks at random when both are ready), so no tick starts
		// after an interrupt was seen.
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		if ctx.Err() != nil {
			logger.Info("interrupted; stopping")
			return 0
		}
	}
}
