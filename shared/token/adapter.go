package token

import (
	"context"
	"fmt"

	"github.com/dingfn/dingfn/shared/dingtalk"
)

// FromClient adapts a dingtalk client as the provider's Upstream. c may be
// the very client whose TokenSource the provider is (built with
// dingtalk.WithTokenSourceFrom, as shared/bundle does): token and ticket
// fetches never consult a TokenSource, so one client serves both.
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
