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
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/schedule"
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
	sync      *schedule.Runner
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
	// The directory walk keeps three contact APIs in flight at once; the
	// default transport keeps only two idle connections per host, so every
	// round would close one and dial (and TLS-handshake) it again.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 8
	common := []dingtalk.Option{
		dingtalk.WithBaseURLs(cfg.OAPIURL, cfg.APIURL),
		dingtalk.WithHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: transport}),
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
	if b.sync, err = newSync(b); err != nil {
		return nil, fmt.Errorf("bundle: sync: %w", err)
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

// NotifyHandler is the notify function's HTTP API. Every request is
// authenticated first against NOTIFY_API_KEYS (401 without a valid key,
// nobody when none is configured); until the API lands, an authenticated
// request gets 501, so anonymous callers learn nothing about it.
func (b *Bundle) NotifyHandler() http.Handler {
	return b.Config.NotifyKeys.Require(platform.NotImplemented("notify (the work-notice and group-robot API)"))
}

// newSync builds the sync function's tick: a schedule runner whose steps
// are the directory walk (and the later features' periodic work).
func newSync(b *Bundle) (*schedule.Runner, error) {
	w, err := directory.NewWriter(b.Store, b.Client, directory.WithLogger(b.Logger))
	if err != nil {
		return nil, err
	}
	walk, err := directory.NewSyncer(w, directory.WithInterval(b.Config.SyncInterval), directory.WithMaxDelete(b.Config.SyncMaxDelete))
	if err != nil {
		return nil, err
	}
	return schedule.New(b.Store, []schedule.Step{walk.Step(false)}, schedule.WithLogger(b.Logger))
}

// SyncTick is one tick of the sync function: the steps that are due.
func (b *Bundle) SyncTick(ctx context.Context) (any, error) {
	return b.sync.Tick(ctx)
}

// RefreshTick is one run of the token-refresher function.
func (b *Bundle) RefreshTick(ctx context.Context) (any, error) {
	return b.refresher.Tick(ctx)
}
