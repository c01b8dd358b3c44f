package token

import (
	"context"
	"errors"
	"time"
)

// Fetched is a credential as DingTalk returned it.
type Fetched struct {
	Value     string
	ExpiresIn time.Duration
}

// Upstream fetches fresh credentials from DingTalk. It must not itself use
// a token cache: the provider is the cache. [FromClient] adapts the
// dingtalk client.
type Upstream interface {
	// FetchAccessToken gets the app's access token (gettoken).
	FetchAccessToken(ctx context.Context) (Fetched, error)
	// FetchJSAPITicket gets the app's jsapi ticket with accessToken.
	FetchJSAPITicket(ctx context.Context, accessToken string) (Fetched, error)
}

// ErrTokenRejected marks an upstream error caused by DingTalk rejecting the
// access token passed in (40014, 42001, InvalidAuthentication). Upstream
// implementations wrap it so the provider can invalidate and retry once.
var ErrTokenRejected = errors.New("token: access token rejected by DingTalk")

// ErrUnavailable is returned when no valid value exists and none could be
// obtained; it wraps the cause (upstream or store failure).
var ErrUnavailable = errors.New("token: no valid value")
