// Package bundle opens what every dingfn function shares — the store, the
// process's one DingTalk client, the store-backed token provider and the
// logger — from a validated configuration, and runs a function's main.
//
// It builds nothing a single function needs: each function's own parts
// (the callback handler, the token refresher, the sync tick, the notify
// API) are built by constructors in their feature packages, from the
// Bundle's fields, when that function starts. shared/functions holds one
// builder per function; functions/*/main.go hand it to ServeHTTP or
// RunTimer, and `dingfn dev` calls the same builders on one Bundle.
package bundle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/backend"
	"github.com/dingfn/dingfn/shared/token"
)

// Bundle holds one process's shared dependencies. Its fields are set by
// Open and read by the feature constructors; none is nil.
type Bundle struct {
	// Config is the validated configuration of the function (or of
	// `dingfn dev`, the union of all four).
	Config *config.Config
	// Store is the configured backend: Tablestore, Redis, bbolt or memory.
	Store store.Store
	// Client is the process's one DingTalk client of the app. Its access
	// tokens come from Tokens, which fetches them through this same client,
	// so every call shares one set of rate limiters and one cached token.
	Client *dingtalk.Client
	// Tokens is the store-backed token and ticket cache of the app, shared
	// with every other function and deployment (see shared/token).
	Tokens *token.Provider
	// Logger is the process's logger; feature constructors pass it on.
	Logger *slog.Logger
	// Now is the process's clock (time.Now unless WithClock): the store's
	// expiry, the token cache and every feature the builders make read
	// it, so a test drives a whole function's time with one clock.
	Now func() time.Time
}

// Option changes how Open builds a Bundle.
type Option func(*options)

type options struct{ now func() time.Time }

// WithClock makes now the clock of the store, the token cache and every
// feature built on the Bundle, instead of time.Now: tests (the reliability
// suite) move a whole function's time — leases, back-offs, token expiry —
// without waiting. A nil now keeps time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// dingtalkTimeout bounds one DingTalk HTTP attempt: a function answers
// within seconds, and the client retries what may be retried.
const dingtalkTimeout = 10 * time.Second

// startTimeout bounds opening the bundle and building a function at start.
const startTimeout = 30 * time.Second

// Open builds the bundle for cfg, logging to logger (nil discards). It does
// no network I/O beyond what opening the store needs, so cold starts stay
// short. Close releases what it opened.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts ...Option) (_ *Bundle, err error) {
	if cfg == nil {
		return nil, errors.New("bundle: nil configuration")
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	spec := backend.Spec{
		Kind:            string(cfg.Store.Kind),
		Path:            cfg.Store.Path,
		URL:             cfg.Store.URL,
		Password:        cfg.Store.RedisPassword,
		Endpoint:        cfg.Store.Endpoint,
		Instance:        cfg.Store.Instance,
		AccessKeyID:     cfg.Store.AccessKeyID,
		AccessKeySecret: cfg.Store.AccessKeySecret,
		SecurityToken:   cfg.Store.SecurityToken,
		// Read per request: on Function Compute the role's STS
		// credentials rotate while the instance lives.
		Credentials: storeCredentials(cfg.Store, platform.RoleCredentials),
		TablePrefix: cfg.Store.TablePrefix,
		// One token cache per app across every deployment on the instance,
		// whatever their prefixes (issue: tickets overwritten between
		// environments).
		SharedTables: []string{token.DefaultTable},
		Logger:       logger,
		Clock:        o.now,
	}
	st, err := backend.Open(ctx, spec)
	if err != nil {
		// Name the variable to fix; spec prints without secrets.
		return nil, fmt.Errorf("bundle: open the store DINGFN_STORE selects, %v: %w", spec, err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	// The directory walk keeps three contact APIs in flight at once; the
	// default transport keeps only two idle connections per host, so every
	// round would close one and dial (and TLS-handshake) it again.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 8
	var tokens *token.Provider
	// notify's limits hold across instances: its work-notice calls at a
	// share of the app's QPS, its robots counted in the store.
	notifyOpts := notify.ClientOptions(cfg.Function == config.Notify)
	client, err := dingtalk.NewClient(cfg.AppKey, cfg.AppSecret, append(notifyOpts,
		dingtalk.WithBaseURLs(cfg.OAPIURL, cfg.APIURL),
		dingtalk.WithHTTPClient(&http.Client{Timeout: dingtalkTimeout, Transport: transport}),
		dingtalk.WithLogger(logger),
		// The provider fetches tokens through the client it serves: token
		// fetches carry no token, so one client is enough.
		dingtalk.WithTokenSourceFrom(func(c *dingtalk.Client) (dingtalk.TokenSource, error) {
			p, err := token.New(cfg.AppKey, st, token.FromClient(c), token.WithLogger(logger), token.WithClock(o.now))
			if err != nil {
				return nil, err
			}
			tokens = p
			return p, nil
		}),
	)...)
	if err != nil {
		return nil, fmt.Errorf("bundle: dingtalk client: %w", err)
	}
	return &Bundle{Config: cfg, Store: st, Client: client, Tokens: tokens, Logger: logger, Now: o.now}, nil
}

// storeCredentials signs each Tablestore request with the role's current
// credentials when the platform has them (role is platform.RoleCredentials:
// all three values of one rotation at once), and with the configured ones
// otherwise (before FC's first invocation, on Lambda, locally).
func storeCredentials(st config.Store, role func() (platform.Credentials, bool)) backend.CredentialsFunc {
	static := backend.Credentials{AccessKeyID: st.AccessKeyID, AccessKeySecret: st.AccessKeySecret, SecurityToken: st.SecurityToken}
	return func() backend.Credentials {
		if c, ok := role(); ok {
			return backend.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
		}
		return static
	}
}

// Close releases the store.
func (b *Bundle) Close() error { return b.Store.Close() }

// ServeHTTP is the main of the HTTP function fn: it loads fn's
// configuration from the environment, opens the bundle, builds the
// function's handler with build and serves it with platform.ServeHTTP. A
// failure at any of these steps ends the process (see exit). Where
// platform.ServeHTTP returns (local mode, after an interrupt), the store is
// closed.
func ServeHTTP(fn config.Function, build func(*Bundle) (http.Handler, error)) {
	b, h := mustStart(fn, build)
	defer b.Close()
	platform.ServeHTTP(string(fn), h)
}

// RunTimer is the main of the timer function fn: as ServeHTTP, with the
// tick build returns run by platform.RunTimer.
func RunTimer(fn config.Function, build func(*Bundle) (platform.TimerFunc, error)) {
	_, tick := mustStart(fn, build)
	// platform.RunTimer ends the process itself; the store needs no
	// closing for that (bbolt's lock goes with the process).
	platform.RunTimer(string(fn), tick)
}

// mustStart is start for a function's main: from the environment, with
// the function's logger, exiting on failure.
func mustStart[T any](fn config.Function, build func(*Bundle) (T, error)) (*Bundle, T) {
	logger := platform.Logger(string(fn))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	b, v, err := start(ctx, fn, os.Getenv, logger, build)
	if err != nil {
		exit(logger, err)
	}
	logger.Info("started", "config", b.Config)
	return b, v
}

// start loads fn's configuration through getenv, opens its bundle and
// builds its entry point. On failure it releases what it opened.
func start[T any](ctx context.Context, fn config.Function, getenv func(string) string, logger *slog.Logger, build func(*Bundle) (T, error)) (*Bundle, T, error) {
	var zero T
	cfg, err := config.Load(fn, getenv)
	if err != nil {
		return nil, zero, err
	}
	b, err := Open(ctx, cfg, logger)
	if err != nil {
		return nil, zero, err
	}
	v, err := build(b)
	if err != nil {
		return nil, zero, errors.Join(fmt.Errorf("bundle: build %s: %w", fn, err), b.Close())
	}
	return b, v, nil
}

// exit is the one place a function gives up at start: it logs why and
// exits 1, so a function that cannot start fails its deployment rather
// than its first request.
func exit(logger *slog.Logger, err error) {
	msg := "cannot start"
	if _, ok := errors.AsType[*config.Error](err); ok {
		msg = "invalid configuration"
	}
	logger.Error(msg, slog.String("err", platform.Redact(err.Error())))
	os.Exit(1)
}
