package functest

// The real functions/*/main.go binaries, run the way each platform runs them
// (fake FC runtime API, Lambda Runtime Interface Emulator) against the fake
// DingTalk server and the memory store. These prove the wiring starts and
// answers in the platform's shape; the functions' own packages test their
// logic.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/deploy"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	rt "github.com/dingfn/dingfn/shared/platform/runtimetest"
)

func TestMain(m *testing.M) { rt.Main(m) }

// The recorded platform events live with the platform package.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("not the expected JSON: %v\n%s", err, b)
	}
}

type invokeError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// decodeResponse reads an FC or Lambda HTTP response document.
func decodeResponse(t *testing.T, out []byte) (int, []byte) {
	t.Helper()
	var resp struct {
		StatusCode      int    `json:"statusCode"`
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	mustJSON(t, out, &resp)
	if resp.StatusCode == 0 {
		t.Fatalf("not an HTTP response document: %s", out)
	}
	if !resp.IsBase64Encoded {
		return resp.StatusCode, []byte(resp.Body)
	}
	b, err := base64.StdEncoding.DecodeString(resp.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return resp.StatusCode, b
}

const (
	fnCallbackToken = "dingfnplatformtesttoken"
	fnAESKey        = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // 43 letters and digits, test only
	fnNotifyKey     = "platform-test-notify-key-0123456789"
)

var functionBinaries = sync.OnceValues(func() (map[string]string, error) {
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "functions")); err != nil {
		return nil, fmt.Errorf("no functions/ directory: %w", err)
	}
	dir := filepath.Join(rt.TempRoot(), "functions")
	if err := rt.Build(root, dir, "./functions/..."); err != nil {
		return nil, err
	}
	bins := map[string]string{}
	for _, name := range []string{"callback", "notify", "sync", "token-refresher"} {
		bins[name] = filepath.Join(dir, name)
	}
	return bins, nil
})

func functionEnv(ding *dingtalktest.Server, extra ...string) []string {
	return rt.ChildEnv(append([]string{
		"DINGTALK_APP_KEY=" + ding.AppKey(),
		"DINGTALK_APP_SECRET=" + ding.AppSecret(),
		fmt.Sprintf("DINGTALK_AGENT_ID=%d", dingtalktest.DefaultAgentID),
		"DINGTALK_CORP_ID=" + dingtalktest.DefaultCorpID,
		"DINGTALK_CALLBACK_TOKEN=" + fnCallbackToken,
		"DINGTALK_CALLBACK_AES_KEY=" + fnAESKey,
		"DINGTALK_OAPI_URL=" + ding.URL,
		"DINGTALK_API_URL=" + ding.URL,
		"DINGFN_STORE=memory",
		"NOTIFY_API_KEYS=" + fnNotifyKey,
		"TABLESTORE_ENDPOINT=", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=",
	}, extra...)...)
}

// signedPush is a DingTalk check_url push as DingTalk would send it.
func signedPush(t *testing.T, ownerKey string) (url.Values, string, *dingcrypto.Crypto) {
	t.Helper()
	c, err := dingcrypto.New(fnCallbackToken, fnAESKey, ownerKey)
	if err != nil {
		t.Fatal(err)
	}
	env, err := c.Encrypt([]byte(`{"EventType":"check_url"}`))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"signature": {env.MsgSignature}, "timestamp": {env.TimeStamp}, "nonce": {env.Nonce}}
	body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
	return q, string(body), c
}

func fcEventFor(t *testing.T, method, path string, q url.Values, body string) []byte {
	t.Helper()
	var ev map[string]any
	mustJSON(t, readTestdata(t, "fc-http-get.json"), &ev)
	ev["rawPath"] = path
	ev["body"] = body
	params := map[string]string{}
	for k := range q {
		params[k] = q.Get(k)
	}
	ev["queryParameters"] = params
	ev["headers"] = map[string]string{"Content-Type": "application/json"}
	rc := ev["requestContext"].(map[string]any)
	h := rc["http"].(map[string]any)
	h["method"], h["path"] = method, path
	b, _ := json.Marshal(ev)
	return b
}

func lambdaEventFor(t *testing.T, method, path string, q url.Values, body string) []byte {
	t.Helper()
	var ev map[string]any
	mustJSON(t, readTestdata(t, "lambda-url-post.json"), &ev)
	ev["rawPath"] = path
	ev["rawQueryString"] = q.Encode()
	delete(ev, "queryStringParameters")
	delete(ev, "cookies")
	ev["body"], ev["isBase64Encoded"] = body, false
	ev["headers"] = map[string]string{"content-type": "application/json", "host": "example.lambda-url.ap-southeast-1.on.aws"}
	rc := ev["requestContext"].(map[string]any)
	h := rc["http"].(map[string]any)
	h["method"], h["path"] = method, path
	b, _ := json.Marshal(ev)
	return b
}

// checkCallbackReply asserts a 200 whose body is DingTalk's encrypted
// "success".
func checkCallbackReply(t *testing.T, out []byte, c *dingcrypto.Crypto) {
	t.Helper()
	status, body := decodeResponse(t, out)
	if status != http.StatusOK {
		t.Fatalf("signed check_url push: got %d %s, want 200", status, body)
	}
	var env dingcrypto.Envelope
	mustJSON(t, body, &env)
	plain, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt)
	if err != nil || string(plain) != "success" {
		t.Errorf("reply: got %q, %v; want the encrypted success", plain, err)
	}
}

// checkJSONError asserts a 4xx or 5xx answer with a JSON {"error": …} body.
func checkJSONError(t *testing.T, what string, out []byte) int {
	t.Helper()
	status, body := decodeResponse(t, out)
	var e map[string]any
	if status < 400 || json.Unmarshal(body, &e) != nil || e["error"] == nil {
		t.Errorf("%s: got %d %s, want an error status with a JSON error body", what, status, body)
	}
	return status
}

// checkTimerResult accepts a JSON report or a platform error naming its
// type; it fails on anything else.
func checkTimerResult(t *testing.T, what string, isError bool, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Fatalf("%s: result is not JSON: %s", what, out)
	}
	if isError {
		var ie invokeError
		mustJSON(t, out, &ie)
		if ie.Message == "" || ie.Type == "" {
			t.Errorf("%s: error without errorMessage/errorType: %s", what, out)
		}
		t.Logf("%s: tick failed: %s: %s", what, ie.Type, ie.Message)
	}
}

func isInvokeError(out []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(out, &m) != nil {
		return false
	}
	_, ok := m["errorMessage"]
	return ok && len(m) <= 3
}

func TestRealFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the four real function binaries; skipped in -short")
	}
	t.Parallel()
	bins, err := functionBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ding := dingtalktest.NewServer()
	t.Cleanup(ding.Close)

	t.Run("callback", func(t *testing.T) {
		t.Parallel()
		fake := rt.NewFakeFC(t)
		p := rt.Start(t, functionEnv(ding, fake.Env()), bins["callback"])
		q, body, c := signedPush(t, ding.AppKey())
		_, res := fake.Invoke(t, p, fcEventFor(t, http.MethodPost, "/", q, body))
		checkCallbackReply(t, res.Body, c)
		_, res = fake.Invoke(t, p, fcEventFor(t, http.MethodPost, "/", nil, body))
		if code := checkJSONError(t, "fc unsigned push", res.Body); code >= 500 {
			t.Errorf("unsigned push: got %d, want a 4xx", code)
		}

		r := rt.StartRIE(t, bins["callback"], functionEnv(ding))
		q, body, c = signedPush(t, ding.AppKey())
		checkCallbackReply(t, r.Invoke(t, lambdaEventFor(t, http.MethodPost, "/", q, body)), c)
		if code := checkJSONError(t, "lambda unsigned push", r.Invoke(t, lambdaEventFor(t, http.MethodPost, "/", nil, body))); code >= 500 {
			t.Errorf("unsigned push: got %d, want a 4xx", code)
		}
		p.Stop()
		r.Proc.Stop()
		for _, logs := range []string{p.Stderr.String(), r.Proc.Stderr.String()} {
			if strings.Contains(logs, ding.AppSecret()) || strings.Contains(logs, fnAESKey) || strings.Contains(logs, fnCallbackToken) {
				t.Errorf("a secret is in the callback logs:\n%s", logs)
			}
		}
	})

	t.Run("notify", func(t *testing.T) {
		t.Parallel()
		fake := rt.NewFakeFC(t)
		p := rt.Start(t, functionEnv(ding, fake.Env()), bins["notify"])
		_, res := fake.Invoke(t, p, fcEventFor(t, http.MethodPost, "/send", nil, `{}`))
		t.Logf("fc notify without a key: %d", checkJSONError(t, "fc notify without a key", res.Body))

		r := rt.StartRIE(t, bins["notify"], functionEnv(ding))
		out := r.Invoke(t, lambdaEventFor(t, http.MethodPost, "/send", nil, `{}`))
		t.Logf("lambda notify without a key: %d", checkJSONError(t, "lambda notify without a key", out))
	})

	for _, name := range []string{"token-refresher", "sync"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := rt.NewFakeFC(t)
			p := rt.Start(t, functionEnv(ding, fake.Env()), bins[name])
			_, res := fake.Invoke(t, p, readTestdata(t, "fc-timer.json"))
			checkTimerResult(t, "fc "+name, res.Kind == "error", res.Body)
			if res.Kind != "response" {
				t.Errorf("%s against the fake DingTalk failed on FC: %s", name, res.Body)
			}

			r := rt.StartRIE(t, bins[name], functionEnv(ding))
			out := r.Invoke(t, readTestdata(t, "eventbridge-scheduled.json"))
			checkTimerResult(t, "lambda "+name, isInvokeError(out), out)
			if isInvokeError(out) {
				t.Errorf("%s against the fake DingTalk failed on Lambda: %s", name, out)
			}
			if name == "sync" && !strings.Contains(string(out), `"complete":true`) {
				t.Errorf("sync on Lambda did not complete a walk of the fake organisation: %s", out)
			}
			p.Stop()
			r.Proc.Stop()
			for _, logs := range []string{p.Stderr.String() + p.Stdout.String(), r.Proc.Stderr.String() + r.Proc.Stdout.String()} {
				if strings.Contains(logs, ding.AppSecret()) {
					t.Errorf("the app secret is in the %s logs:\n%s", name, logs)
				}
			}
		})
	}
}

// platformBinaries builds the callback and the token-refresher as the
// Makefile builds the FC artifacts (shared/deploy), for this machine's
// architecture.
var platformBinaries = sync.OnceValues(func() (map[string]string, error) {
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(rt.TempRoot(), "fc") + string(filepath.Separator)
	b := deploy.FC.GoBuildArch(runtime.GOARCH, dir, deploy.DefaultStores(), "./functions/callback", "./functions/token-refresher")
	cmd := exec.Command(rt.GoTool(), b.Args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), b.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(b.Args, " "), err, out)
	}
	return map[string]string{"callback": filepath.Join(dir, "callback"), "token-refresher": filepath.Join(dir, "token-refresher")}, nil
})

// TestPlatformBuilds runs the FC artifacts: they serve on FC with the
// stores they link, and stop at once, saying why, with a store or a
// runtime their build left out.
func TestPlatformBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the FC artifacts; skipped in -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the artifacts are linux executables")
	}
	t.Parallel()
	bins, err := platformBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ding := dingtalktest.NewServer()
	t.Cleanup(ding.Close)

	t.Run("serves on FC", func(t *testing.T) {
		fake := rt.NewFakeFC(t)
		p := rt.Start(t, functionEnv(ding, fake.Env()), bins["callback"])
		q, body, c := signedPush(t, ding.AppKey())
		_, res := fake.Invoke(t, p, fcEventFor(t, http.MethodPost, "/", q, body))
		checkCallbackReply(t, res.Body, c)
	})
	for _, c := range []struct {
		name, bin string
		env       []string
		want      []string
	}{
		{"a store the build left out", "callback", []string{"FC_RUNTIME_API=127.0.0.1:1", "DINGFN_STORE=redis://127.0.0.1:1/0"},
			[]string{"DINGFN_STORE", "selects the redis store", "dingfn.redis", "tablestore, memory"}},
		{"the local default store", "callback", []string{"FC_RUNTIME_API=127.0.0.1:1", "DINGFN_STORE="},
			[]string{"DINGFN_STORE", "bolt:.dingfn/dingfn.db", "TABLESTORE_ENDPOINT"}},
		{"under Lambda", "callback", []string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:1"},
			[]string{"built for the other platform", "dingfn.fc", "lambda"}},
		{"locally", "token-refresher", nil,
			[]string{"dingfn.fc", "go run ./functions/token-refresher"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := rt.Start(t, functionEnv(ding, c.env...), bins[c.bin])
			if code := p.Wait(t, 30*time.Second); code != 1 {
				t.Fatalf("exit code %d, want 1\nstderr:\n%s", code, p.Stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(p.Stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, p.Stderr)
				}
			}
		})
	}
}
