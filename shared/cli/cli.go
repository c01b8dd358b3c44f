package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/platform"
)

// Env is what one run of the command line gets from its process: the
// arguments, the standard streams, the environment and the clock. Tests
// build one; [OSEnv] is the real process.
type Env struct {
	// Args are the arguments after the program name.
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; nil reads nothing.
	Getenv func(string) string
	// Terminal reports that Stdout is a terminal: progress is drawn and
	// long cells are shortened to fit.
	Terminal bool
	// Interactive reports that Stdin is a terminal, so a command may ask
	// for confirmation instead of requiring --yes.
	Interactive bool
	// Now is the clock ages and expiries are computed with; nil means
	// time.Now.
	Now func() time.Time
	// Location is the time zone times are shown in; nil means time.Local.
	Location *time.Location
	// HTTPClient reaches a deployed notify (--api); nil means a client
	// with a 30 s timeout.
	HTTPClient *http.Client
}

// OSEnv is the environment of this process, with args after the program
// name.
func OSEnv(args []string) Env {
	return Env{
		Args:        args,
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Getenv:      os.Getenv,
		Terminal:    term.IsTerminal(int(os.Stdout.Fd())),
		Interactive: term.IsTerminal(int(os.Stdin.Fd())),
	}
}

// Main runs the command line and returns the process exit code; a failure
// has been reported on Stderr by then (as JSON with --json).
func Main(ctx context.Context, env Env) int {
	a := newApp(env)
	err := a.run(ctx)
	if err != nil {
		a.report(err)
	}
	return ExitCode(err)
}

// Run runs the command line and returns its error without reporting it;
// [ExitCode] maps the error to the exit code.
func Run(ctx context.Context, env Env) error {
	return newApp(env).run(ctx)
}

// app is one run of the command line: the environment, the global flags
// and the output they select.
type app struct {
	env      Env
	jsonOut  bool
	verbose  bool
	envFiles []string
	// fileEnv holds the variables read from --env-file, which win over
	// the process environment.
	fileEnv map[string]string
	out     *output
	root    *cobra.Command
}

func newApp(env Env) *app {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Location == nil {
		env.Location = time.Local
	}
	if env.HTTPClient == nil {
		env.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	a := &app{env: env}
	a.out = &output{w: env.Stdout, terminal: env.Terminal, loc: env.Location}
	a.root = a.rootCommand()
	return a
}

func (a *app) run(ctx context.Context) error {
	// Never nil: cobra reads os.Args when given nil.
	a.root.SetArgs(append([]string{}, a.env.Args...))
	_, err := a.root.ExecuteContextC(ctx)
	if err != nil && ctx.Err() != nil {
		return &interruptedError{err: err}
	}
	return err
}

// getenv reads a variable from the --env-file files, then the process
// environment.
func (a *app) getenv(name string) string {
	if v, ok := a.fileEnv[name]; ok {
		return v
	}
	return a.env.Getenv(name)
}

// loadEnvFiles reads every --env-file in order; a later file wins.
func (a *app) loadEnvFiles() error {
	if len(a.envFiles) == 0 {
		return nil
	}
	a.fileEnv = map[string]string{}
	for _, f := range a.envFiles {
		m, err := godotenv.Read(f)
		if err != nil {
			return &configFileError{path: f, err: err}
		}
		maps.Copy(a.fileEnv, m)
	}
	return nil
}

// logger is the operator commands' logger: warnings and errors only unless
// DINGFN_LOG_LEVEL says otherwise, everything with --verbose, on Stderr.
func (a *app) logger(name string) *slog.Logger {
	return platform.NewLogger(name, func(k string) string {
		if k == "DINGFN_LOG_LEVEL" {
			if a.verbose {
				return "debug"
			}
			if v := a.getenv(k); v != "" {
				return v
			}
			return "warn"
		}
		return a.getenv(k)
	}, a.env.Stderr)
}

// Variables a command may need, by what they are for.
var (
	needApp      = []string{"DINGTALK_APP_KEY", "DINGTALK_APP_SECRET"}
	needCallback = append(slices.Clone(needApp), "DINGTALK_CALLBACK_TOKEN", "DINGTALK_CALLBACK_AES_KEY")
	needJSAPI    = append(slices.Clone(needApp), "DINGTALK_CORP_ID", "DINGTALK_AGENT_ID")
)

// open loads the configuration cmd needs (failing with every missing
// variable named) and opens the store, the DingTalk client and the token
// cache as the functions do. The caller closes the bundle.
func (a *app) open(ctx context.Context, cmd *cobra.Command, needs []string) (*bundle.Bundle, error) {
	cfg, err := config.LoadFor(cmd.CommandPath(), needs, a.getenv)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Open(ctx, cfg, a.logger(cmd.CommandPath()))
	if err != nil {
		return nil, fmt.Errorf("open %s store: %w", cfg.Store.Kind, err)
	}
	return b, nil
}

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dingfn",
		Short: "Operate a dingfn deployment: DingTalk callbacks, tokens, any API call, the local dev server",
		Long: `dingfn is the operator command line of the dingfn bundle. It reads the same
configuration as the functions (the environment variables in the README's
Configuration table), optionally from dotenv files given with --env-file.

Output is a table for a person and JSON with --json, for scripts.

Exit codes:
  0  success
  1  failure (store, network, a value found unhealthy)
  2  usage: unknown command, bad flag or argument
  3  configuration: a variable missing or malformed, an unreadable --env-file
  4  DingTalk answered with an error (its errcode and meaning are printed)
  5  a guard refused: confirmation not given (--yes), or the sync's deletion
     guard tripped (--allow-mass-delete)
  6  not found
  130 interrupted (Ctrl-C)`,
		Example: `  dingfn --env-file prod.env token status
  dingfn callback register --url https://example.com/callback
  dingfn call topapi/v2/department/get dept_id:=1 --json
  dingfn completion bash > /etc/bash_completion.d/dingfn`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRun,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.loadEnvFiles()
		},
	}
	root.SetIn(a.env.Stdin)
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringArrayVar(&a.envFiles, "env-file", nil, "read variables from this dotenv `FILE` before the environment (repeatable; a later file wins)")
	pf.BoolVar(&a.jsonOut, "json", false, "print JSON for scripts instead of tables (errors too, on stderr)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log debug messages (requests, retries) on stderr")
	_ = root.MarkPersistentFlagFilename("env-file", "env")
	root.AddCommand(
		a.callbackCommand(),
		a.tokenCommand(),
		a.jsapiCommand(),
		a.loginCommand(),
		a.callCommand(),
		a.eventsCommand(),
		a.sendCommand(),
		a.noticesCommand(),
		a.robotCommand(),
		a.syncCommand(),
		a.directoryCommand(),
		a.devCommand(),
		a.consoleCommand(),
		a.tablestoreFakeCommand(),
		a.benchCommand(),
	)
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Args, c.RunE = cobra.ArbitraryArgs, groupRun
			c.Example = `  dingfn completion bash > /etc/bash_completion.d/dingfn
  dingfn completion zsh > "${fpath[1]}/_dingfn"
  dingfn completion fish > ~/.config/fish/completions/dingfn.fish`
			for _, sub := range c.Commands() {
				sub.Example = completionExamples[sub.Name()]
			}
		case "help":
			c.Example = "  dingfn help callback register"
		}
	}
	a.out.json = func() bool { return a.jsonOut }
	return root
}

// completionExamples load each shell's completion in the current session.
var completionExamples = map[string]string{
	"bash":       "  source <(dingfn completion bash)",
	"zsh":        "  source <(dingfn completion zsh)",
	"fish":       "  dingfn completion fish | source",
	"powershell": "  dingfn completion powershell | Out-String | Invoke-Expression",
}

// group returns a command that only holds subcommands: run alone or with
// an unknown subcommand it is a usage error rather than cobra's silent
// help.
func group(use, short, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ArbitraryArgs,
		RunE:    groupRun,
	}
	c.AddCommand(subs...)
	return c
}

func groupRun(cmd *cobra.Command, args []string) error {
	names := make([]string, 0, len(cmd.Commands()))
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	if len(args) == 0 {
		return usageErrorf(cmd, "missing command: %s needs one of %s", cmd.CommandPath(), strings.Join(names, ", "))
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &UsageError{Command: cmd.CommandPath(), Err: fmt.Errorf("%s", msg)}
}

// flagError turns pflag's errors into usage errors; an unknown flag is
// described as the standard flag package does.
func flagError(cmd *cobra.Command, err error) error {
	if ne, ok := err.(*pflag.NotExistError); ok {
		name := "--" + ne.GetSpecifiedName()
		if s := ne.GetSpecifiedShortnames(); s != "" {
			name = "-" + s
		}
		return usageErrorf(cmd, "flag provided but not defined: %s", name)
	}
	return &UsageError{Command: cmd.CommandPath(), Err: err}
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &UsageError{Command: cmd.CommandPath(), Err: err}
		}
		return nil
	}
}
