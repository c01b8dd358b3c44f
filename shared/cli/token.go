package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dingfn/dingfn/shared/token"
)

func (a *app) tokenCommand() *cobra.Command {
	return group("token",
		"Inspect and refresh the shared access token and jsapi ticket (never their values)",
		`  dingfn token status
  dingfn token refresh`,
		a.tokenStatusCommand(),
		a.tokenRefreshCommand(),
	)
}

// Health of one cached value, as `token status` shows it.
const (
	stateOK        = "ok"
	stateDue       = "refresh due" // within the refresher's margin
	stateExpiring  = "expiring"    // within the readers' margin: the refresher is not running
	stateExpired   = "expired"
	stateMissing   = "missing"
	stateMalformed = "malformed"
)

// tokenState is the JSON form of one value in `token status`.
type tokenState struct {
	token.Status
	State            string `json:"state"`
	AgeSeconds       int64  `json:"age_seconds,omitempty"`
	ExpiresInSeconds int64  `json:"expires_in_seconds,omitempty"`
}

func stateOf(s token.Status, now time.Time) string {
	switch {
	case s.Malformed:
		return stateMalformed
	case !s.Stored:
		return stateMissing
	case !now.Before(s.ExpiresAt):
		return stateExpired
	case s.Capped:
		return stateOK // a capped ticket is served until it dies, by design
	case s.ExpiresAt.Sub(now) <= token.DefaultReadMargin:
		return stateExpiring
	case s.ExpiresAt.Sub(now) <= token.DefaultRefreshMargin:
		return stateDue
	}
	return stateOK
}

// errUnhealthy is token status's failure: a value the functions need is
// missing or expired.
var errUnhealthy = errors.New("token: not healthy")

func (a *app) tokenStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show when the access token and jsapi ticket expire, their age and who refreshed them",
		Long: `Read the token cache the functions share (the store's tokens table) and show,
for the app in DINGTALK_APP_KEY, each value's state, expiry, age and the
process that fetched it. Nothing is fetched from DingTalk and no value is
ever printed.

States: ok; refresh due (within 30 minutes of expiry, the refresher renews
it on its next run); expiring (within 5 minutes: the refresher is not
running); expired; missing; malformed. Exits 1 unless both are ok, refresh
due or expiring, so it can serve as a health check.`,
		Example: `  dingfn token status
  dingfn --env-file prod.env token status --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := a.open(cmd.Context(), cmd, []string{"DINGTALK_APP_KEY"})
			if err != nil {
				return err
			}
			defer b.Close()
			list, err := b.Tokens.Status(cmd.Context())
			if err != nil {
				return err
			}
			now := a.env.Now()
			states := make([]tokenState, 0, len(list))
			healthy := true
			for _, s := range list {
				ts := tokenState{Status: s, State: stateOf(s, now)}
				if s.Stored {
					ts.AgeSeconds = int64(now.Sub(s.FetchedAt) / time.Second)
					ts.ExpiresInSeconds = max(0, int64(s.ExpiresAt.Sub(now)/time.Second))
				}
				switch ts.State {
				case stateMissing, stateExpired, stateMalformed:
					healthy = false
				}
				states = append(states, ts)
			}
			err = a.out.emit(map[string]any{"app_key": b.Config.AppKey, "store": string(b.Config.Store.Kind), "values": states}, func() error {
				a.out.printf("App %s, store %s\n\n", b.Config.AppKey, b.Config.Store.Kind)
				rows := make([][]string, 0, len(states))
				for _, s := range states {
					in, age := "-", "-"
					if s.Stored {
						in, age = duration(s.ExpiresAt.Sub(now)), duration(now.Sub(s.FetchedAt))
					}
					rows = append(rows, []string{string(s.Kind), s.State, in, a.out.when(s.ExpiresAt), age, orDash(s.FetchedBy)})
				}
				a.out.table([]string{"KIND", "STATE", "EXPIRES IN", "EXPIRES AT", "AGE", "FETCHED BY"}, rows)
				return nil
			})
			if err == nil && !healthy {
				return fmt.Errorf("%w: run dingfn token refresh, and check that the token-refresher function runs", errUnhealthy)
			}
			return err
		},
	}
}

func (a *app) tokenRefreshCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Run one token-refresher tick now: renew what is within 30 minutes of expiry",
		Long: `Run exactly what the token-refresher function runs on its timer: renew the
access token and then the jsapi ticket when less than 30 minutes of their
life remain (or none is stored), under the same store lease, so it never
races a deployed refresher. A value with time left is kept: DingTalk would
return the same one.`,
		Example: `  dingfn token refresh
  dingfn token refresh --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := a.open(cmd.Context(), cmd, needApp)
			if err != nil {
				return err
			}
			defer b.Close()
			// The refresher the token-refresher function runs, on the
			// same provider and store lease.
			refresher, err := token.NewRefresher([]*token.Provider{b.Tokens})
			if err != nil {
				return err
			}
			rep, tickErr := refresher.Tick(cmd.Context())
			err = a.out.emit(rep, func() error {
				now := a.env.Now()
				rows := [][]string{}
				for _, app := range rep.Apps {
					for _, v := range []struct {
						kind token.Kind
						r    token.ValueReport
					}{{token.AccessToken, app.AccessToken}, {token.JSAPITicket, app.JSAPITicket}} {
						refreshed := "no (still valid)"
						if v.r.Refreshed {
							refreshed = "yes"
						}
						in := "-"
						if !v.r.ExpiresAt.IsZero() {
							in = duration(v.r.ExpiresAt.Sub(now))
						}
						if v.r.Error != "" {
							refreshed = "FAILED"
						}
						rows = append(rows, []string{string(v.kind), refreshed, in, a.out.when(v.r.ExpiresAt)})
					}
				}
				a.out.table([]string{"KIND", "REFRESHED", "EXPIRES IN", "EXPIRES AT"}, rows)
				return nil
			})
			if tickErr != nil {
				return tickErr
			}
			return err
		},
	}
}
