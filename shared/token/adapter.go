package token

import (
	"context"
	"fmt"

	"github.com/dingfn/dingfn/shared/dingtalk"
)

// FromClient adapts a dingtalk client as the provider's Upstream. Build c
// without WithTokenSource(provider): token and ticket calls never use a
// TokenSource, and the app's main client is the one that takes the
// provider.
func FromClient(c *dingtalk.Client) Upstream { return clientUpstream{c: c} }

type clientUpstream struct{ c *dingtalk.Client }

func (u clientUpstream) FetchAccessToken(ctx context.Context) (Fetched, error) {
	t, err := u.c.Auth.GetAccessToken(ctx)
	if err != nil {
		return Fetched{}, err
	}
	return Fetched{Value: t.Value, ExpiresIn: t.ExpiresIn}, nil
}

func (u clientUpstream) FetchJSAPITicket(ctx context.Context, accessToken string) (Fetched, error) {
	t, err := u.c.Auth.GetJSAPITicket(ctx, accessToken)
	if err != nil {
		if dingtalk.IsTokenInvalid(err) {
			return Fetched{}, fmt.Errorf("%w: %w", ErrTokenRejected, err)
		}
		return Fetched{}, err
	}
	return Fetched{Value: t.Value, ExpiresIn: t.ExpiresIn}, nil
}

var _ dingtalk.TokenSource = (*Provider)(nil)
