// Package bundle assembles the dependencies the four functions share (store,
// DingTalk client, token provider) from a validated configuration, once per
// process, and exposes each function's platform-neutral entry point.
//
// functions/*/main.go and `dingfn dev` are wiring over this package, so a
// deployed function and the local all-in-one process are built the same way.
package bundle

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/backend"
	"github.com/dingfn/dingfn/shared/store/otsstore"
	"github.com/dingfn/dingfn/shared/token"
)

// Bundle holds one process's shared dependencies.
type Bundle struct {
	Config *config.Config
	Store  store.Store
	// Client is the DingTalk client of the app; its tokens come from Tokens.
	Client *dingtalk.Client
	// Tokens is the store-backed token and ticket cache of the app.
	Tokens *token.Provider
	// Events is the event log, the callback's dispatcher and the drain.
	Events *events.Service
	Logger *slog.Logger

	crypto    *dingcrypto.Crypto
	refresher *token.Refresher
}

// Option configures Open.
type Option func(*options)

type options struct {
	handlers func(*events.Mux)
}

// WithEventHandlers registers your own event handlers (package handlers)
// on the event log's Mux. The callback and sync functions both pass it,
// so the drain runs the handlers the callback runs.
func WithEventHandlers(register func(*events.Mux)) Option {
	return func(o *options) { o.handlers = register }
}

// Open builds the bundle for cfg, logging to logger. It does no network I/O
// beyond what opening the store needs, so cold starts stay short.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts ...Option) (_ *Bundle, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	st, err := backend.Open(ctx, backend.Spec{
		Kind:            string(cfg.Store.Kind),
		Path:            cfg.Store.Path,
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
	})
	if err != nil {
		return nil, fmt.Errorf("bundle: open store: %w", err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	common := []dingtalk.Option{
		dingtalk.WithBaseURLs(cfg.OAPIURL, cfg.APIURL),
		dingtalk.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		dingtalk.WithLogger(logger),
	}
	// The provider's upstream client never uses a token source; the app's
	// client takes the provider, so every call shares one cached token.
	upstream, err := dingtalk.NewClient(cfg.AppKey, cfg.AppSecret, common...)
	if err != nil {
		return nil, fmt.Errorf("bundle: dingtalk client: %w", err)
	}
	tokens, err := token.New(cfg.AppKey, st, token.FromClient(upstream), token.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("bundle: token provider: %w", err)
	}
	client, err := dingtalk.NewClient(cfg.AppKey, cfg.AppSecret, append(common, dingtalk.WithTokenSource(tokens))...)
	if err != nil {
		return nil, fmt.Errorf("bundle: dingtalk client: %w", err)
	}
	b := &Bundle{Config: cfg, Store: st, Client: client, Tokens: tokens, Logger: logger}
	if b.refresher, err = token.NewRefresher([]*token.Provider{tokens}); err != nil {
		return nil, fmt.Errorf("bundle: token refresher: %w", err)
	}
	b.Events, err = events.Build(events.Deps{Store: st, Client: client, Logger: logger, Register: o.handlers}, events.Config{
		Retention: cfg.EventRetention, MaxAttempts: cfg.EventMaxAttempts,
		Forward: cfg.ForwardRules, ForwardSecret: cfg.ForwardSecret,
		DrainAtOnce: cfg.Function == config.Dev,
	})
	if err != nil {
		return nil, fmt.Errorf("bundle: events: %w", err)
	}
	if cfg.CallbackToken != "" && cfg.CallbackAESKey != "" {
		if b.crypto, err = dingcrypto.New(cfg.CallbackToken, cfg.CallbackAESKey, cfg.CallbackOwnerKey); err != nil {
			return nil, fmt.Errorf("bundle: callback crypto: %w", err)
		}
	}
	return b, nil
}

// storeCredentials signs each Tablestore request with the role's current
// credentials when the platform has them (role is platform.RoleCredentials:
// all three values of one rotation at once), and with the configured ones
// otherwise (before FC's first invocation, on Lambda, locally).
func storeCredentials(st config.Store, role func() (platform.Credentials, bool)) otsstore.CredentialsFunc {
	static := otsstore.Credentials{AccessKeyID: st.AccessKeyID, AccessKeySecret: st.AccessKeySecret, SecurityToken: st.SecurityToken}
	return func() otsstore.Credentials {
		if c, ok := role(); ok {
			return otsstore.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
		}
		return static
	}
}

// MustOpen loads fn's configuration from the environment and opens the
// bundle, or logs one clear error and exits 1: a function that cannot start
// must fail its deployment, not its first request.
func MustOpen(fn config.Function, opts ...Option) *Bundle {
	logger := platform.Logger(string(fn))
	cfg, err := config.Load(fn, os.Getenv)
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, logger, opts...)
	if err != nil {
		logger.Error("cannot start", "err", err)
		os.Exit(1)
	}
	logger.Info("started", "config", cfg)
	return b
}

// Close releases the store.
func (b *Bundle) Close() error { return b.Store.Close() }

// CallbackHandler is the callback function: DingTalk's encrypted event push,
// logged and processed by the event log. Without callback settings
// (possible only outside the callback function, whose configuration
// requires them) it answers 501 naming them.
func (b *Bundle) CallbackHandler() http.Handler {
	if b.crypto == nil {
		return platform.NotImplemented("callback without DINGTALK_CALLBACK_TOKEN and DINGTALK_CALLBACK_AES_KEY")
	}
	return callback.NewHandler(b.crypto, b.Events, callback.WithLogger(b.Logger), callback.WithMaxClockSkew(b.Config.CallbackMaxSkew))
}

// NotifyHandler is the notify function's HTTP API. Every request is
// authenticated first against NOTIFY_API_KEYS (401 without a valid key,
// nobody when none is configured); until the API lands, an authenticated
// request gets 501, so anonymous callers learn nothing about it.
func (b *Bundle) NotifyHandler() http.Handler {
	return b.Config.NotifyKeys.Require(platform.NotImplemented("notify (the work-notice and group-robot API)"))
}

// SyncTick is one run of the sync function. Until the directory mirror
// lands it fails with platform.ErrNotImplemented, never a fake success.
func (b *Bundle) SyncTick(ctx context.Context) (any, error) {
	return platform.NotImplementedTimer("sync (the directory mirror)")(ctx)
}

// RefreshTick is one run of the token-refresher function.
func (b *Bundle) RefreshTick(ctx context.Context) (any, error) {
	return b.refresher.Tick(ctx)
}
