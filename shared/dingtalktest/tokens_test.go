package dingtalktest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func getToken(t *testing.T, s *Server) string {
	t.Helper()
	r := oapiGet(t, s, "gettoken", url.Values{"appkey": {s.AppKey()}, "appsecret": {s.AppSecret()}})
	wantErrcode(t, r, 0)
	if r.get("expires_in").(float64) != 7200 {
		t.Fatalf("expires_in %v, want 7200", r.get("expires_in"))
	}
	return r.str("access_token")
}

func TestTokenRefetchWithinValidityReturnsSameTokenAndExtends(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t)
	tok := getToken(t, s)
	clk.Advance(7000 * time.Second)
	if again := getToken(t, s); again != tok {
		t.Fatalf("refetch within validity gave %q, want the same %q", again, tok)
	}
	// The refetch extended the life: 7000 s later it is still valid.
	clk.Advance(7000 * time.Second)
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 0)
	// New-API fetch shares the token.
	r := v1(t, s, http.MethodPost, "v1.0/oauth2/accessToken", "", map[string]string{"appKey": s.AppKey(), "appSecret": s.AppSecret()})
	if r.status != 200 || r.str("accessToken") != tok || r.get("expireIn").(float64) != 7200 {
		t.Fatalf("v1.0 accessToken: %d %s, want the same token", r.status, r.raw)
	}
	if got := s.TokenIssues(); got != 1 {
		t.Fatalf("TokenIssues = %d, want 1", got)
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t)
	tok := getToken(t, s)
	clk.Advance(7200 * time.Second)
	r := oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"})
	wantErrcode(t, r, 88)
	if r.str("sub_code") != "42001" {
		t.Fatalf("sub_code %q, want string \"42001\"; %s", r.str("sub_code"), r.raw)
	}
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", tok, nil), 400, "InvalidAuthentication")
	if fresh := getToken(t, s); fresh == tok {
		t.Fatalf("after expiry gettoken returned the expired token")
	}
}

func TestInvalidateTokens(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tok := getToken(t, s)
	s.InvalidateTokens()
	r := oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"})
	wantErrcode(t, r, 88)
	if r.str("sub_code") != "40014" {
		t.Fatalf("sub_code %q, want \"40014\"", r.str("sub_code"))
	}
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", tok, nil), 400, "InvalidAuthentication")
	fresh := getToken(t, s)
	if fresh == tok {
		t.Fatal("a new token was not issued after invalidation")
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", fresh, map[string]any{"userid": "user000001"}), 0)
}

func TestTokenRequestValidation(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tests := []struct {
		name string
		r    func() result
		code int
	}{
		{"bad secret", func() result {
			return oapiGet(t, s, "gettoken", url.Values{"appkey": {s.AppKey()}, "appsecret": {"nope"}})
		}, 40096},
		{"form body is not read", func() result {
			return oapiForm(t, s, "gettoken", "", url.Values{"appkey": {s.AppKey()}, "appsecret": {s.AppSecret()}})
		}, 40035},
		{"missing token", func() result { return oapiJSON(t, s, "topapi/v2/user/get", "", map[string]any{"userid": "x"}) }, 88},
		{"unknown topapi", func() result { return oapiJSON(t, s, "topapi/v2/nothing/here", "", nil) }, 22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErrcode(t, tt.r(), tt.code) })
	}
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/oauth2/accessToken", "", map[string]string{"appKey": s.AppKey(), "appSecret": "x"}), 400, "invalidClientIdOrSecret")
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1.0/oauth2/accessToken", strings.NewReader("appKey="+s.AppKey()+"&appSecret="+s.AppSecret()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := do(t, req); r.status != 400 {
		t.Fatalf("form body to v1.0 accessToken: HTTP %d, want 400", r.status)
	}
	// A token in the query of a new-API call is not read.
	tok := s.AccessToken()
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/v1.0/oauth2/jsapiTickets?access_token="+tok, nil)
	wantCode(t, do(t, req), 400, "AuthenticationFailed.MissingParameter")
	// A token in an old-API form body is read.
	wantErrcode(t, oapiForm(t, s, "topapi/user/listid", "", url.Values{"access_token": {tok}, "dept_id": {"1"}}), 0)
}

func TestJSAPITicketLifecycle(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t)
	ticket := func() string {
		r := oapiGet(t, s, "get_jsapi_ticket", url.Values{"access_token": {s.AccessToken()}})
		wantErrcode(t, r, 0)
		return r.str("ticket")
	}
	first := ticket()
	r := v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", s.AccessToken(), nil)
	if r.status != 200 || r.str("jsapiTicket") != first {
		t.Fatalf("v1.0 ticket %s, want the same ticket %q", r.raw, first)
	}
	// Renewed every 100 minutes, it lives at most 24 h from first issue.
	for range 14 {
		clk.Advance(100 * time.Minute)
		if got := ticket(); got != first {
			t.Fatalf("renewal at %v gave a new ticket", clk.Now().Sub(t0))
		}
	}
	clk.Advance(61 * time.Minute) // 24 h 1 min after first issue
	if got := ticket(); got == first {
		t.Fatal("ticket outlived its 24 h hard limit")
	}
	if s.JSAPITicket() == first {
		t.Fatal("JSAPITicket still reports the old ticket")
	}
}

func TestAuthCodeOneTime(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithDemoOrg())
	code := s.NewAuthCode("zhangsan")
	r := oapiJSON(t, s, "topapi/v2/user/getuserinfo", s.AccessToken(), map[string]string{"code": code})
	wantErrcode(t, r, 0)
	if r.str("result", "userid") != "zhangsan" || r.get("result", "sys_level").(float64) != 1 {
		t.Fatalf("getuserinfo result %s", r.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/getuserinfo", s.AccessToken(), map[string]string{"code": code}), 40078)
	late := s.NewAuthCode("lisi")
	clk.Advance(5 * time.Minute)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/getuserinfo", s.AccessToken(), map[string]string{"code": late}), 40078)
}

func TestUserAccessTokenAndMe(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	body := map[string]string{"clientId": s.AppKey(), "clientSecret": s.AppSecret(), "grantType": "authorization_code", "code": s.NewLoginCode("lisi")}
	r := v1(t, s, http.MethodPost, "v1.0/oauth2/userAccessToken", "", body)
	if r.status != 200 || r.str("accessToken") == "" || r.str("refreshToken") == "" || r.str("corpId") != s.CorpID() {
		t.Fatalf("userAccessToken: %d %s", r.status, r.raw)
	}
	ut := r.str("accessToken")
	me := v1(t, s, http.MethodGet, "v1.0/contact/users/me", ut, nil)
	u, _ := s.User("lisi")
	if me.status != 200 || me.str("nick") != "李四" || me.str("unionId") != u.UnionID {
		t.Fatalf("users/me: %d %s", me.status, me.raw)
	}
	// The user token is not an app token.
	wantErrcode(t, oapiJSON(t, s, "topapi/user/getbyunionid", ut, map[string]string{"unionid": u.UnionID}), 88)
	// The code was one-time; the refresh token works once.
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/oauth2/userAccessToken", "", body), 400, "invalidAuthCode")
	ref := map[string]string{"clientId": s.AppKey(), "clientSecret": s.AppSecret(), "grantType": "refresh_token", "refreshToken": r.str("refreshToken")}
	if r2 := v1(t, s, http.MethodPost, "v1.0/oauth2/userAccessToken", "", ref); r2.status != 200 {
		t.Fatalf("refresh: %d %s", r2.status, r2.raw)
	}
	// A removed user is 404.
	if err := s.RemoveUser("lisi"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, v1(t, s, http.MethodGet, "v1.0/contact/users/me", ut, nil), 404, "invalidParameter.user.notFound")
}
