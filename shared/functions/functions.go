// Package functions builds each of dingfn's four functions from the shared
// bundle: one builder per function, calling the constructors of that
// function's feature packages with the Bundle's fields. The builders are
// the only place a function is assembled: functions/<name>/main.go hands
// one to bundle.ServeHTTP or bundle.RunTimer, and `dingfn dev` calls all
// four on its one Bundle, so a deployed function and the local process are
// built the same way.
//
// A builder returns an error rather than exiting; bundle's mains exit in
// one place. A feature that lands replaces its function's placeholder here
// with its own constructor.
package functions

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/handlers"
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/platform"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/token"
)

// Events builds the event log the callback and the sync function's drain
// share: the built-in handlers (contact events into the directory mirror
// through its guarded writer, approval events into the approvals table),
// forwarding (DINGFN_FORWARD_*), then register's handlers.
func Events(b *bundle.Bundle, register func(*events.Mux)) (*events.Service, error) {
	w, err := directory.NewWriter(b.Store, b.Client, directory.WithLogger(b.Logger), directory.WithClock(clock(b)))
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	return events.Build(events.Deps{Store: b.Store, Client: b.Client, Directory: w, Logger: b.Logger, Register: register}, events.Config{
		Retention: cfg.EventRetention, MaxAttempts: cfg.EventMaxAttempts,
		Forward: cfg.ForwardRules, ForwardSecret: cfg.ForwardSecret,
		// `dingfn dev` keeps running after a reply: drain at once there.
		DrainAtOnce: cfg.Function == config.Dev,
	},
		// Chat handlers' replies that miss the HTTP answer leave through
		// the message's session webhook, inline or from the drain.
		chatbot.Replies(b.Client.Chatbot, nil), events.WithClock(clock(b)))
}

// clock is b's clock: time.Now for a Bundle made without Open.
func clock(b *bundle.Bundle) func() time.Time {
	if b.Now == nil {
		return time.Now
	}
	return b.Now
}

// Callback builds the callback function with your event and chat handlers
// (package handlers): DingTalk's encrypted event push on every path,
// verified and answered with the subscription's token and AES key
// (DINGTALK_CALLBACK_*) within its timestamp window
// (DINGFN_CALLBACK_MAX_SKEW), and the app robot's messages on /robot,
// verified with the app secret; each event and message logged and
// processed by the event log.
func Callback(b *bundle.Bundle) (http.Handler, error) { return CallbackWith(handlers.Register)(b) }

// CallbackWith is Callback with register's handlers instead of package
// handlers' (tests, `dingfn dev` with other handlers).
func CallbackWith(register func(*events.Mux)) func(*bundle.Bundle) (http.Handler, error) {
	return func(b *bundle.Bundle) (http.Handler, error) {
		c, err := dingcrypto.New(b.Config.CallbackToken, b.Config.CallbackAESKey, b.Config.CallbackOwnerKey)
		if err != nil {
			return nil, err
		}
		log, err := Events(b, register)
		if err != nil {
			return nil, err
		}
		push, err := callback.NewHandler(c, log, callback.WithLogger(b.Logger), callback.WithMaxClockSkew(b.Config.CallbackMaxSkew), callback.WithClock(clock(b)))
		if err != nil {
			return nil, err
		}
		robot, err := chatbot.NewHandler(b.Config.AppSecret, log, chatbot.WithLogger(b.Logger), chatbot.WithClock(clock(b)))
		if err != nil {
			return nil, err
		}
		return chatbot.Route(push, robot), nil
	}
}

// NotifyService builds notify's service: work notices as the app's agent
// (DINGTALK_AGENT_ID), messages as the app's robot (DINGTALK_ROBOT_CODE),
// the group robots of DINGFN_ROBOTS, dd.config signing when
// DINGTALK_CORP_ID is set, and directory reads from the mirror. The
// command line calls it directly.
func NotifyService(b *bundle.Bundle) (*notify.Service, error) {
	cfg := b.Config
	opts := []notify.Option{
		notify.WithRobots(cfg.Robots), notify.WithRobotCode(cfg.RobotCode), notify.WithLogger(b.Logger), notify.WithClock(clock(b)),
		notify.WithDirectory(notify.MirrorDirectory(directory.NewReader(b.Store))),
	}
	if cfg.CorpID != "" && cfg.AgentID > 0 {
		signer, err := token.NewJSAPISigner(b.Tokens, cfg.CorpID, strconv.FormatInt(cfg.AgentID, 10))
		if err != nil {
			return nil, err
		}
		opts = append(opts, notify.WithJSAPISigner(signer))
	}
	return notify.New(b.Store, b.Client, cfg.AgentID, opts...)
}

// Notify builds the notify function's HTTP API: every route but
// GET /v1/openapi.json needs one of NOTIFY_API_KEYS (401 otherwise).
func Notify(b *bundle.Bundle) (http.Handler, error) {
	if b.Config.NotifyKeys == nil {
		return nil, errors.New("notify: no NOTIFY_API_KEYS")
	}
	s, err := NotifyService(b)
	if err != nil {
		return nil, err
	}
	return notify.Handler(s, b.Config.NotifyKeys), nil
}

// Sync builds the sync function's tick with your event handlers (package
// handlers): a schedule runner whose steps are the directory walk, the
// notices step, and the event log's drain, recovery of failed pushes (for
// a register_call_back callback) and purge; each tick runs the steps that
// are due.
func Sync(b *bundle.Bundle) (platform.TimerFunc, error) { return SyncWith(handlers.Register)(b) }

// SyncWith is Sync with register's handlers instead of package handlers'.
func SyncWith(register func(*events.Mux)) func(*bundle.Bundle) (platform.TimerFunc, error) {
	return func(b *bundle.Bundle) (platform.TimerFunc, error) {
		r, err := SyncRunner(b, SyncOptions{Register: register})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) { return r.Tick(ctx) }, nil
	}
}

// SyncOptions are what a caller changes from the timer's sync: the event
// handlers, and for a manual run (`dingfn sync`) the deletion guard and a
// progress report.
type SyncOptions struct {
	// Register adds your event handlers; nil means package handlers'.
	Register func(*events.Mux)
	// AllowMassDelete lets a complete directory walk remove more than the
	// deletion guard allows (`dingfn sync --allow-mass-delete`).
	AllowMassDelete bool
	// Progress, when set, receives the directory walk's report so far
	// after each department (directory.WithProgress).
	Progress func(directory.Report)
}

// SyncRunner builds the sync function's schedule runner, as Sync does, with
// o applied: `dingfn sync` runs its directory step with RunNow, under the
// same lease as the deployed function, so the two never walk at once.
func SyncRunner(b *bundle.Bundle, o SyncOptions) (*schedule.Runner, error) {
	if o.Register == nil {
		o.Register = handlers.Register
	}
	walk, err := DirectorySyncer(b, o)
	if err != nil {
		return nil, err
	}
	// The notices step sends the work-notice parts waiting for DingTalk's
	// per-minute budget; each notice names its agent, so sync needs no
	// DINGTALK_AGENT_ID.
	n, err := NotifyService(b)
	if err != nil {
		return nil, err
	}
	log, err := Events(b, o.Register)
	if err != nil {
		return nil, err
	}
	var failed events.FailedResults
	if b.Config.RecoversFailedPushes() {
		failed = b.Client.Callback
	}
	steps := append([]schedule.Step{walk.Step(o.AllowMassDelete), n.Step()}, log.Steps(failed, b.Config.EventRecoverEvery)...)
	return schedule.New(b.Store, steps, schedule.WithLogger(b.Logger), schedule.WithClock(clock(b)))
}

// DirectorySyncer builds the sync function's directory walk, as SyncRunner
// runs it (DINGFN_SYNC_INTERVAL, DINGFN_SYNC_MAX_DELETE, o's Progress):
// `dingfn sync --dry-run` and `dingfn directory diff` plan with it
// (Syncer.Diff), so a plan is the walk's.
func DirectorySyncer(b *bundle.Bundle, o SyncOptions) (*directory.Syncer, error) {
	// The writer's clock is the sync's: which records a walk removes
	// depends on when they last changed.
	w, err := directory.NewWriter(b.Store, b.Client, directory.WithLogger(b.Logger), directory.WithClock(clock(b)))
	if err != nil {
		return nil, err
	}
	opts := []directory.SyncOption{directory.WithInterval(b.Config.SyncInterval), directory.WithMaxDelete(b.Config.SyncMaxDelete)}
	if o.Progress != nil {
		opts = append(opts, directory.WithProgress(o.Progress))
	}
	return directory.NewSyncer(w, opts...)
}

// TokenRefresher builds the token-refresher function's tick: the app's
// access token and jsapi ticket renewed ahead of expiry in the store.
func TokenRefresher(b *bundle.Bundle) (platform.TimerFunc, error) {
	r, err := token.NewRefresher([]*token.Provider{b.Tokens})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (any, error) { return r.Tick(ctx) }, nil
}
