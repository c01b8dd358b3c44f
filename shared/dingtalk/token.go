package dingtalk

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// TokenSource supplies the app access token for every call that needs one.
// Implementations must be safe for concurrent use. The client calls
// Invalidate when DingTalk rejects a token as invalid or expired; an
// implementation must drop its cached token only if it is still token, so
// that a token another caller has just refreshed survives.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, token string) error
}

// Token is an access token or jsapi ticket with its lifetime as DingTalk
// reported it (7200 s today).
type Token struct {
	Value     string
	ExpiresIn time.Duration
}

// String keeps the token value out of fmt output.
func (t Token) String() string { return "dingtalk.Token{REDACTED}" }

// GoString keeps the token value out of %#v output.
func (t Token) GoString() string { return t.String() }

// LogValue keeps the token value out of slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// TokenFetcher fetches a new token from upstream.
type TokenFetcher func(ctx context.Context) (*Token, error)

// DefaultRefreshMargin is how long before expiry a cached token is replaced;
// DingTalk's calling guide suggests about 10 minutes.
const DefaultRefreshMargin = 10 * time.Minute

// MemoryTokenSource caches a token in memory and fetches a new one when it
// is missing, invalidated or within the refresh margin of expiry. Concurrent
// callers wait for a single upstream fetch. It is the client's default
// TokenSource; functions that share a token across instances should use a
// store-backed TokenSource instead.
type MemoryTokenSource struct {
	fetch  TokenFetcher
	margin time.Duration
	now    func() time.Time

	sem chan struct{} // held while fetching; a ctx-aware mutex

	mu      sync.Mutex
	value   string
	expires time.Time
}

var _ TokenSource = (*MemoryTokenSource)(nil)

// NewMemoryTokenSource returns a MemoryTokenSource over fetch with
// [DefaultRefreshMargin].
func NewMemoryTokenSource(fetch TokenFetcher) *MemoryTokenSource {
	return &MemoryTokenSource{
		fetch:  fetch,
		margin: DefaultRefreshMargin,
		now:    time.Now,
		sem:    make(chan struct{}, 1),
	}
}

// String keeps the cached token out of fmt output.
func (s *MemoryTokenSource) String() string { return "dingtalk.MemoryTokenSource{REDACTED}" }

// GoString keeps the cached token out of %#v output.
func (s *MemoryTokenSource) GoString() string { return s.String() }

func (s *MemoryTokenSource) cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != "" && s.now().Before(s.expires) {
		return s.value, true
	}
	return "", false
}

// AccessToken returns the cached token or fetches a new one.
func (s *MemoryTokenSource) AccessToken(ctx context.Context) (string, error) {
	if v, ok := s.cached(); ok {
		return v, nil
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.sem }()
	// Another caller may have fetched while we waited.
	if v, ok := s.cached(); ok {
		return v, nil
	}
	t, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	if t == nil || t.Value == "" {
		return "", errors.New("dingtalk: token fetch returned an empty token")
	}
	life := t.ExpiresIn - s.margin
	if t.ExpiresIn <= 2*s.margin {
		life = t.ExpiresIn / 2
	}
	s.mu.Lock()
	s.value, s.expires = t.Value, s.now().Add(life)
	s.mu.Unlock()
	return t.Value, nil
}

// Invalidate drops the cached token if it is still token.
func (s *MemoryTokenSource) Invalidate(_ context.Context, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value == token {
		s.value, s.expires = "", time.Time{}
	}
	return nil
}

// StaticTokenSource always returns the same token; Invalidate is a no-op.
// It suits tests and callers that manage the token elsewhere.
type StaticTokenSource string

var _ TokenSource = StaticTokenSource("")

// AccessToken returns the token.
func (s StaticTokenSource) AccessToken(context.Context) (string, error) {
	if s == "" {
		return "", errors.New("dingtalk: empty static token")
	}
	return string(s), nil
}

// String keeps the token out of fmt output.
func (s StaticTokenSource) String() string { return "dingtalk.StaticTokenSource{REDACTED}" }

// GoString keeps the token out of %#v output.
func (s StaticTokenSource) GoString() string { return s.String() }

// LogValue keeps the token out of slog output.
func (s StaticTokenSource) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Invalidate does nothing: a static token cannot be replaced.
func (StaticTokenSource) Invalidate(context.Context, string) error { return nil }
