package notify

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/dingfn/dingfn/shared/token"
)

// Login kinds of POST /v1/login.
const (
	// LoginScan is a QR/web login (扫码登录): the code from the redirect
	// → user token → unionid → userid.
	LoginScan = "scan"
	// LoginInApp is a login-free code (免登) from dd.getAuthCode inside
	// the DingTalk client → userid.
	LoginInApp = "in_app"
)

// LoginRequest is a login code to exchange.
type LoginRequest struct {
	Code string `json:"code"`
	Kind string `json:"kind"`
}

// LoginAnswer is who logged in.
type LoginAnswer struct {
	UserID  string `json:"userid"`
	UnionID string `json:"unionid,omitempty"`
	Kind    string `json:"kind"`
	User    User   `json:"user"`
	// Source says where the user record came from.
	Source string `json:"source"`
}

// Login exchanges a login code for the user. Codes are valid once, for
// five minutes; a used or unknown code is 400 dingtalk_rejected.
func (s *Service) Login(ctx context.Context, req LoginRequest) (LoginAnswer, error) {
	if req.Code == "" || len(req.Code) > 256 || strings.ContainsAny(req.Code, " \t\r\n") {
		return LoginAnswer{}, invalid("code", "required", "code is the one-time login code (1 to 256 characters)")
	}
	var userid, unionid string
	switch req.Kind {
	case LoginScan:
		id, err := s.dt.Auth.LoginUser(ctx, req.Code)
		if err != nil {
			return LoginAnswer{}, AsError(err)
		}
		if id.ContactType != 0 || id.UserID == "" {
			return LoginAnswer{}, newError(http.StatusForbidden, "not_a_member", "the person who logged in is not a member of the organisation (an external contact or another organisation's user)")
		}
		userid, unionid = id.UserID, id.UnionID
	case LoginInApp:
		info, err := s.dt.Auth.GetUserInfo(ctx, req.Code)
		if err != nil {
			return LoginAnswer{}, AsError(err)
		}
		userid, unionid = info.UserID, info.UnionID
	default:
		return LoginAnswer{}, invalid("kind", "one_of", "kind must be %q (QR/web login code) or %q (免登 code from dd.getAuthCode)", LoginScan, LoginInApp)
	}
	u, err := s.User(ctx, userid)
	if err != nil {
		return LoginAnswer{}, err
	}
	if unionid == "" {
		unionid = u.UnionID
	}
	return LoginAnswer{UserID: userid, UnionID: unionid, Kind: req.Kind, User: u.User, Source: u.Source}, nil
}

// JSAPIConfigRequest is a page to sign dd.config for.
type JSAPIConfigRequest struct {
	// URL is the page's location.href, exactly as the browser has it.
	URL string `json:"url"`
	// JSAPIList is passed through to the answer, for dd.config.
	JSAPIList []string `json:"jsApiList,omitempty"`
}

// JSAPIConfig returns the dd.config fields for a page, signed with the
// shared jsapi ticket.
func (s *Service) JSAPIConfig(ctx context.Context, req JSAPIConfigRequest) (token.JSAPIConfig, error) {
	if s.signer == nil {
		return token.JSAPIConfig{}, newError(http.StatusNotImplemented, CodeNotConfigured, "dd.config signing needs DINGTALK_CORP_ID in notify's configuration")
	}
	if req.URL == "" {
		return token.JSAPIConfig{}, invalid("url", "required", "url is the page's location.href")
	}
	cfg, err := s.signer.Config(ctx, req.URL, req.JSAPIList...)
	if errors.Is(err, token.ErrBadPageURL) {
		return token.JSAPIConfig{}, invalid("url", "format", "%s", err.Error())
	}
	if err != nil {
		return token.JSAPIConfig{}, AsError(err)
	}
	return cfg, nil
}
