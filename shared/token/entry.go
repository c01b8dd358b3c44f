package token

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Kind names one of the two cached credentials.
type Kind string

// The cached credentials.
const (
	AccessToken Kind = "access_token"
	JSAPITicket Kind = "jsapi_ticket"
)

// Kinds returns the cached credentials in refresh order (the ticket is
// fetched with the access token), as a new slice each time.
func Kinds() []Kind { return []Kind{AccessToken, JSAPITicket} }

// TicketHardLimit is how long DingTalk honours a jsapi ticket after it was
// first issued, however often it is renewed.
const TicketHardLimit = 24 * time.Hour

// DefaultTable is the store table holding tokens, tickets and their leases.
const DefaultTable = "tokens"

// hardLimit returns the cap on a value's life counted from its first issue,
// or 0 when there is none.
func (k Kind) hardLimit() time.Duration {
	if k == JSAPITicket {
		return TicketHardLimit
	}
	return 0
}

func (k Kind) valid() bool { return k == AccessToken || k == JSAPITicket }

// Key returns the store key of kind k for appKey. Production and test
// deployments of the same app compute the same key and share one value.
func Key(k Kind, appKey string) string { return string(k) + "/" + appKey }

// LeaseKey returns the store key of the refresh lease of kind k for appKey;
// the row is a shared/store/lease lease.
func LeaseKey(k Kind, appKey string) string { return "lease/" + string(k) + "/" + appKey }

// Entry is one cached credential with its lifetime. Its JSON form is the
// stored value; see the package documentation for the schema.
type Entry struct {
	Kind   Kind   `json:"kind"`
	AppKey string `json:"app_key"`
	// Value is the secret itself. It is never logged: Entry implements
	// slog.LogValuer and fmt.Stringer without it.
	Value string `json:"value"`
	// FetchedAt is when the upstream call that produced Value started, so
	// ExpiresAt errs on the early side.
	FetchedAt time.Time `json:"fetched_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// FetchedBy is the lease holder id (host/pid/random) of the process
	// that fetched the value, so an operator can tell who refreshed it;
	// empty for values stored before it was recorded.
	FetchedBy string `json:"fetched_by,omitempty"`
	// IssuedAt is when this ticket value was first seen; HardExpiresAt is
	// IssuedAt plus TicketHardLimit. Both are zero for access tokens.
	IssuedAt      time.Time `json:"issued_at,omitzero"`
	HardExpiresAt time.Time `json:"hard_expires_at,omitzero"`
}

// Remaining returns how long e stays valid after now (negative once expired).
func (e Entry) Remaining(now time.Time) time.Duration { return e.ExpiresAt.Sub(now) }

// Capped reports whether e's expiry is bound by the 24 h hard limit, in
// which case renewing it gains nothing: DingTalk returns the same ticket
// until it dies and a new one only afterwards.
func (e Entry) Capped() bool {
	return !e.HardExpiresAt.IsZero() && !e.ExpiresAt.Before(e.HardExpiresAt)
}

// needsRefresh reports whether e should be renewed at now given margin.
func (e Entry) needsRefresh(now time.Time, margin time.Duration) bool {
	if !now.Before(e.ExpiresAt) {
		return true
	}
	if e.Capped() {
		return false
	}
	return !now.Before(e.ExpiresAt.Add(-margin))
}

// String describes e without its value.
func (e Entry) String() string {
	return fmt.Sprintf("%s for %s (expires %s)", e.Kind, e.AppKey, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// LogValue keeps the value out of structured logs.
func (e Entry) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(e.Kind)),
		slog.String("app_key", e.AppKey),
		slog.Time("expires_at", e.ExpiresAt),
	)
}

// inUTC returns e with its times in UTC, as it is stored.
func (e Entry) inUTC() Entry {
	e.FetchedAt, e.ExpiresAt = e.FetchedAt.UTC(), e.ExpiresAt.UTC()
	if !e.IssuedAt.IsZero() {
		e.IssuedAt, e.HardExpiresAt = e.IssuedAt.UTC(), e.HardExpiresAt.UTC()
	}
	return e
}

// checkEntry returns an error unless e is a well-formed value of kind k
// for appKey.
func checkEntry(e Entry, k Kind, appKey string) error {
	if e.Kind != k || e.AppKey != appKey || e.Value == "" || e.ExpiresAt.IsZero() {
		return fmt.Errorf("token: stored %s for %s is malformed", k, appKey)
	}
	return nil
}

func unmarshalEntry(b []byte, k Kind, appKey string) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("token: decode stored %s: %w", k, err)
	}
	if err := checkEntry(e, k, appKey); err != nil {
		return Entry{}, err
	}
	return e, nil
}

var _ slog.LogValuer = Entry{}
var _ fmt.Stringer = Entry{}
