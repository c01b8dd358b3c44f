package token

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultRefreshMargin is when the Refresher renews a value: with 120-minute
// values and a 10-minute schedule it renews once between 30 and 20 minutes
// before expiry, well before readers (5 minutes) would.
const DefaultRefreshMargin = 30 * time.Minute

// Refresher renews the tokens and tickets of one or more apps ahead of
// time; functions/token-refresher calls Tick on a schedule.
type Refresher struct {
	providers []*Provider
	margin    time.Duration
}

// RefresherOption configures a Refresher.
type RefresherOption func(*Refresher) error

// WithRefreshMargin sets how close to expiry Tick renews a value (default
// 30 minutes). It must exceed the providers' read margin plus the schedule
// interval, or readers will refresh before the Refresher does.
func WithRefreshMargin(d time.Duration) RefresherOption {
	return func(r *Refresher) error {
		if d <= 0 || d >= 2*time.Hour {
			return fmt.Errorf("token: WithRefreshMargin: %v is outside (0, 2h)", d)
		}
		r.margin = d
		return nil
	}
}

// NewRefresher returns a Refresher over providers, one per app.
func NewRefresher(providers []*Provider, opts ...RefresherOption) (*Refresher, error) {
	if len(providers) == 0 {
		return nil, errors.New("token: NewRefresher: no providers")
	}
	r := &Refresher{providers: providers, margin: DefaultRefreshMargin}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	for _, p := range providers {
		if p == nil {
			return nil, errors.New("token: NewRefresher: nil provider")
		}
		if r.margin <= p.readMargin {
			return nil, fmt.Errorf("token: NewRefresher: refresh margin %v must exceed the read margin %v of %s", r.margin, p.readMargin, p.appKey)
		}
	}
	return r, nil
}

// Report is the outcome of one Tick. It never contains a token or ticket.
type Report struct {
	OK   bool        `json:"ok"`
	At   time.Time   `json:"at"`
	Apps []AppReport `json:"apps"`
}

// AppReport is one app's part of a Report.
type AppReport struct {
	AppKey      string      `json:"app_key"`
	AccessToken ValueReport `json:"access_token"`
	JSAPITicket ValueReport `json:"jsapi_ticket"`
}

// ValueReport describes one value after a Tick.
type ValueReport struct {
	// Refreshed reports that the stored value was renewed during the tick,
	// by this Refresher or by the instance whose lease it waited for.
	Refreshed bool `json:"refreshed"`
	// ExpiresInSeconds is the remaining lifetime of the current value; 0
	// when there is none.
	ExpiresInSeconds int64     `json:"expires_in_seconds"`
	ExpiresAt        time.Time `json:"expires_at,omitzero"`
	// Capped reports a ticket whose life is bound by the 24 h limit: it is
	// served until it expires and replaced afterwards.
	Capped bool `json:"capped,omitempty"`
	// Error is the failure of this value's refresh, if any; the current
	// value may still be valid (see ExpiresInSeconds).
	Error string `json:"error,omitempty"`
}

// Tick renews every value within the refresh margin and reports the
// outcome. The error joins every failure in the report, so a scheduler
// marks the invocation failed even when old values are still being served.
// Its refreshes end with ctx: a cancelled tick (SIGTERM) stops fetching and
// releases the leases it holds before it returns.
func (r *Refresher) Tick(ctx context.Context) (Report, error) {
	rep := Report{At: r.providers[0].now().UTC(), Apps: make([]AppReport, 0, len(r.providers))}
	var errs []error
	for _, p := range r.providers {
		ar := AppReport{AppKey: p.appKey}
		var (
			tok    result
			tokErr error
		)
		for _, k := range Kinds() {
			m := mode{margin: r.margin, wait: true, bound: true}
			if k == JSAPITicket {
				// The ticket is fetched with the token this tick obtained;
				// when it obtained none, fetching it again for the ticket
				// would only double the failing calls and the wait.
				m.token = func(context.Context) (Entry, error) {
					if tokErr != nil {
						return Entry{}, fmt.Errorf("no access token: %w", tokErr)
					}
					return tok.entry, nil
				}
			}
			res, err := p.fly(ctx, k, m)
			if k == AccessToken {
				tok, tokErr = res, err
			}
			if err == nil {
				err = res.refreshErr
			}
			now := p.now()
			vr := ValueReport{Refreshed: res.refreshed}
			if !res.entry.ExpiresAt.IsZero() && now.Before(res.entry.ExpiresAt) {
				vr.ExpiresInSeconds = int64(res.entry.Remaining(now) / time.Second)
				vr.ExpiresAt = res.entry.ExpiresAt.UTC()
				vr.Capped = res.entry.Capped()
			}
			if err != nil {
				vr.Error = err.Error()
				errs = append(errs, fmt.Errorf("%s for %s: %w", k, p.appKey, err))
			}
			if k == AccessToken {
				ar.AccessToken = vr
			} else {
				ar.JSAPITicket = vr
			}
		}
		rep.Apps = append(rep.Apps, ar)
	}
	rep.OK = len(errs) == 0
	if len(errs) > 0 {
		return rep, fmt.Errorf("token: refresh: %w", errors.Join(errs...))
	}
	return rep, nil
}
