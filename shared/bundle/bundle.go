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
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/notify"
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
	Logger *slog.Logger

	crypto    *dingcrypto.Crypto
	refresher *token.Refresher
	notify    *notify.Service
}

// Open builds the bundle for cfg, logging to logger. It does no network I/O
// beyond what opening the store needs, so cold starts stay short.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (_ *Bundle, err error) {
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
		// notify counts each robot's messages in the store, across every
		// instance; a per-process limit on top would only hold requests
		// the store has already let through.
		dingtalk.WithRobotRateLimit(rate.Inf, 0),
	}
	if cfg.Function == config.Notify {
		// DingTalk's per-app limit is shared by notify's instances (their
		// number is capped by the deploy descriptors).
		common = append(common, dingtalk.WithRateLimit(notify.InstanceRateLimit.Limit, notify.InstanceRateLimit.Burst))
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
	if b.notify, err = newNotify(b); err != nil {
		return nil, fmt.Errorf("bundle: notify: %w", err)
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
func MustOpen(fn config.Function) *Bundle {
	logger := platform.Logger(string(fn))
	cfg, err := config.Load(fn, os.Getenv)
	if err != nil {
		logger.Error("invalid configuration", "err", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		os.Exit(1)
	}
	logger.Info("started", "config", cfg)
	return b
}

// Close releases the store.
func (b *Bundle) Close() error { return b.Store.Close() }

// CallbackHandler is the callback function: DingTalk's encrypted event push.
// Without callback settings (possible only outside the callback function,
// whose configuration requires them) it answers 501 naming them.
func (b *Bundle) CallbackHandler() http.Handler {
	if b.crypto == nil {
		return platform.NotImplemented("callback without DINGTALK_CALLBACK_TOKEN and DINGTALK_CALLBACK_AES_KEY")
	}
	return callback.NewHandler(b.crypto, callback.LogDispatcher(b.Logger), callback.WithLogger(b.Logger))
}

// newNotify builds notify's service: work notices as the app's agent,
// the configured robots, and dd.config signing when the corp id is set.
func newNotify(b *Bundle) (*notify.Service, error) {
	cfg := b.Config
	opts := []notify.Option{notify.WithRobots(cfg.Robots), notify.WithLogger(b.Logger)}
	if cfg.CorpID != "" && cfg.AgentID > 0 {
		signer, err := token.NewJSAPISigner(b.Tokens, cfg.CorpID, strconv.FormatInt(cfg.AgentID, 10))
		if err != nil {
			return nil, err
		}
		opts = append(opts, notify.WithJSAPISigner(signer))
	}
	return notify.New(b.Store, b.Client, cfg.AgentID, opts...)
}

// Notify is notify's service, for callers in Go (the command line).
func (b *Bundle) Notify() *notify.Service { return b.notify }

// NotifyHandler is the notify function's HTTP API: every route but
// GET /v1/openapi.json needs one of NOTIFY_API_KEYS (401 otherwise,
// nobody when none is configured).
func (b *Bundle) NotifyHandler() http.Handler {
	return notify.Handler(b.notify, b.Config.NotifyKeys)
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
