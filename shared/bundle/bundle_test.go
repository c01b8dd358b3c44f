package bundle

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/store/otsstore"
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
	if got, want := creds(), (otsstore.Credentials{AccessKeyID: "cfg-id", AccessKeySecret: "cfg-secret", SecurityToken: "cfg-sts"}); got != want {
		t.Errorf("without role credentials: got %v, want the configured ones", got)
	}
	role = &platform.Credentials{AccessKeyID: "role-id", AccessKeySecret: "role-secret", SecurityToken: "role-sts"}
	if got, want := creds(), (otsstore.Credentials{AccessKeyID: "role-id", AccessKeySecret: "role-secret", SecurityToken: "role-sts"}); got != want {
		t.Errorf("with role credentials: got %v, want the role's", got)
	}
}

// notify's keys are checked before anything else is answered: 401
// without a valid key, then the API's own answer (here a 400 for an
// empty notice).
func TestNotifyHandlerChecksKeysFirst(t *testing.T) {
	t.Parallel()
	const key = "bundle-test-notify-key-0123456789"
	env := map[string]string{
		"DINGTALK_APP_KEY": "dingbundletest", "DINGTALK_APP_SECRET": "bundle-test-secret", "DINGTALK_AGENT_ID": "1",
		"NOTIFY_API_KEYS": "ops=" + key, "DINGFN_STORE": "memory",
	}
	cfg, err := config.Load(config.Notify, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.NotifyHandler()
	for _, tt := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer " + strings.Repeat("x", len(key)), http.StatusUnauthorized},
		{"Bearer " + key, http.StatusBadRequest},
	} {
		r := httptest.NewRequest(http.MethodPost, "/v1/notices", strings.NewReader(`{}`))
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("Authorization %q: got %d, want %d", tt.auth, w.Code, tt.want)
		}
	}
}
