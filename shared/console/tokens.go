package console

import (
	"context"
	"time"

	"github.com/dingfn/dingfn/shared/token"
)

// TokensView is the health of the app's cached credentials. It says when
// each was fetched, by whom, and when it expires; it has no field for the
// value.
type TokensView struct {
	Tokens []TokenView `json:"tokens"`
}

// TokenView is one cached credential (the access token or the jsapi
// ticket).
type TokenView struct {
	Kind string `json:"kind"`
	// Health is ok, expiring (within token.DefaultReadMargin: the next
	// reader refreshes it), expired, missing or malformed.
	Health    string     `json:"health"`
	Stored    bool       `json:"stored"`
	FetchedAt *time.Time `json:"fetched_at,omitempty"`
	// FetchedBy names the process that fetched it (host/pid/random).
	FetchedBy string     `json:"fetched_by,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ExpiresInS and AgeS are seconds from now (negative once expired).
	ExpiresInS int64 `json:"expires_in_s"`
	AgeS       int64 `json:"age_s"`
	// Capped says a ticket's expiry is its 24 h limit; HardExpiresAt is
	// that limit.
	Capped        bool       `json:"capped,omitempty"`
	HardExpiresAt *time.Time `json:"hard_expires_at,omitempty"`
}

// Token health values.
const (
	HealthOK        = "ok"
	HealthExpiring  = "expiring"
	HealthExpired   = "expired"
	HealthMissing   = "missing"
	HealthMalformed = "malformed"
)

func (c *Console) tokens(ctx context.Context) (*TokensView, error) {
	list, err := c.src.Tokens.Status(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	v := &TokensView{Tokens: make([]TokenView, 0, len(list))}
	for _, st := range list {
		tv := TokenView{Kind: string(st.Kind), Stored: st.Stored, FetchedBy: st.FetchedBy, Capped: st.Capped}
		switch {
		case st.Malformed:
			tv.Health = HealthMalformed
		case !st.Stored:
			tv.Health = HealthMissing
		case !now.Before(st.ExpiresAt):
			tv.Health = HealthExpired
		case st.ExpiresAt.Sub(now) < token.DefaultReadMargin:
			tv.Health = HealthExpiring
		default:
			tv.Health = HealthOK
		}
		if st.Stored {
			fetched, expires := st.FetchedAt, st.ExpiresAt
			tv.FetchedAt, tv.ExpiresAt = &fetched, &expires
			tv.ExpiresInS = int64(expires.Sub(now) / time.Second)
			tv.AgeS = int64(now.Sub(fetched) / time.Second)
			if !st.HardExpiresAt.IsZero() {
				hard := st.HardExpiresAt
				tv.HardExpiresAt = &hard
			}
		}
		v.Tokens = append(v.Tokens, tv)
	}
	return v, nil
}
