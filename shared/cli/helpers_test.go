package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/backend"
	"github.com/dingfn/dingfn/shared/store/tablestoretest"
	"github.com/dingfn/dingfn/shared/token"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// Made-up secrets of the right shape; not real ones.
const (
	testCallbackToken  = "clitesttoken42"
	testCallbackAESKey = "clitestencodingaeskey0123456789abcdefABCDEF"
)

// testNow is the clock of every run, so ages and expiries are golden.
var testNow = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// storeKind selects the store a harness runs the commands on.
type storeKind string

const (
	onEmulator storeKind = "tablestore"
	onBolt     storeKind = "bolt"
	onMemory   storeKind = "memory"
)

// harness runs the command line against the fake DingTalk (demo
// organisation) and a store, as an operator would, with the configuration
// in env.
type harness struct {
	t    *testing.T
	fake *dingtalktest.Server
	emu  *tablestoretest.Server
	env  map[string]string
	// interactive makes Stdin a terminal; stdin is what it reads.
	interactive bool
	// terminal makes Stdout a terminal.
	terminal bool
	stdin    string
	now      time.Time
	// receivers are the callback URLs served, replaced in golden files.
	receivers []string
}

// timestamps match the times the commands print: RFC 3339 in JSON and
// CSV, "2006-01-02 15:04:05 Z07:00" in tables.
var timestamps = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?( ?Z|[+-]\d{2}:\d{2})`)

// recentTimes replaces the times of the last hour, which the mirror's
// writers stamp with the machine's clock, with NOW; testNow's fixed times
// stay.
func recentTimes(s string) string {
	return timestamps.ReplaceAllStringFunc(s, func(m string) string {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 Z07:00"} {
			if t, err := time.Parse(layout, m); err == nil && time.Since(t).Abs() < time.Hour {
				return "NOW"
			}
		}
		return m
	})
}

// requestIDs match DingTalk's request ids, random per reply.
var requestIDs = regexp.MustCompile(`(request_id"?:? "?)[0-9a-f]+`)

func newHarness(t *testing.T, kind storeKind, opts ...dingtalktest.Option) *harness {
	t.Helper()
	fake := dingtalktest.NewServer(append([]dingtalktest.Option{dingtalktest.WithDemoOrg()}, opts...)...)
	t.Cleanup(fake.Close)
	h := &harness{t: t, fake: fake, now: testNow, env: map[string]string{
		"DINGTALK_APP_KEY":          fake.AppKey(),
		"DINGTALK_APP_SECRET":       fake.AppSecret(),
		"DINGTALK_AGENT_ID":         strconv.FormatInt(fake.AgentID(), 10),
		"DINGTALK_CORP_ID":          fake.CorpID(),
		"DINGTALK_CALLBACK_TOKEN":   testCallbackToken,
		"DINGTALK_CALLBACK_AES_KEY": testCallbackAESKey,
		"DINGTALK_OAPI_URL":         fake.URL,
		"DINGTALK_API_URL":          fake.URL,
	}}
	switch kind {
	case onEmulator:
		h.emu = tablestoretest.NewServer()
		t.Cleanup(h.emu.Close)
		for k, v := range map[string]string{
			"DINGFN_STORE": "tablestore", "TABLESTORE_ENDPOINT": h.emu.URL, "TABLESTORE_INSTANCE": "cli",
			"ALIBABA_CLOUD_ACCESS_KEY_ID": "test", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "test",
		} {
			h.env[k] = v
		}
	case onBolt:
		h.env["DINGFN_STORE"] = "bolt:" + filepath.Join(t.TempDir(), "dingfn.db")
	case onMemory:
		h.env["DINGFN_STORE"] = "memory"
	}
	return h
}

// result is one run's outcome.
type result struct {
	code           int
	stdout, stderr string
}

func (h *harness) run(args ...string) result {
	h.t.Helper()
	return h.runContext(context.Background(), args...)
}

func (h *harness) runContext(ctx context.Context, args ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code := Main(ctx, Env{
		Args:        args,
		Stdin:       strings.NewReader(h.stdin),
		Stdout:      &out,
		Stderr:      &errOut,
		Getenv:      func(k string) string { return h.env[k] },
		Interactive: h.interactive,
		Terminal:    h.terminal,
		Now:         func() time.Time { return h.now },
		Location:    time.UTC,
	})
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// ok runs args and fails the test unless they succeed.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	r := h.run(args...)
	require.Equal(h.t, ExitOK, r.code, "dingfn %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

// store opens the harness's store as the bundle does, to seed or inspect
// it; close it before the next run (a bolt file has one user at a time).
func (h *harness) store() store.Store {
	h.t.Helper()
	spec := backend.Spec{Kind: h.env["DINGFN_STORE"], SharedTables: []string{token.DefaultTable}}
	switch {
	case h.emu != nil:
		spec.Kind, spec.Endpoint, spec.Instance, spec.AccessKeyID, spec.AccessKeySecret = backend.Tablestore, h.emu.URL, "cli", "test", "test"
	case strings.HasPrefix(spec.Kind, "bolt:"):
		spec.Kind, spec.Path = backend.Bolt, strings.TrimPrefix(spec.Kind, "bolt:")
	}
	st, err := backend.Open(context.Background(), spec)
	require.NoError(h.t, err)
	return st
}

// receiver serves the real callback endpoint for pushes encrypted for the
// corp id, as register_call_back's check_url is.
func (h *harness) receiver() string {
	h.t.Helper()
	c, err := dingcrypto.New(testCallbackToken, testCallbackAESKey, h.fake.CorpID())
	require.NoError(h.t, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	handler, err := callback.NewHandler(c, callback.LogDispatcher(quiet), callback.WithLogger(quiet))
	require.NoError(h.t, err)
	srv := httptest.NewServer(handler)
	h.t.Cleanup(srv.Close)
	h.receivers = append(h.receivers, srv.URL)
	return srv.URL + "/callback"
}

// golden compares got with testdata/NAME, or rewrites it with -update.
// The fake's URL changes per run, so it is written as FAKE_URL.
func (h *harness) golden(name, got string) {
	h.t.Helper()
	got = strings.ReplaceAll(got, h.fake.URL, "FAKE_URL")
	if h.emu != nil {
		got = strings.ReplaceAll(got, h.emu.URL, "STORE_URL")
	}
	for _, u := range h.receivers {
		got = strings.ReplaceAll(got, u, "RECEIVER_URL")
	}
	got = requestIDs.ReplaceAllString(got, "${1}REQUEST_ID")
	got = recentTimes(got)
	golden(h.t, name, got)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file; run go test ./shared/cli -update")
	require.Equal(t, string(want), got, "output differs from %s (go test ./shared/cli -update rewrites it)", path)
}
