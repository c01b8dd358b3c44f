package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// Status describes one cached credential for an operator or a status page:
// when it was fetched, by whom, and when it expires. It has no field for
// the value, so showing a Status can never show a token or a ticket.
type Status struct {
	Kind   Kind   `json:"kind"`
	AppKey string `json:"app_key"`
	// Stored reports that the store holds a well-formed value; the other
	// fields are zero when it does not.
	Stored bool `json:"stored"`
	// Malformed reports a stored row that is not a value of this kind for
	// this app; the next refresh replaces it.
	Malformed bool      `json:"malformed,omitempty"`
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// FetchedBy is the holder id of the process that fetched the value
	// (see Entry.FetchedBy).
	FetchedBy string    `json:"fetched_by,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// IssuedAt and HardExpiresAt bound a ticket's life (see Entry).
	IssuedAt      time.Time `json:"issued_at,omitzero"`
	HardExpiresAt time.Time `json:"hard_expires_at,omitzero"`
	// Capped reports a ticket whose expiry is its 24 h limit.
	Capped bool `json:"capped,omitempty"`
}

// Status reads what the store holds for the access token and the ticket, without
// refreshing anything and without calling DingTalk.
func (p *Provider) Status(ctx context.Context) ([]Status, error) {
	kinds := []Kind{AccessToken, JSAPITicket}
	out := make([]Status, 0, len(kinds))
	for _, k := range kinds {
		st := Status{Kind: k, AppKey: p.appKey}
		rec, err := record.Get[Entry](ctx, p.st, p.table, Key(k, p.appKey))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case errors.Is(err, record.ErrMalformed):
			st.Malformed = true
		case err != nil:
			return nil, fmt.Errorf("token: status of %s for %s: %w", k, p.appKey, err)
		case !p.wellFormed(rec.Value, k):
			st.Malformed = true
		default:
			e := rec.Value
			st.Stored = true
			st.FetchedAt, st.FetchedBy, st.ExpiresAt = e.FetchedAt, e.FetchedBy, e.ExpiresAt
			st.IssuedAt, st.HardExpiresAt, st.Capped = e.IssuedAt, e.HardExpiresAt, e.Capped()
		}
		out = append(out, st)
	}
	return out, nil
}
