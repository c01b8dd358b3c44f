package dingtalk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGetAccessToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/v1.0/oauth2/accessToken", func(r *http.Request) {
		if r.Header.Get(tokenHeader) != "" || r.URL.RawQuery != "" {
			t.Errorf("token fetch carries a token or query: %q", r.URL.RawQuery)
		}
		testJSONBody(t, r, `{"appKey":"appkey-1","appSecret":"appsecret-SECRET"}`)
	}, `{"accessToken":"fresh","expireIn":7200}`)
	tok, err := e.client.Auth.GetAccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value != "fresh" || tok.ExpiresIn != 2*time.Hour {
		t.Errorf("token = %q %v", tok.Value, tok.ExpiresIn)
	}
	if e.tokens.fetches != 0 {
		t.Errorf("GetAccessToken used the TokenSource %d times", e.tokens.fetches)
	}
}

func TestGetAccessTokenLegacy(t *testing.T) {
	t.Parallel()
	e := setup(t, WithLegacyAuthEndpoints())
	e.handle(t, http.MethodGet, "/gettoken", func(r *http.Request) {
		testQuery(t, r, url.Values{"appkey": {"appkey-1"}, "appsecret": {"appsecret-SECRET"}})
		testNoBody(t, r)
	}, `{"errcode":0,"errmsg":"ok","access_token":"fresh","expires_in":7200}`)
	tok, err := e.client.Auth.GetAccessToken(context.Background())
	if err != nil || tok.Value != "fresh" || tok.ExpiresIn != 2*time.Hour {
		t.Fatalf("GetAccessToken = %+v, %v", tok, err)
	}
}

func TestGetAccessTokenBadCredentialsRedacted(t *testing.T) {
	t.Parallel()
	e := setup(t, WithLegacyAuthEndpoints())
	e.handle(t, http.MethodGet, "/gettoken", nil, `{"errcode":40096,"errmsg":"不合法的appKey或appSecret"}`)
	_, err := e.client.Auth.GetAccessToken(context.Background())
	de, ok := asError(err)
	if !ok || de.ErrCode != 40096 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(de.URL, "appsecret-SECRET") || strings.Contains(e.logs.String(), "appsecret-SECRET") {
		t.Errorf("app secret leaked: url %s\nlogs %s", de.URL, e.logs)
	}
	if IsTokenInvalid(err) || IsTransient(err) {
		t.Errorf("bad credentials classified as retryable: %v", err)
	}
	e2 := setup(t)
	e2.mux.HandleFunc("/v1.0/oauth2/accessToken", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"code":"invalidClientIdOrSecret","message":"无效的clientId或者clientSecret","requestid":"r"}`)
	})
	_, err = e2.client.Auth.GetAccessToken(context.Background())
	if de, ok := asError(err); !ok || de.Code != "invalidClientIdOrSecret" || de.HTTPStatus != 400 {
		t.Errorf("err = %v", err)
	}
}

func TestDefaultTokenSourceFetchesOnceAndRefreshesOnInvalid(t *testing.T) {
	t.Parallel()
	mux, srv, fetches := tokenCountingServer(t)
	var sent []string
	mux.HandleFunc("/topapi/user/listid", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("access_token")
		sent = append(sent, tok)
		if len(sent) == 3 {
			fmt.Fprint(w, `{"errcode":42001,"errmsg":"access_token超时"}`)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"result":{"userid_list":[]}}`)
	})
	var logs bytes.Buffer
	c, err := NewClient("k", "s", WithBaseURLs(srv.URL, srv.URL), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		// Without the time, "T1" cannot match a timestamp such as
		// 2026-11-30T10:01 and the leak check below means what it says.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Contact.ListUserIDs(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"T1", "T1", "T1", "T2"}
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("tokens sent = %v, want %v", sent, want)
	}
	if fetches.Load() != 2 {
		t.Errorf("token fetches = %d, want 2", fetches.Load())
	}
	if strings.Contains(logs.String(), "T1") || strings.Contains(logs.String(), "T2") {
		t.Errorf("logs leak the token:\n%s", logs.String())
	}
}

func TestGetJSAPITicket(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/v1.0/oauth2/jsapiTickets", func(r *http.Request) {
		if got := r.Header.Get(tokenHeader); got != "given-token" {
			t.Errorf("token header = %q, want the given token", got)
		}
		testNoBody(t, r)
	}, `{"jsapiTicket":"ticket-1","expireIn":7200}`)
	tk, err := e.client.Auth.GetJSAPITicket(context.Background(), "given-token")
	if err != nil || tk.Value != "ticket-1" || tk.ExpiresIn != 2*time.Hour {
		t.Fatalf("GetJSAPITicket = %+v, %v", tk, err)
	}
	if e.tokens.fetches != 0 {
		t.Error("GetJSAPITicket used the TokenSource")
	}
	if _, err := e.client.Auth.GetJSAPITicket(context.Background(), ""); err == nil {
		t.Error("empty token accepted")
	}

	l := setup(t, WithLegacyAuthEndpoints())
	l.handle(t, http.MethodGet, "/get_jsapi_ticket", func(r *http.Request) {
		if got := r.URL.Query().Get("access_token"); got != "given-token" {
			t.Errorf("access_token = %q", got)
		}
	}, `{"errcode":0,"errmsg":"ok","ticket":"ticket-2","expires_in":7200}`)
	tk, err = l.client.Auth.GetJSAPITicket(context.Background(), "given-token")
	if err != nil || tk.Value != "ticket-2" {
		t.Fatalf("legacy GetJSAPITicket = %+v, %v", tk, err)
	}
}

func TestGetUserInfo(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/user/getuserinfo", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"code":"authcode"}`)
	}, readTestdata(t, "user_getuserinfo.json"))
	u, err := e.client.Auth.GetUserInfo(context.Background(), "authcode")
	if err != nil {
		t.Fatal(err)
	}
	want := UserInfo{UserID: "manager4220", DeviceID: "dev-1", Sys: true, SysLevel: 1, AssociatedUnionID: "", UnionID: "union-1", Name: "测试用户"}
	if *u != want {
		t.Errorf("UserInfo = %+v, want %+v", *u, want)
	}
}

func TestUserIDByUnionID(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/user/getbyunionid", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"unionid":"union-1"}`)
	}, `{"errcode":0,"errmsg":"ok","result":{"contact_type":0,"userid":"manager4220"},"request_id":"r"}`)
	u, err := e.client.Auth.UserIDByUnionID(context.Background(), "union-1")
	if err != nil || u.UserID != "manager4220" || u.ContactType != 0 {
		t.Fatalf("UserIDByUnionID = %+v, %v", u, err)
	}
}

func TestLoginUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/v1.0/oauth2/userAccessToken", func(r *http.Request) {
		testJSONBody(t, r, `{"clientId":"appkey-1","clientSecret":"appsecret-SECRET","code":"login-code","grantType":"authorization_code"}`)
	}, `{"accessToken":"user-tok","refreshToken":"refresh-tok","expireIn":7200,"corpId":"ding123"}`)
	e.handle(t, http.MethodGet, "/v1.0/contact/users/me", func(r *http.Request) {
		if got := r.Header.Get(tokenHeader); got != "user-tok" {
			t.Errorf("users/me token = %q, want the user token", got)
		}
	}, `{"nick":"张三","avatarUrl":"https://a","mobile":"150","openId":"open-1","unionId":"union-1","email":"","stateCode":"86"}`)
	e.handle(t, http.MethodPost, "/topapi/user/getbyunionid", func(r *http.Request) {
		testOAPIToken(t, r) // the app token, not the user token
		testJSONBody(t, r, `{"unionid":"union-1"}`)
	}, `{"errcode":0,"result":{"contact_type":0,"userid":"u-42"}}`)
	id, err := e.client.Auth.LoginUser(context.Background(), "login-code")
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != "u-42" || id.UnionID != "union-1" || id.Nick != "张三" || id.CorpID != "ding123" || id.Profile.OpenID != "open-1" {
		t.Errorf("identity = %+v", id)
	}
}

func TestRefreshUserAccessToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/v1.0/oauth2/userAccessToken", func(r *http.Request) {
		testJSONBody(t, r, `{"clientId":"appkey-1","clientSecret":"appsecret-SECRET","refreshToken":"rt","grantType":"refresh_token"}`)
	}, `{"accessToken":"a2","refreshToken":"rt2","expireIn":7200}`)
	ut, err := e.client.Auth.RefreshUserAccessToken(context.Background(), "rt")
	if err != nil || ut.AccessToken != "a2" || ut.RefreshToken != "rt2" || ut.ExpiresIn != 2*time.Hour {
		t.Fatalf("Refresh = %+v, %v", ut, err)
	}
}

func TestUserCodeNotResent(t *testing.T) {
	t.Parallel()
	// A login code works once: resending after a lost reply would only
	// turn the real outcome into 40078.
	e := setup(t)
	hits := scripted(t, e, "/topapi/v2/user/getuserinfo", "HANGUP", `{"errcode":0,"result":{}}`)
	if _, err := e.client.Auth.GetUserInfo(context.Background(), "c"); err == nil {
		t.Error("want the transport error")
	}
	if hits.Load() != 1 {
		t.Errorf("hits = %d, want 1", hits.Load())
	}
}

func TestLoginURL(t *testing.T) {
	t.Parallel()
	c, _ := NewClient("appkey-1", "s")
	u, err := url.Parse(c.Auth.LoginURL("https://app.example.com/cb?x=1", "st8"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "login.dingtalk.com" || u.Path != "/oauth2/auth" || q.Get("redirect_uri") != "https://app.example.com/cb?x=1" ||
		q.Get("client_id") != "appkey-1" || q.Get("response_type") != "code" || q.Get("scope") != "openid" ||
		q.Get("prompt") != "consent" || q.Get("state") != "st8" {
		t.Errorf("LoginURL = %s", u)
	}
}

func TestTokenFetchFailureNotRetriedTwice(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var fetches, calls atomic.Int32
	mux.HandleFunc("/v1.0/oauth2/accessToken", func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.WriteHeader(429)
		fmt.Fprint(w, `{"code":"Throttling"}`)
	})
	mux.HandleFunc("/topapi/user/listid", func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	c, err := NewClient("k", "s", WithBaseURLs(srv.URL, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	_, err = c.Contact.ListUserIDs(context.Background(), 1)
	if !IsRateLimited(err) || !strings.Contains(err.Error(), "get access token") {
		t.Errorf("err = %v, want the token endpoint's rate limit", err)
	}
	// The token fetch retries itself (1 + 3); the outer call adds nothing.
	if fetches.Load() != 4 || calls.Load() != 0 {
		t.Errorf("token fetches = %d, calls = %d; want 4 and 0", fetches.Load(), calls.Load())
	}
}

// A token source built from the client itself fetches through that same
// client (token fetches carry no token, so there is no recursion), and the
// client's calls carry its tokens and report rejections to it.
func TestTokenSourceFromTheClientItself(t *testing.T) {
	t.Parallel()
	mux, srv, fetches := tokenCountingServer(t)
	var sent []string
	mux.HandleFunc("/topapi/user/listid", func(w http.ResponseWriter, r *http.Request) {
		sent = append(sent, r.URL.Query().Get("access_token"))
		if len(sent) == 2 {
			fmt.Fprint(w, `{"errcode":42001,"errmsg":"access_token超时"}`)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"result":{"userid_list":[]}}`)
	})
	var built *Client
	c, err := NewClient("k", "s", WithBaseURLs(srv.URL, srv.URL),
		WithTokenSourceFrom(func(c *Client) (TokenSource, error) {
			built = c
			return NewMemoryTokenSource(func(ctx context.Context) (*Token, error) { return c.Auth.GetAccessToken(ctx) }), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	if built != c {
		t.Fatalf("the builder got %v, want the client NewClient returned", built)
	}
	for range 2 {
		if _, err := c.Contact.ListUserIDs(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"T1", "T1", "T2"}; fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("tokens sent = %v, want %v", sent, want)
	}
	if fetches.Load() != 2 {
		t.Errorf("token fetches = %d, want 2", fetches.Load())
	}
}

func TestTokenSourceFromErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"nil builder", []Option{WithTokenSourceFrom(nil)}, "nil TokenSource builder"},
		{"builder fails", []Option{WithTokenSourceFrom(func(*Client) (TokenSource, error) { return nil, boom })}, "boom"},
		{"builder returns none", []Option{WithTokenSourceFrom(func(*Client) (TokenSource, error) { return nil, nil })}, "returned none"},
		{"both", []Option{WithTokenSource(&fakeTokens{}), WithTokenSourceFrom(func(*Client) (TokenSource, error) { return &fakeTokens{}, nil })}, "exclude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient("k", "s", tt.opts...)
			if err == nil || c != nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, %v; want an error containing %q", c, err, tt.want)
			}
		})
	}
}
