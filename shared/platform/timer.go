package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"
)

// TimerFunc is one tick of a timer function. The report it returns is
// marshalled as JSON: logged, returned as the invocation result on the
// platforms and printed on stdout locally. ctx carries the platform's
// deadline and the Trigger (see TriggerFrom).
type TimerFunc func(ctx context.Context) (any, error)

// Trigger sources.
const (
	SourceFCTimer     = "fc-timer"    // an FC timer trigger
	SourceEventBridge = "eventbridge" // an EventBridge (CloudWatch Events) scheduled rule
	SourceInput       = "input"       // an EventBridge rule with a constant Input, or any other JSON event
	SourceInvoke      = "invoke"      // a direct invocation with an empty or non-JSON payload
	SourceLocal       = "local"       // local mode
)

// Trigger describes what fired a tick.
type Trigger struct {
	// Source is one of the Source constants.
	Source string `json:"source"`
	// Name is the FC trigger name or the EventBridge rule ARN.
	Name string `json:"name,omitempty"`
	// Time is when the platform fired the tick (zero when it does not say).
	Time time.Time `json:"time,omitzero"`
	// ID is the EventBridge event id.
	ID string `json:"id,omitempty"`
	// Payload is the FC timer payload, the whole JSON event for
	// SourceInput, the raw payload for SourceInvoke, and -payload locally.
	Payload string `json:"payload,omitempty"`
}

type triggerKey struct{}

// TriggerFrom returns the trigger of the tick ctx belongs to.
func TriggerFrom(ctx context.Context) (Trigger, bool) {
	t, ok := ctx.Value(triggerKey{}).(Trigger)
	return t, ok
}

// ParseTimerEvent reads a timer invocation payload. It never fails: a timer
// must tick whatever a console test or a rule's constant Input sends, and
// the function decides what the payload means.
//
// An FC timer event is {"triggerTime","triggerName","payload"} (all
// strings); an EventBridge scheduled event has source "aws.events" and
// detail-type "Scheduled Event"; a rule with a constant Input delivers that
// Input alone, which becomes the Payload of a SourceInput trigger.
func ParseTimerEvent(event []byte) Trigger {
	trimmed := bytes.TrimSpace(event)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return Trigger{Source: SourceInvoke}
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &keys); err != nil {
		if json.Valid(trimmed) { // a JSON string, number or array as Input
			return Trigger{Source: SourceInput, Payload: string(trimmed)}
		}
		return Trigger{Source: SourceInvoke, Payload: string(event)}
	}
	_, hasTime := keys["triggerTime"]
	_, hasName := keys["triggerName"]
	if hasTime || hasName {
		var ev fcTimerEvent
		if err := json.Unmarshal(trimmed, &ev); err == nil {
			t := Trigger{Source: SourceFCTimer, Name: str(ev.TriggerName), Payload: str(ev.Payload)}
			t.Time, _ = time.Parse(time.RFC3339, str(ev.TriggerTime))
			return t
		}
	}
	if jsonString(keys["source"]) == "aws.events" && jsonString(keys["detail-type"]) == "Scheduled Event" {
		var ev eventBridgeEvent
		if err := json.Unmarshal(trimmed, &ev); err == nil {
			t := Trigger{Source: SourceEventBridge, Time: ev.Time, ID: ev.ID}
			if len(ev.Resources) > 0 {
				t.Name = ev.Resources[0]
			}
			return t
		}
	}
	return Trigger{Source: SourceInput, Payload: string(trimmed)}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// TimerError is how a failed tick reaches the platform: its text is the
// redacted error text, and errors.Is/As still reach the original error.
type TimerError struct {
	msg string
	err error
}

// Error returns the redacted text.
func (e *TimerError) Error() string { return e.msg }

// Unwrap returns the TimerFunc's own error.
func (e *TimerError) Unwrap() error { return e.err }

// RunTimer runs the timer function name on the runtime Detect picks. On FC
// and Lambda every invocation is one tick whose report is logged and
// returned as the result, and whose error fails the invocation (so the
// platform's retry and alerting see it). It installs Logger(name) as the
// slog default.
//
// Locally it parses its own flags from os.Args: with none it runs one tick,
// prints the report as one line of JSON on stdout and exits 0, or prints
// the error on stderr and exits 1; -every D ticks at once and then every D
// until SIGINT or SIGTERM (a failed tick is logged and the next one still
// runs) and exits 0; -payload S sets the trigger payload.
//
// SIGINT or SIGTERM during a tick cancels the tick's context and waits up
// to 20 s for the tick to return, so its deferred cleanup (a lease
// release) runs before the process exits; a tick that ignores the
// cancellation is abandoned after that, with exit status 1. A second
// signal ends the process at once.
func RunTimer(name string, fn TimerFunc) {
	logger := Logger(name)
	slog.SetDefault(logger)
	switch rt := Detect(os.Getenv); {
	case rt == FC || rt == Lambda:
		err := start(rt, func(ctx context.Context, event []byte) (json.RawMessage, error) {
			return timerInvocation(ctx, logger, fn, event)
		})
		logger.Error("cannot run", slog.String("error", Redact(err.Error())))
		os.Exit(1)
	case localBuilt:
		ctx, stop := interruptContext()
		code := runLocalTimer(ctx, name, logger, fn, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	default:
		logger.Error("cannot run", slog.String("error", errNoLocal(name).Error()))
		os.Exit(1)
	}
}

func timerInvocation(ctx context.Context, logger *slog.Logger, fn TimerFunc, event []byte) (json.RawMessage, error) {
	ctx = withRequestInfo(ctx, platformInvocationID(ctx), "")
	ctx = context.WithValue(ctx, triggerKey{}, ParseTimerEvent(event))
	return tick(ctx, logger, fn)
}

// tick runs fn once, logs the outcome and returns the marshalled report.
func tick(ctx context.Context, logger *slog.Logger, fn TimerFunc) (_ json.RawMessage, err error) {
	start := time.Now()
	tr, _ := TriggerFrom(ctx)
	// A failed tick may still carry a report (which values were refreshed,
	// which failed); the platforms drop a failed invocation's payload, so
	// the report goes into the failure log line instead.
	var failed json.RawMessage
	defer func() {
		if v := recover(); v != nil {
			logPanic(ctx, v)
			err = &TimerError{msg: Redact(fmt.Sprintf("panic: %v", v)), err: fmt.Errorf("panic: %v\n%s", v, debug.Stack())}
		}
		if err != nil {
			attrs := []slog.Attr{slog.String("trigger", tr.Source), slog.String("error", err.Error()), durationMS(start)}
			if failed != nil {
				attrs = append(attrs, slog.Any("report", failed))
			}
			logger.LogAttrs(ctx, slog.LevelError, "tick failed", attrs...)
		}
	}()
	report, ferr := fn(ctx)
	if ferr != nil {
		if b, merr := json.Marshal(report); merr == nil && string(b) != "null" {
			failed = b
		}
		return nil, &TimerError{msg: Redact(ferr.Error()), err: ferr}
	}
	b, merr := json.Marshal(report)
	if merr != nil {
		return nil, &TimerError{msg: "report is not JSON: " + Redact(merr.Error()), err: merr}
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "tick done",
		slog.String("trigger", tr.Source),
		slog.Any("report", json.RawMessage(b)),
		durationMS(start))
	return b, nil
}

// localTimerGrace is how long an interrupted local tick has to return.
const localTimerGrace = localShutdownTimeout

// errTickAbandoned is a local tick that outlived its grace after an
// interrupt.
var errTickAbandoned = errors.New("the tick did not return after the interrupt")

// awaitTick runs run (one tick) and returns its result. If ctx ends first
// (an interrupt, which also cancels the tick's context), it waits at most
// grace more for the tick to return, so the tick's deferred cleanup runs
// before the process exits, and then gives up with errTickAbandoned.
func awaitTick(ctx context.Context, logger *slog.Logger, grace time.Duration, run func() (json.RawMessage, error)) (json.RawMessage, error) {
	type result struct {
		b   json.RawMessage
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := run()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
	}
	logger.Info("interrupted; waiting for the tick to finish", slog.Duration("grace", grace))
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case r := <-done:
		return r.b, r.err
	case <-t.C:
		return nil, fmt.Errorf("%w within %s; exiting without it", errTickAbandoned, grace)
	}
}
