package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run is the command line as cmd/dingfn ran it before it moved here; the
// tests below kept their cases and assertions.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return Run(ctx, Env{Args: args, Stdout: stdout, Stderr: stderr, Getenv: getenv})
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{name: "no command", args: nil, wantErr: "missing command"},
		{name: "unknown", args: []string{"deploy"}, wantErr: `unknown command "deploy"`},
		{name: "help", args: []string{"help"}, wantOut: "tablestore-fake"},
		{name: "dev bad flag", args: []string{"dev", "--port", "1"}, wantErr: "flag provided but not defined"},
		{name: "console without configuration", args: []string{"console"}, wantErr: "DINGTALK_APP_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut, noEnv)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, out.String(), tt.wantOut)
		})
	}
}

func TestTablestoreFakeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"tablestore-fake", "--addr", "127.0.0.1:0"}, &out, &errOut, noEnv)
	assert.NoError(t, err, "a cancelled context is a clean shutdown")
	assert.Contains(t, out.String(), "DINGFN_STORE=tablestore")
}

func noEnv(string) string { return "" }

// The commands log as the functions do: DINGFN_LOG_FORMAT and
// DINGFN_LOG_LEVEL apply (dev and tablestore-fake share one logger).
func TestLogSettings(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantLine string // "" means no line
	}{
		{"text by default", nil, "level=INFO msg=\"tablestore emulator listening\""},
		{"json on request", map[string]string{"DINGFN_LOG_FORMAT": "json"}, `"msg":"tablestore emulator listening"`},
		{"level warn hides info", map[string]string{"DINGFN_LOG_LEVEL": "warn"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errOut bytes.Buffer
			err := run(ctx, []string{"tablestore-fake", "--addr", "127.0.0.1:0"}, &out, &errOut, func(k string) string { return tt.env[k] })
			require.NoError(t, err)
			if tt.wantLine == "" {
				assert.Empty(t, errOut.String())
				return
			}
			assert.Contains(t, errOut.String(), tt.wantLine)
		})
	}
}

// Every exit code is reachable and documented in the root command's help.
func TestExitCodes(t *testing.T) {
	h := newHarness(t, onEmulator)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		setup func(h *harness)
		ctx   context.Context
		args  []string
		want  int
	}{
		{name: "ok", args: []string{"token", "refresh"}, want: ExitOK},
		{name: "usage: no command", args: nil, want: ExitUsage},
		{name: "usage: unknown command", args: []string{"deploy"}, want: ExitUsage},
		{name: "usage: unknown subcommand", args: []string{"callback", "list"}, want: ExitUsage},
		{name: "usage: bad flag", args: []string{"token", "status", "--all"}, want: ExitUsage},
		{name: "usage: missing argument", args: []string{"jsapi", "sign"}, want: ExitUsage},
		{name: "usage: extra argument", args: []string{"token", "status", "now"}, want: ExitUsage},
		{name: "usage: missing required flag", args: []string{"callback", "register"}, want: ExitUsage},
		{name: "usage: bad flag value", args: []string{"login", "c0de", "--kind", "sso"}, want: ExitUsage},
		{name: "config: missing variable", setup: func(h *harness) { delete(h.env, "DINGTALK_APP_SECRET") }, args: []string{"callback", "get"}, want: ExitConfig},
		{name: "config: malformed variable", setup: func(h *harness) { h.env["DINGTALK_AGENT_ID"] = "agent" }, args: []string{"token", "status"}, want: ExitConfig},
		{name: "config: missing env file", args: []string{"--env-file", "/nonexistent/prod.env", "token", "status"}, want: ExitConfig},
		{name: "dingtalk: no callback registered", args: []string{"callback", "get"}, want: ExitDingTalk},
		{name: "dingtalk: bad credentials", setup: func(h *harness) { h.env["DINGTALK_APP_SECRET"], h.env["DINGFN_STORE"] = "wrong", "memory" }, args: []string{"call", "topapi/v2/department/get", "dept_id:=1"}, want: ExitDingTalk},
		{name: "failure: token unhealthy", setup: func(h *harness) { h.env["DINGFN_STORE"] = "memory" }, args: []string{"token", "status"}, want: ExitFailure},
		{name: "interrupted", ctx: cancelled, args: []string{"token", "refresh"}, want: ExitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := h.env
			h.env = map[string]string{}
			for k, v := range saved {
				h.env[k] = v
			}
			defer func() { h.env = saved }()
			if tt.setup != nil {
				tt.setup(h)
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			r := h.runContext(ctx, tt.args...)
			assert.Equal(t, tt.want, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		})
	}
	help := h.ok("--help")
	for _, code := range []string{"0  success", "1  failure", "2  usage", "3  configuration", "4  DingTalk", "5  a guard", "6  not found", "130 interrupted"} {
		assert.Contains(t, help, code)
	}
}

// Errors say what to fix, for a person and, with --json, for a script.
func TestErrorReports(t *testing.T) {
	h := newHarness(t, onEmulator)
	delete(h.env, "DINGTALK_CALLBACK_AES_KEY")
	h.env["DINGTALK_CALLBACK_TOKEN"] = ""
	r := h.run("callback", "register", "--url", "https://fn.example.com/callback")
	require.Equal(t, ExitConfig, r.code)
	h.golden("errors/config.txt", r.stderr)
	assert.Empty(t, r.stdout)

	r = h.run("--json", "callback", "register", "--url", "https://fn.example.com/callback")
	require.Equal(t, ExitConfig, r.code)
	h.golden("errors/config.json", r.stderr)

	r = h.run("callback", "get")
	require.Equal(t, ExitDingTalk, r.code)
	h.golden("errors/dingtalk.txt", r.stderr)
	r = h.run("--json", "callback", "get")
	require.Equal(t, ExitDingTalk, r.code)
	var rep errorReport
	require.NoError(t, json.Unmarshal([]byte(r.stderr), &rep))
	assert.Equal(t, errorReport{Error: "dingtalk", ExitCode: ExitDingTalk, API: "call_back/get_call_back", ErrCode: 71007,
		Message: rep.Message, RequestID: rep.RequestID, Meaning: "no callback is registered for this organisation"}, rep)

	r = h.run("token", "status", "--al")
	require.Equal(t, ExitUsage, r.code)
	h.golden("errors/usage.txt", r.stderr)
}

// Every command has help with examples; `dingfn X --help` succeeds.
func TestEveryCommandHasHelpAndExamples(t *testing.T) {
	h := newHarness(t, onMemory)
	root := newApp(Env{}).root
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == cobra.ShellCompRequestCmd || c.Name() == cobra.ShellCompNoDescRequestCmd {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"dingfn"}, path...), " "), func(t *testing.T) {
			assert.NotEmpty(t, c.Short, "short description")
			assert.NotEmpty(t, c.Example, "examples")
			out := h.ok(append(path, "--help")...)
			assert.Contains(t, out, "Examples:")
			assert.Contains(t, out, c.Example)
		})
		n++
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	assert.Greater(t, n, 15)
}

// Completion scripts for the shells, and dynamic completion of method
// names and flag values.
func TestCompletion(t *testing.T) {
	h := newHarness(t, onMemory)
	for shell, want := range map[string]string{"bash": "__start_dingfn", "zsh": "#compdef dingfn", "fish": "complete -c dingfn", "powershell": "Register-ArgumentCompleter"} {
		assert.Contains(t, h.ok("completion", shell), want, shell)
	}
	out := h.ok(cobra.ShellCompRequestCmd, "call", "topapi/v2/user/")
	assert.Contains(t, out, "topapi/v2/user/get\n")
	out = h.ok(cobra.ShellCompRequestCmd, "login", "c0de", "--kind", "")
	assert.Contains(t, out, "in_app\nscan\n")
	out = h.ok(cobra.ShellCompRequestCmd, "cal")
	assert.Contains(t, out, "call\t")
	assert.Contains(t, out, "callback\t")
}

// --env-file supplies the configuration, wins over the environment, and a
// later file wins over an earlier one.
func TestEnvFile(t *testing.T) {
	h := newHarness(t, onEmulator)
	dir := t.TempDir()
	full := h.env
	// The environment has the wrong secret and no store: the files fix both.
	h.env = map[string]string{"DINGTALK_APP_SECRET": "wrong-from-the-environment"}
	var base strings.Builder
	base.WriteString("# dingfn test configuration\n")
	for _, k := range []string{"DINGTALK_APP_KEY", "DINGTALK_APP_SECRET", "DINGTALK_OAPI_URL", "DINGTALK_API_URL", "DINGFN_STORE",
		"TABLESTORE_ENDPOINT", "TABLESTORE_INSTANCE", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"} {
		base.WriteString(k + "=" + quoteEnv(full[k]) + "\n")
	}
	basePath := filepath.Join(dir, "base.env")
	require.NoError(t, os.WriteFile(basePath, []byte(base.String()), 0o600))
	out := h.ok("--env-file", basePath, "call", "topapi/v2/department/get", "dept_id:=2")
	assert.Contains(t, out, `"name": "研发中心"`)

	// A later file wins: its secret is wrong (and its store has no cached
	// token), so DingTalk refuses.
	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("export DINGTALK_APP_SECRET='not-the-secret'\nDINGFN_STORE=memory\n"), 0o600))
	r := h.run("--env-file", basePath, "--env-file", bad, "call", "topapi/v2/department/get", "dept_id:=2")
	assert.Equal(t, ExitDingTalk, r.code, r.stderr)
	assert.Contains(t, r.stderr, "DINGTALK_APP_SECRET", "the meaning names the variable to fix")

	// Without the files the environment's wrong secret is used.
	r = h.run("call", "topapi/v2/department/get", "dept_id:=2")
	assert.Equal(t, ExitConfig, r.code, "no app key in the environment: %s", r.stderr)

	r = h.run("--env-file", filepath.Join(dir, "missing.env"), "token", "status")
	assert.Equal(t, ExitConfig, r.code)
	assert.Contains(t, r.stderr, "missing.env")
}

func quoteEnv(s string) string { return "'" + s + "'" }
