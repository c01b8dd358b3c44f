package dingtalk

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// AuthService covers tokens, jsapi tickets and user identity: 免登 codes,
// QR/scan login codes and unionid → userid.
type AuthService service

var (
	epAccessToken      = apiEP(http.MethodPost, "/v1.0/oauth2/accessToken", true).withAuth(authNone)
	epGetToken         = oapiEP(http.MethodGet, "/gettoken", true).withAuth(authNone)
	epJSAPITicket      = apiEP(http.MethodPost, "/v1.0/oauth2/jsapiTickets", true).withAuth(authExplicit)
	epGetJSAPITicket   = oapiEP(http.MethodGet, "/get_jsapi_ticket", true).withAuth(authExplicit)
	epUserAccessToken  = apiEP(http.MethodPost, "/v1.0/oauth2/userAccessToken", false).withAuth(authNone)
	epContactMe        = apiEP(http.MethodGet, "/v1.0/contact/users/me", true).withAuth(authExplicit)
	epUserGetUserInfo  = oapiEP(http.MethodPost, "/topapi/v2/user/getuserinfo", false) // one-time code
	epUserGetByUnionID = oapiEP(http.MethodPost, "/topapi/user/getbyunionid", true)
)

// GetAccessToken fetches a new app access token with the app key and
// secret. It never reads or fills the client's TokenSource: it is what a
// TokenSource calls. By default it uses POST /v1.0/oauth2/accessToken, which
// keeps the secret out of the URL; [WithLegacyAuthEndpoints] switches to
// GET /gettoken.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-the-access_token-of-an-internal-app
func (s *AuthService) GetAccessToken(ctx context.Context) (*Token, error) {
	c := s.client
	if c.appKey == "" || c.appSecret == "" {
		return nil, errors.New("dingtalk: GetAccessToken needs appKey and appSecret")
	}
	if c.legacyAuth {
		var out struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		q := url.Values{"appkey": {c.appKey}, "appsecret": {c.appSecret}}
		if err := c.oapi(ctx, epGetToken, q, nil, &out); err != nil {
			return nil, err
		}
		return checkToken(epGetToken, out.AccessToken, out.ExpiresIn)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int64  `json:"expireIn"`
	}
	in := struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}{c.appKey, c.appSecret}
	if err := c.api(ctx, epAccessToken, nil, in, &out); err != nil {
		return nil, err
	}
	return checkToken(epAccessToken, out.AccessToken, out.ExpireIn)
}

func checkToken(ep endpoint, v string, secs int64) (*Token, error) {
	if v == "" {
		return nil, &Error{API: ep.api, Method: ep.method, HTTPStatus: http.StatusOK, ErrMsg: "reply has no token"}
	}
	if secs <= 0 {
		secs = 7200
	}
	return &Token{Value: v, ExpiresIn: time.Duration(secs) * time.Second}, nil
}

// GetJSAPITicket fetches the jsapi ticket with the given app access token.
// It does not use the client's TokenSource and does not invalidate
// anything when the token is rejected: the caller (the token refresher)
// owns both. Keep one shared cache of the ticket: every fetch renews it
// and a fetch from another environment can overwrite it.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/create-a-jsapi-ticket
func (s *AuthService) GetJSAPITicket(ctx context.Context, accessToken string) (*Token, error) {
	c := s.client
	if accessToken == "" {
		return nil, errors.New("dingtalk: GetJSAPITicket needs an access token")
	}
	if c.legacyAuth {
		var out struct {
			Ticket    string `json:"ticket"`
			ExpiresIn int64  `json:"expires_in"`
		}
		if err := c.do(ctx, &request{ep: epGetJSAPITicket, token: accessToken}, &out); err != nil {
			return nil, err
		}
		return checkToken(epGetJSAPITicket, out.Ticket, out.ExpiresIn)
	}
	var out struct {
		JSAPITicket string `json:"jsapiTicket"`
		ExpireIn    int64  `json:"expireIn"`
	}
	if err := c.do(ctx, &request{ep: epJSAPITicket, token: accessToken}, &out); err != nil {
		return nil, err
	}
	return checkToken(epJSAPITicket, out.JSAPITicket, out.ExpireIn)
}

// UserInfo is the identity behind a 免登 (login-free) code.
type UserInfo struct {
	UserID            string `json:"userid"`
	DeviceID          string `json:"device_id"`
	Sys               bool   `json:"sys"`
	SysLevel          int    `json:"sys_level"` // 1 main admin, 2 sub admin, 100 boss, 0 other
	AssociatedUnionID string `json:"associated_unionid"`
	UnionID           string `json:"unionid"`
	Name              string `json:"name"`
}

// GetUserInfo exchanges a 免登 code from the DingTalk client (valid once,
// for 5 minutes) for the user's identity. Replaces GET /user/getuserinfo.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-the-userid-of-a-user-by-using-the-log-free
func (s *AuthService) GetUserInfo(ctx context.Context, code string) (*UserInfo, error) {
	if code == "" {
		return nil, errors.New("dingtalk: GetUserInfo needs a code")
	}
	return result[UserInfo](ctx, s.client, epUserGetUserInfo, nil, map[string]string{"code": code})
}

// UnionIDUser is the result of a unionid lookup.
type UnionIDUser struct {
	// ContactType is 0 for an employee, 1 for an external contact.
	ContactType int    `json:"contact_type"`
	UserID      string `json:"userid"`
}

// UserIDByUnionID maps a unionid to the user's userid in this organisation,
// with the app token. Replaces GET /user/getUseridByUnionid.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/query-a-user-by-the-union-id
func (s *AuthService) UserIDByUnionID(ctx context.Context, unionID string) (*UnionIDUser, error) {
	if unionID == "" {
		return nil, errors.New("dingtalk: UserIDByUnionID needs a unionid")
	}
	return result[UnionIDUser](ctx, s.client, epUserGetByUnionID, nil, map[string]string{"unionid": unionID})
}

// UserToken is a user access token from the OAuth2 login flow. It acts
// for the user, not the app.
type UserToken struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	CorpID       string
}

// String keeps the tokens out of fmt output.
func (t UserToken) String() string { return "dingtalk.UserToken{REDACTED}" }

// GoString keeps the tokens out of %#v output.
func (t UserToken) GoString() string { return t.String() }

// LogValue keeps the tokens out of slog output.
func (t UserToken) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// UserAccessToken exchanges the code from a QR/web login redirect (扫码登录)
// for a user access token.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-user-token
func (s *AuthService) UserAccessToken(ctx context.Context, code string) (*UserToken, error) {
	if code == "" {
		return nil, errors.New("dingtalk: UserAccessToken needs a code")
	}
	return s.userToken(ctx, "authorization_code", "code", code)
}

// RefreshUserAccessToken renews a user access token with its refresh token
// (valid 30 days).
func (s *AuthService) RefreshUserAccessToken(ctx context.Context, refreshToken string) (*UserToken, error) {
	if refreshToken == "" {
		return nil, errors.New("dingtalk: RefreshUserAccessToken needs a refresh token")
	}
	return s.userToken(ctx, "refresh_token", "refreshToken", refreshToken)
}

func (s *AuthService) userToken(ctx context.Context, grant, key, value string) (*UserToken, error) {
	c := s.client
	if c.appKey == "" || c.appSecret == "" {
		return nil, errors.New("dingtalk: user tokens need appKey and appSecret")
	}
	in := map[string]string{"clientId": c.appKey, "clientSecret": c.appSecret, "grantType": grant, key: value}
	var out struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
		ExpireIn     int64  `json:"expireIn"`
		CorpID       string `json:"corpId"`
	}
	if err := c.api(ctx, epUserAccessToken, nil, in, &out); err != nil {
		return nil, err
	}
	if out.AccessToken == "" {
		return nil, &Error{API: epUserAccessToken.api, Method: http.MethodPost, HTTPStatus: http.StatusOK, Message: "reply has no accessToken"}
	}
	return &UserToken{
		AccessToken:  out.AccessToken,
		RefreshToken: out.RefreshToken,
		ExpiresIn:    time.Duration(out.ExpireIn) * time.Second,
		CorpID:       out.CorpID,
	}, nil
}

// Me is the profile of the user a user access token belongs to.
type Me struct {
	Nick      string `json:"nick"`
	AvatarURL string `json:"avatarUrl"`
	Mobile    string `json:"mobile"`
	OpenID    string `json:"openId"`
	UnionID   string `json:"unionId"`
	Email     string `json:"email"`
	StateCode string `json:"stateCode"`
}

// GetMe returns the profile of the user behind userAccessToken (from
// UserAccessToken). The app token is not used.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/dingtalk-retrieve-user-information
func (s *AuthService) GetMe(ctx context.Context, userAccessToken string) (*Me, error) {
	if userAccessToken == "" {
		return nil, errors.New("dingtalk: GetMe needs a user access token")
	}
	var out Me
	if err := s.client.do(ctx, &request{ep: epContactMe, token: userAccessToken}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LoginIdentity is who completed a QR/web login.
type LoginIdentity struct {
	UserID      string
	UnionID     string
	ContactType int
	Nick        string
	CorpID      string
	Profile     *Me
}

// LoginUser resolves a QR/web login code to the user: code → user token →
// unionid → userid. The unionid → userid step uses the app token, because
// DingTalk does not accept a login-derived token there.
func (s *AuthService) LoginUser(ctx context.Context, code string) (*LoginIdentity, error) {
	ut, err := s.UserAccessToken(ctx, code)
	if err != nil {
		return nil, err
	}
	me, err := s.GetMe(ctx, ut.AccessToken)
	if err != nil {
		return nil, err
	}
	if me.UnionID == "" {
		return nil, &Error{API: epContactMe.api, Method: http.MethodGet, HTTPStatus: http.StatusOK, Message: "profile has no unionId"}
	}
	u, err := s.UserIDByUnionID(ctx, me.UnionID)
	if err != nil {
		return nil, err
	}
	return &LoginIdentity{UserID: u.UserID, UnionID: me.UnionID, ContactType: u.ContactType, Nick: me.Nick, CorpID: ut.CorpID, Profile: me}, nil
}

// DefaultLoginURL is where the browser goes for a QR/web login.
const DefaultLoginURL = "https://login.dingtalk.com/oauth2/auth"

// LoginURL returns the URL that starts a QR/web login for this app, with
// scope "openid" and prompt=consent. redirectURI must equal the one set in
// the developer console; state is returned unchanged and should be an
// unguessable value bound to the browser session.
func (s *AuthService) LoginURL(redirectURI, state string) string {
	q := url.Values{
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
		"client_id":     {s.client.appKey},
		"scope":         {"openid"},
		"prompt":        {"consent"},
	}
	if state != "" {
		q.Set("state", state)
	}
	return DefaultLoginURL + "?" + q.Encode()
}
