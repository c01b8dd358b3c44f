package dingtalktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type tokenState struct {
	value   string
	expires time.Time
}

type ticketState struct {
	value          string
	first, expires time.Time
}

// jsapiHardLimit is how long a jsapi ticket lives at most after it was
// first issued, however often it is renewed.
const jsapiHardLimit = 24 * time.Hour

// authCodeTTL is the lifetime of a one-time 免登 or login code.
const authCodeTTL = 5 * time.Minute

// refreshTTL is the lifetime of a user refresh token.
const refreshTTL = 30 * 24 * time.Hour

type authCode struct {
	userID  string
	expires time.Time
}

type userToken struct {
	userID  string
	expires time.Time
}

// userAuth holds one-time codes and user tokens.
type userAuth struct {
	n          uint64
	codes      map[string]authCode // 免登 codes (getuserinfo)
	oauthCodes map[string]authCode // login codes (userAccessToken)
	tokens     map[string]userToken
	refresh    map[string]userToken
}

func (u *userAuth) init() {
	u.codes = map[string]authCode{}
	u.oauthCodes = map[string]authCode{}
	u.tokens = map[string]userToken{}
	u.refresh = map[string]userToken{}
}

func (u *userAuth) next(label string) string {
	u.n++
	return opaqueID(label, u.n)
}

// issueAppToken returns the current app token, renewing it, or a new one
// after expiry or invalidation. The caller holds s.mu.
func (s *Server) issueAppToken(now time.Time) *tokenState {
	if t := s.tokens[s.appToken]; t != nil && now.Before(t.expires) {
		t.expires = now.Add(s.tokenTTL)
		return t
	}
	s.reqN++
	t := &tokenState{value: opaqueID("token", s.reqN), expires: now.Add(s.tokenTTL)}
	s.tokenIssues++
	s.tokens[t.value] = t
	s.appToken = t.value
	return t
}

// AccessToken returns a valid app access token, as a gettoken call would,
// without recording a call. Tests use it for raw requests.
func (s *Server) AccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueAppToken(s.now()).value
}

// InvalidateTokens makes every app access token issued so far invalid:
// calls using one fail with 88/40014 (old API) or 400
// InvalidAuthentication (new API), and the next token request issues a
// new token.
func (s *Server) InvalidateTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	s.appToken = ""
}

// InvalidateJSAPITicket makes the next ticket request issue a new ticket.
func (s *Server) InvalidateJSAPITicket() {
	s.mu.Lock()
	s.ticket = nil
	s.mu.Unlock()
}

// TokenIssues counts the distinct app tokens issued so far.
func (s *Server) TokenIssues() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenIssues
}

// NewAuthCode issues a one-time 免登 code for userid, valid 5 minutes,
// as the JSAPI runtime.permission.requestAuthCode would; exchange it with
// topapi/v2/user/getuserinfo.
func (s *Server) NewAuthCode(userid string) string {
	return s.issueCode("authcode", s.users.codes, userid)
}

// NewLoginCode issues a one-time login (扫码登录) authCode for userid, as
// the redirect of login.dingtalk.com/oauth2/auth would carry; exchange it
// with /v1.0/oauth2/userAccessToken.
func (s *Server) NewLoginCode(userid string) string {
	return s.issueCode("logincode", s.users.oauthCodes, userid)
}

// issueCode records a one-time code for userid, valid authCodeTTL, in
// codes (the maps are made once, so passing one before locking is safe).
func (s *Server) issueCode(kind string, codes map[string]authCode, userid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.users.next(kind)
	codes[c] = authCode{userID: userid, expires: s.now().Add(authCodeTTL)}
	return c
}

// checkAppToken authenticates an app-token call. The caller holds s.mu.
func (s *Server) checkAppToken(rq *request, gen generation) (reply, bool) {
	if gen == genNew {
		tok := rq.r.Header.Get("x-acs-dingtalk-access-token")
		if tok == "" {
			return newFail(http.StatusBadRequest, "AuthenticationFailed.MissingParameter", "缺少参数 x-acs-dingtalk-access-token"), true
		}
		t := s.tokens[tok]
		if t == nil || !rq.now.Before(t.expires) {
			return newFail(http.StatusBadRequest, "InvalidAuthentication", "不合法的access_token"), true
		}
		return reply{}, false
	}
	tok, has := rq.params.str("access_token")
	if !has || tok == "" {
		return fail88("41001", "缺少access_token参数"), true
	}
	t := s.tokens[tok]
	if t == nil {
		return fail88("40014", "不合法的access_token"), true
	}
	if !rq.now.Before(t.expires) {
		return fail88("42001", "access_token已过期"), true
	}
	return reply{}, false
}

// checkUserToken authenticates a user-token call (new API).
func (s *Server) checkUserToken(rq *request) (reply, bool) {
	tok := rq.r.Header.Get("x-acs-dingtalk-access-token")
	if tok == "" {
		return newFail(http.StatusBadRequest, "AuthenticationFailed.MissingParameter", "缺少参数 x-acs-dingtalk-access-token"), true
	}
	t, ok := s.users.tokens[tok]
	if !ok {
		return newFail(http.StatusBadRequest, "InvalidAuthentication", "不合法的access_token"), true
	}
	if !rq.now.Before(t.expires) {
		return newFail(http.StatusBadRequest, "accesstoken.expired", "access_token已过期"), true
	}
	rq.userID = t.userID
	return reply{}, false
}

// GET /gettoken?appkey=&appsecret=
func (s *Server) getToken(rq *request) reply {
	q := rq.r.URL.Query()
	key, secret := q.Get("appkey"), q.Get("appsecret")
	if key == "" && secret == "" && q.Get("corpid") != "" {
		return fail(40089, "不合法的corpid或corpsecret")
	}
	if key == "" || secret == "" {
		return fail(40035, "缺少参数 appkey 或 appsecret（只读取查询参数）")
	}
	if key != s.appKey || secret != s.appSecret {
		return fail(40096, "不合法的appKey或appSecret")
	}
	t := s.issueAppToken(rq.now)
	return ok(map[string]any{"access_token": t.value, "expires_in": int(s.tokenTTL / time.Second)})
}

// POST /v1.0/oauth2/accessToken {"appKey","appSecret"}
func (s *Server) postAccessToken(rq *request) reply {
	var in struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	if in.AppKey == "" || in.AppSecret == "" {
		return newFail(http.StatusBadRequest, "MissingParameter", "appKey and appSecret are mandatory")
	}
	if in.AppKey != s.appKey || in.AppSecret != s.appSecret {
		return newFail(http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
	}
	t := s.issueAppToken(rq.now)
	return newOK(map[string]any{"accessToken": t.value, "expireIn": int64(s.tokenTTL / time.Second)})
}

// issueTicket returns the jsapi ticket, renewing it within its 24 h hard
// limit. The caller holds s.mu.
func (s *Server) issueTicket(now time.Time) *ticketState {
	t := s.ticket
	if t == nil || !now.Before(t.expires) {
		s.reqN++
		t = &ticketState{value: opaqueID("ticket", s.reqN), first: now}
		s.ticket = t
	}
	t.expires = now.Add(s.tokenTTL)
	if hard := t.first.Add(jsapiHardLimit); t.expires.After(hard) {
		t.expires = hard
	}
	return t
}

// GET /get_jsapi_ticket?access_token=
func (s *Server) getJSAPITicket(rq *request) reply {
	t := s.issueTicket(rq.now)
	return ok(map[string]any{"ticket": t.value, "expires_in": int(t.expires.Sub(rq.now) / time.Second)})
}

// POST /v1.0/oauth2/jsapiTickets
func (s *Server) postJSAPITicket(rq *request) reply {
	t := s.issueTicket(rq.now)
	return newOK(map[string]any{"jsapiTicket": t.value, "expireIn": int64(t.expires.Sub(rq.now) / time.Second)})
}

// JSAPITicket returns the current jsapi ticket ("" if none is valid), for
// checking dd.config signatures in tests.
func (s *Server) JSAPITicket() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ticket == nil || !s.now().Before(s.ticket.expires) {
		return ""
	}
	return s.ticket.value
}

// POST topapi/v2/user/getuserinfo {code} (免登)
func (s *Server) getUserInfoByCode(rq *request) reply {
	code, _ := rq.params.str("code")
	if code == "" {
		return fail(40035, "缺少参数 code")
	}
	c, found := s.users.codes[code]
	delete(s.users.codes, code)
	if !found || !rq.now.Before(c.expires) {
		return fail(40078, "不存在的临时授权码")
	}
	u := s.dir.users[c.userID]
	if u == nil {
		return fail(60121, "找不到该用户")
	}
	level := 0
	switch {
	case u.Admin:
		level = 1
	case u.Boss:
		level = 100
	}
	return ok(map[string]any{"result": map[string]any{
		"userid": u.UserID, "device_id": opaqueID("device", uint64(len(u.UserID))),
		"sys": u.Admin, "sys_level": level, "associated_unionid": "", "unionid": u.UnionID, "name": u.Name,
	}})
}

// POST /v1.0/oauth2/userAccessToken
func (s *Server) postUserAccessToken(rq *request) reply {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		GrantType    string `json:"grantType"`
		Code         string `json:"code"`
		RefreshToken string `json:"refreshToken"`
	}
	if rep, bad := decodeNewBody(rq, &in); bad {
		return rep
	}
	if in.ClientID != s.appKey || in.ClientSecret != s.appSecret {
		return newFail(http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
	}
	var userID string
	switch in.GrantType {
	case "authorization_code":
		c, found := s.users.oauthCodes[in.Code]
		delete(s.users.oauthCodes, in.Code)
		if !found || !rq.now.Before(c.expires) {
			return newFail(http.StatusBadRequest, "invalidAuthCode", "无效的授权码")
		}
		userID = c.userID
	case "refresh_token":
		t, found := s.users.refresh[in.RefreshToken]
		if !found || !rq.now.Before(t.expires) {
			return newFail(http.StatusBadRequest, "invalidRefreshToken", "无效的refreshToken")
		}
		delete(s.users.refresh, in.RefreshToken)
		userID = t.userID
	default:
		return newFail(http.StatusBadRequest, "invalidGrantType", fmt.Sprintf("grantType %q is not authorization_code or refresh_token", in.GrantType))
	}
	at, rt := s.users.next("usertoken"), s.users.next("refresh")
	s.users.tokens[at] = userToken{userID: userID, expires: rq.now.Add(s.tokenTTL)}
	s.users.refresh[rt] = userToken{userID: userID, expires: rq.now.Add(refreshTTL)}
	return newOK(map[string]any{"accessToken": at, "refreshToken": rt, "expireIn": int64(s.tokenTTL / time.Second), "corpId": s.corpID})
}

// GET /v1.0/contact/users/me (user token)
func (s *Server) getUsersMe(rq *request) reply {
	u := s.dir.users[rq.userID]
	if u == nil {
		return newFail(http.StatusNotFound, "invalidParameter.user.notFound", "用户不存在")
	}
	return newOK(map[string]any{
		"nick": u.Name, "avatarUrl": "", "mobile": u.Mobile, "openId": opaqueID("openid:"+s.appKey+u.UserID, 0)[:20],
		"unionId": u.UnionID, "email": u.Email, "stateCode": "86",
	})
}

// decodeNewBody decodes a new-API call's JSON body into v; a body that is
// missing, not JSON or not v's shape gets DingTalk's MissingBody answer.
func decodeNewBody(rq *request, v any) (reply, bool) {
	if !isJSON(rq.r) || json.Unmarshal(rq.body, v) != nil {
		return newFail(http.StatusBadRequest, "MissingBody", "body is mandatory"), true
	}
	return reply{}, false
}

func isJSON(r *http.Request) bool {
	return strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/json")
}
