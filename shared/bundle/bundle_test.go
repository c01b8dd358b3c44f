package bundle

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store/backend"
	"github.com/dingfn/dingfn/shared/store/boltstore"
	"github.com/dingfn/dingfn/shared/token"
)

func TestStoreCredentials(t *testing.T) {
	t.Parallel()
	static := config.Store{AccessKeyID: "cfg-id", AccessKeySecret: "cfg-secret", SecurityToken: "cfg-sts"}
	var role *platform.Credentials
	creds := storeCredentials(static, func() (platform.Credentials, bool) {
		if role == nil {
			return platform.Credentials{}, false
		}
		return *role, true
	})
	if got, want := creds(), (backend.Credentials{AccessKeyID: "cfg-id", AccessKeySecret: "cfg-secret", SecurityToken: "cfg-sts"}); got != want {
		t.Errorf("without role credentials: got %v, want the configured ones", got)
	}
	role = &platform.Credentials{AccessKeyID: "role-id", AccessKeySecret: "role-secret", SecurityToken: "role-sts"}
	if got, want := creds(), (backend.Credentials{AccessKeyID: "role-id", AccessKeySecret: "role-secret", SecurityToken: "role-sts"}); got != want {
		t.Errorf("with role credentials: got %v, want the role's", got)
	}
}

// fakeEnv is a complete configuration against the fake DingTalk, for
// every function and `dingfn dev`, on storeSpec.
func fakeEnv(ding *dingtalktest.Server, storeSpec string) func(string) string {
	env := map[string]string{
		"DINGTALK_APP_KEY":          ding.AppKey(),
		"DINGTALK_APP_SECRET":       ding.AppSecret(),
		"DINGTALK_AGENT_ID":         strconv.FormatInt(ding.AgentID(), 10),
		"DINGTALK_CORP_ID":          ding.CorpID(),
		"DINGTALK_CALLBACK_TOKEN":   "bundleTestCallbackToken",
		"DINGTALK_CALLBACK_AES_KEY": strings.Repeat("k", 43),
		"DINGTALK_OAPI_URL":         ding.URL,
		"DINGTALK_API_URL":          ding.URL,
		"NOTIFY_API_KEYS":           "ops=bundle-test-notify-key-0123456789",
		"DINGFN_STORE":              storeSpec,
	}
	return func(k string) string { return env[k] }
}

// Every function's bundle opens from a memory-store configuration, with
// every shared part set and the client's tokens coming from the provider.
func TestOpenEveryFunction(t *testing.T) {
	t.Parallel()
	ding := dingtalktest.NewServer()
	t.Cleanup(ding.Close)
	for _, fn := range append(config.Functions(), config.Dev) {
		t.Run(string(fn), func(t *testing.T) {
			cfg, err := config.Load(fn, fakeEnv(ding, "memory"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Config != cfg || b.Store == nil || b.Client == nil || b.Tokens == nil || b.Logger == nil {
				t.Fatalf("got %+v, want every shared part set", b)
			}
			if b.Client.TokenSource() != dingtalk.TokenSource(b.Tokens) {
				t.Errorf("the client's token source is %v, want the bundle's provider", b.Client.TokenSource())
			}
		})
	}
}

// The one client takes its token from the store-backed provider, which
// fetched it through that same client: one token issued, stored where the
// other functions read it, and used by the call.
func TestOneClientSharesTheStoredToken(t *testing.T) {
	t.Parallel()
	ding := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	t.Cleanup(ding.Close)
	cfg, err := config.Load(config.Sync, fakeEnv(ding, "memory"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if _, err := b.Client.Contact.GetUser(ctx, "wangwu", ""); err != nil {
		t.Fatal(err)
	}
	if got := ding.TokenIssues(); got != 1 {
		t.Errorf("tokens issued: got %d, want 1", got)
	}
	if got := b.Tokens.Stats(); got.AccessTokenFetches != 1 {
		t.Errorf("provider fetches: got %+v, want one access-token fetch", got)
	}
	item, err := b.Store.Get(ctx, token.DefaultTable, "access_token/"+ding.AppKey())
	if err != nil {
		t.Fatalf("the token is not in the store: %v", err)
	}
	if !strings.Contains(string(item.Value), ding.AccessToken()) {
		t.Errorf("stored token row does not hold the token the call used")
	}
	var sent string
	for _, c := range ding.Calls() {
		if strings.Contains(c.API, "user/get") {
			sent = c.Query.Get("access_token")
		}
	}
	if sent != ding.AccessToken() {
		t.Errorf("the call carried %q, want the issued token", sent)
	}
}

// A start-up failure is an error naming its cause (the one exit is the
// caller's); a failed build releases the store it opened.
func TestStartFailures(t *testing.T) {
	t.Parallel()
	ding := dingtalktest.NewServer()
	t.Cleanup(ding.Close)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	ok := func(*Bundle) (int, error) { return 1, nil }

	// Invalid configuration: every missing variable named, nothing opened.
	_, _, err := start(ctx, config.Notify, func(string) string { return "" }, quiet, ok)
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "DINGTALK_APP_KEY") || !strings.Contains(err.Error(), "NOTIFY_API_KEYS") {
		t.Errorf("empty environment: got %v, want a *config.Error naming the variables", err)
	}

	// A builder's error names the function and closes the bolt file, so
	// the next opener does not wait for its lock.
	path := filepath.Join(t.TempDir(), "dingfn.db")
	boom := errors.New("boom")
	_, _, err = start(ctx, config.Sync, fakeEnv(ding, "bolt:"+path), quiet, func(*Bundle) (int, error) { return 0, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "sync") {
		t.Errorf("failing build: got %v, want boom naming sync", err)
	}
	st, err := boltstore.Open(path, boltstore.WithLockTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("the store is still locked after a failed start: %v", err)
	}
	st.Close()

	b, v, err := start(ctx, config.Sync, fakeEnv(ding, "bolt:"+path), quiet, ok)
	if err != nil || v != 1 || b == nil {
		t.Fatalf("good start: got %v, %v, %v", b, v, err)
	}
	b.Close()
}
