package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/redact"
	"github.com/dingfn/dingfn/shared/store"
)

// Exit codes of the command line; the root command's help lists them.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitConfig      = 3
	ExitDingTalk    = 4
	ExitGuard       = 5
	ExitNotFound    = 6
	ExitInterrupted = 130
)

// UsageError is a command line that cannot run as written: an unknown
// command or flag, a missing or malformed argument.
type UsageError struct {
	// Command is the command path, e.g. "dingfn callback register".
	Command string
	Err     error
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(cmd *cobra.Command, format string, a ...any) error {
	return &UsageError{Command: cmd.CommandPath(), Err: fmt.Errorf(format, a...)}
}

// GuardError is a safety check that refused to go on: a destructive
// command without its confirmation.
type GuardError struct {
	Reason string
	// Fix says how to go on anyway.
	Fix string
}

func (e *GuardError) Error() string { return e.Reason }

// NotFoundError is a thing the command was asked about that does not
// exist.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return e.What + " not found" }

// configFileError is an --env-file that cannot be read.
type configFileError struct {
	path string
	err  error
}

func (e *configFileError) Error() string {
	return fmt.Sprintf("--env-file %s: %v", e.path, e.err)
}

func (e *configFileError) Unwrap() error { return e.err }

// interruptedError is a run cut short by Ctrl-C or SIGTERM.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string { return "interrupted" }
func (e *interruptedError) Unwrap() error { return e.err }

// ExitCode maps an error returned by [Run] to the process exit code.
func ExitCode(err error) int {
	var (
		ue *UsageError
		ce *config.Error
		fe *configFileError
		de *dingtalk.Error
		ge *GuardError
		nf *NotFoundError
		ie *interruptedError
		ne *notify.Error
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ie), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ce), errors.As(err, &fe):
		return ExitConfig
	case errors.As(err, &ne):
		return notifyExit(ne)
	case errors.As(err, &ge), errors.Is(err, directory.ErrGuardTripped):
		return ExitGuard
	case errors.As(err, &nf), errors.Is(err, directory.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return ExitNotFound
	case errors.As(err, &de):
		return ExitDingTalk
	}
	return ExitFailure
}

// errorKind names the exit code in JSON error reports.
var errorKind = map[int]string{
	ExitFailure:     "failure",
	ExitUsage:       "usage",
	ExitConfig:      "configuration",
	ExitDingTalk:    "dingtalk",
	ExitGuard:       "guard",
	ExitNotFound:    "not_found",
	ExitInterrupted: "interrupted",
}

// errorReport is the JSON form of a failure, written to stderr with --json.
type errorReport struct {
	Error    string    `json:"error"`
	ExitCode int       `json:"exit_code"`
	Message  string    `json:"message"`
	Problems []problem `json:"problems,omitempty"`
	// DingTalk's answer, for ExitDingTalk.
	API       string `json:"api,omitempty"`
	ErrCode   int    `json:"errcode,omitempty"`
	SubCode   string `json:"sub_code,omitempty"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Meaning   string `json:"meaning,omitempty"`
	// Hint says what to do next.
	Hint string `json:"hint,omitempty"`
}

// problem is a configuration variable to fix.
type problem struct {
	Variable string `json:"variable"`
	Reason   string `json:"reason"`
}

// describe builds the report of err. Every text passes through redact, a
// second line of defence behind the packages that never put a secret in
// an error.
func describe(err error) errorReport {
	code := ExitCode(err)
	r := errorReport{Error: errorKind[code], ExitCode: code, Message: redact.String(err.Error())}
	var (
		ue *UsageError
		ce *config.Error
		de *dingtalk.Error
		ge *GuardError
		ne *notify.Error
	)
	switch {
	case errors.As(err, &ue):
		r.Hint = fmt.Sprintf("Run '%s --help' for usage.", ue.Command)
	case errors.As(err, &ce):
		r.Message = fmt.Sprintf("%s: configuration is incomplete", ce.Function)
		for _, p := range ce.Problems {
			r.Problems = append(r.Problems, problem{Variable: p.Var, Reason: p.Reason})
		}
		r.Hint = "Set the variables in the environment, or in a dotenv file passed with --env-file FILE; the README's Configuration table describes each."
	case errors.As(err, &ne):
		describeNotify(&r, ne)
	case errors.As(err, &ge):
		r.Hint = ge.Fix
	case errors.Is(err, directory.ErrGuardTripped):
		r.Hint = "If the organisation really shrank, run dingfn sync --allow-mass-delete; otherwise check the app's contact scope (通讯录权限范围)."
	case errors.Is(err, directory.ErrNotFound):
		r.Hint = "The mirror answers from the last sync: run dingfn sync if the record is new."
	case errors.As(err, &de):
		r.API, r.ErrCode, r.SubCode, r.Code, r.RequestID = de.API, de.ErrCode, de.SubCode, de.Code, de.RequestID
		r.Meaning = de.Meaning()
	}
	return r
}

// report writes err for a person, or as one JSON object with --json.
func (a *app) report(err error) {
	r := describe(err)
	if a.jsonOut {
		enc := json.NewEncoder(a.env.Stderr)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(r)
		return
	}
	writeReport(a.env.Stderr, r)
}

func writeReport(w io.Writer, r errorReport) {
	var b strings.Builder
	fmt.Fprintf(&b, "dingfn: %s\n", r.Message)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  %s %s\n", p.Variable, p.Reason)
	}
	if r.Meaning != "" {
		fmt.Fprintf(&b, "  meaning: %s\n", r.Meaning)
	}
	if r.Hint != "" {
		fmt.Fprintf(&b, "  %s\n", r.Hint)
	}
	_, _ = io.WriteString(w, b.String())
}
