package token

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// JSAPIConfig holds the fields a page passes to dd.config, in their
// JavaScript names, so a handler can write it as the JSON reply.
type JSAPIConfig struct {
	AgentID   string   `json:"agentId"`
	CorpID    string   `json:"corpId"`
	TimeStamp int64    `json:"timeStamp"`
	NonceStr  string   `json:"nonceStr"`
	Signature string   `json:"signature"`
	JSAPIList []string `json:"jsApiList,omitempty"`
}

// JSAPISigner signs dd.config parameters with the cached jsapi ticket
// (JSAPI 鉴权).
type JSAPISigner struct {
	p       *Provider
	corpID  string
	agentID string
	sign    func(ticket, nonceStr string, timestamp int64, pageURL string) string
}

// SignerOption configures a JSAPISigner. An invalid option makes
// NewJSAPISigner fail.
type SignerOption func(*JSAPISigner) error

// WithSHA256 signs with SHA-256, as DingTalk's current official sample
// does; the default is SHA-1, as the historical docs and every SDK do.
// Which one the DingTalk client accepts is undocumented: verify on a device.
func WithSHA256() SignerOption {
	return func(s *JSAPISigner) error {
		s.sign = dingcrypto.JSAPISignatureSHA256
		return nil
	}
}

// NewJSAPISigner returns a signer for the app of p in organisation corpID
// with agent agentID.
func NewJSAPISigner(p *Provider, corpID, agentID string, opts ...SignerOption) (*JSAPISigner, error) {
	if p == nil {
		return nil, errors.New("token: NewJSAPISigner: nil provider")
	}
	if corpID == "" || agentID == "" {
		return nil, errors.New("token: NewJSAPISigner: corp id and agent id are required")
	}
	s := &JSAPISigner{p: p, corpID: corpID, agentID: agentID, sign: dingcrypto.JSAPISignature}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Config returns the dd.config fields for the page at pageURL, which must be
// the page's location.href exactly as the browser reports it (the fragment
// is dropped; nothing is re-encoded). jsAPIList, if given, is passed
// through.
func (s *JSAPISigner) Config(ctx context.Context, pageURL string, jsAPIList ...string) (JSAPIConfig, error) {
	if err := checkPageURL(pageURL); err != nil {
		return JSAPIConfig{}, err
	}
	ticket, err := s.p.JSAPITicket(ctx)
	if err != nil {
		return JSAPIConfig{}, fmt.Errorf("token: jsapi config: %w", err)
	}
	nonce := dingcrypto.RandomAlnum(16)
	ts := s.p.now().Unix()
	return JSAPIConfig{
		AgentID:   s.agentID,
		CorpID:    s.corpID,
		TimeStamp: ts,
		NonceStr:  nonce,
		Signature: s.sign(ticket, nonce, ts, pageURL),
		JSAPIList: jsAPIList,
	}, nil
}

// ErrBadPageURL is returned for a page URL that cannot be a location.href.
var ErrBadPageURL = errors.New("token: page URL must be an absolute http(s) URL")

func checkPageURL(pageURL string) error {
	u, err := url.Parse(pageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w, got %q", ErrBadPageURL, truncate(pageURL, 200))
	}
	if strings.ContainsAny(pageURL, " \t\r\n") {
		return fmt.Errorf("%w without whitespace", ErrBadPageURL)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
