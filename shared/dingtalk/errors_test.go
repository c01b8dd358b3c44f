package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPredicates(t *testing.T) {
	t.Parallel()
	timeout := &net.DNSError{Err: "timeout", IsTimeout: true}
	tests := []struct {
		name                                 string
		err                                  error
		tokenInvalid, rateLimited, transient bool
		quota                                bool
	}{
		{"40014", &Error{ErrCode: 40014}, true, false, false, false},
		{"42001", &Error{ErrCode: 42001}, true, false, false, false},
		{"88 with sub_code 40014", &Error{ErrCode: 88, SubCode: "40014"}, true, false, false, false},
		{"88 with sub_code 60011 (no permission)", &Error{ErrCode: 88, SubCode: "60011"}, false, false, false, false},
		{"new InvalidAuthentication", &Error{HTTPStatus: 400, Code: "InvalidAuthentication"}, true, false, false, false},
		{"401", &Error{HTTPStatus: 401, Code: "Unauthorized"}, true, false, false, false},
		{"90018", &Error{ErrCode: 90018}, false, true, false, false},
		{"90002", &Error{ErrCode: 90002}, false, true, false, false},
		{"90005", &Error{ErrCode: 90005}, false, true, false, false},
		{"90006", &Error{ErrCode: 90006}, false, true, false, false},
		{"88 with sub_code 90018", &Error{ErrCode: 88, SubCode: "90018"}, false, true, false, false},
		{"403 QPS", &Error{HTTPStatus: 403, Code: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}, false, true, false, false},
		{"403 QPM", &Error{HTTPStatus: 403, Code: "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"}, false, true, false, false},
		{"429", &Error{HTTPStatus: 429, Code: "Throttling"}, false, true, false, false},
		{"per-IP block", &Error{Code: codePunish}, false, true, false, false},
		{"43004 is Content-Type, not a rate limit", &Error{ErrCode: 43004}, false, false, false, false},
		{"robot send.too.fast", &Error{HTTPStatus: 400, Code: "send.too.fast"}, false, true, false, false},
		{"robot send.byToken.tooFast", &Error{HTTPStatus: 400, Code: "send.byToken.tooFast"}, false, true, false, false},
		{"robot too.many.people", &Error{HTTPStatus: 400, Code: "too.many.people"}, false, true, false, false},
		{"robot invalidParameter is not a rate limit", &Error{HTTPStatus: 400, Code: "invalidParameter.userIds.overMax"}, false, false, false, false},
		{"robot system.error", &Error{HTTPStatus: 500, Code: "system.error"}, false, false, true, false},
		{"90020 quota", &Error{ErrCode: 90020}, false, false, false, true},
		{"403 quota", &Error{HTTPStatus: 403, Code: "Forbidden.AccessDenied.ApiCountLimitForOrg"}, false, false, false, true},
		{"-1 busy", &Error{ErrCode: -1}, false, false, true, false},
		{"500", &Error{HTTPStatus: 500}, false, false, true, false},
		{"503", &Error{HTTPStatus: 503, Code: "ServiceUnavailable"}, false, false, true, false},
		{"system.busy", &Error{HTTPStatus: 400, Code: "system.busy"}, false, false, true, false},
		{"transport", &Error{Err: errors.New("connection reset"), transport: true}, false, false, true, false},
		{"transport cancelled", &Error{Err: context.Canceled, transport: true}, false, false, false, false},
		{"bare timeout", timeout, false, false, true, false},
		{"60121 not found", &Error{ErrCode: 60121}, false, false, false, false},
		{"wrapped 40014", fmt.Errorf("sync: %w", &Error{ErrCode: 40014}), true, false, false, false},
		{"plain error", errors.New("x"), false, false, false, false},
		{"nil", nil, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTokenInvalid(tt.err); got != tt.tokenInvalid {
				t.Errorf("IsTokenInvalid = %v, want %v", got, tt.tokenInvalid)
			}
			if got := IsRateLimited(tt.err); got != tt.rateLimited {
				t.Errorf("IsRateLimited = %v, want %v", got, tt.rateLimited)
			}
			if got := IsTransient(tt.err); got != tt.transient {
				t.Errorf("IsTransient = %v, want %v", got, tt.transient)
			}
			if got := IsQuotaExhausted(tt.err); got != tt.quota {
				t.Errorf("IsQuotaExhausted = %v, want %v", got, tt.quota)
			}
		})
	}
}

func TestRobotCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code                          string
		invalid, sessionGone, limited bool
	}{
		{"invalidParameter.robotCode.notExsit", true, false, false},
		{"invalid.openConversationId", true, false, false},
		{"processQueryKey.expireTime", true, false, false},
		{"session.expired", true, true, false},
		{"session.notExisted", true, true, false},
		{"send.too.fast", false, false, true},
		{"toomuch.msg", false, false, true},
	}
	for _, tt := range tests {
		err := fmt.Errorf("send: %w", &Error{API: "v1.0/robot/groupMessages/send", HTTPStatus: 400, Code: tt.code})
		if got := IsInvalidArgument(err); got != tt.invalid {
			t.Errorf("%s: IsInvalidArgument = %v", tt.code, got)
		}
		if got := IsSessionGone(err); got != tt.sessionGone {
			t.Errorf("%s: IsSessionGone = %v", tt.code, got)
		}
		if got := IsRateLimited(err); got != tt.limited {
			t.Errorf("%s: IsRateLimited = %v", tt.code, got)
		}
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{API: "topapi/v2/user/get", ErrCode: 60121, ErrMsg: "找不到该用户", RequestID: "r1"},
			"dingtalk: topapi/v2/user/get: errcode 60121: 找不到该用户 [request_id r1]"},
		{&Error{API: "topapi/v2/user/get", ErrCode: 88, ErrMsg: "鉴权异常", SubCode: "40014", SubMsg: "不合法的access_token"},
			"dingtalk: topapi/v2/user/get: errcode 88: 鉴权异常 (sub_code 40014: 不合法的access_token)"},
		{&Error{API: "v1.0/workflow/processInstances", HTTPStatus: 403, Code: "Forbidden.AccessDenied.QpsLimitForApi", Message: "限流"},
			"dingtalk: v1.0/workflow/processInstances: HTTP 403 Forbidden.AccessDenied.QpsLimitForApi: 限流"},
		{&Error{API: "gettoken", HTTPStatus: 502}, "dingtalk: gettoken: HTTP 502"},
		{&Error{API: "x", Err: errors.New("boom")}, "dingtalk: x: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		status int
		ctype  string
		body   string
		call   func(*Client) error
		check  func(t *testing.T, e *Error)
	}{
		{
			name: "88 with string sub_code", path: "/topapi/v2/user/get", status: 200,
			body: readTestdata(t, "error_88_40014.json"),
			call: func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u", ""); return err },
			check: func(t *testing.T, e *Error) {
				if e.ErrCode != 88 || e.SubCode != "40014" || e.RequestID != "16jzlyre0dpy8" || e.API != "topapi/v2/user/get" || e.HTTPStatus != 200 {
					t.Errorf("error = %+v", e)
				}
			},
		},
		{
			name: "numeric sub_code", path: "/topapi/v2/user/get", status: 200,
			body: `{"errcode":88,"sub_code":60011,"errmsg":"x"}`,
			call: func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u", ""); return err },
			check: func(t *testing.T, e *Error) {
				if e.SubCode != "60011" {
					t.Errorf("SubCode = %q, want 60011", e.SubCode)
				}
			},
		},
		{
			name: "new API error", path: "/v1.0/workflow/processInstances", status: 400,
			body: readTestdata(t, "error_api_invalid_auth.json"),
			call: func(c *Client) error { _, err := c.Process.GetInstance(context.Background(), "p"); return err },
			check: func(t *testing.T, e *Error) {
				if e.Code != "InvalidAuthentication" || e.HTTPStatus != 400 || e.RequestID == "" || e.API != "v1.0/workflow/processInstances" {
					t.Errorf("error = %+v", e)
				}
			},
		},
		{
			name: "per-IP block JSON", path: "/topapi/user/listid", status: 200,
			body: readTestdata(t, "punish.json"),
			call: func(c *Client) error { _, err := c.Contact.ListUserIDs(context.Background(), 1); return err },
			check: func(t *testing.T, e *Error) {
				if e.Code != codePunish || !IsRateLimited(e) {
					t.Errorf("error = %+v, want a per-IP block", e)
				}
			},
		},
		{
			name: "HTML reply", path: "/topapi/user/listid", status: 200, ctype: "text/html",
			body: "<html>blocked</html>",
			call: func(c *Client) error { _, err := c.Contact.ListUserIDs(context.Background(), 1); return err },
			check: func(t *testing.T, e *Error) {
				if !IsRateLimited(e) {
					t.Errorf("error = %+v, want rate limited", e)
				}
			},
		},
		{
			name: "43004", path: "/topapi/user/listid", status: 200,
			body: `{"errcode":43004,"errmsg":"无效的HTTP HEADER Content-Type"}`,
			call: func(c *Client) error { _, err := c.Contact.ListUserIDs(context.Background(), 1); return err },
			check: func(t *testing.T, e *Error) {
				if e.ErrCode != 43004 || IsRateLimited(e) {
					t.Errorf("error = %+v", e)
				}
			},
		},
		{
			name: "malformed success reply", path: "/topapi/user/listid", status: 200,
			body: `{"errcode":0,"result":{"userid_list":"oops"}}`,
			call: func(c *Client) error { _, err := c.Contact.ListUserIDs(context.Background(), 1); return err },
			check: func(t *testing.T, e *Error) {
				if e.Err == nil || !strings.Contains(e.Error(), "decode reply") {
					t.Errorf("error = %v, want a decode error", e)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			e.mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			err := tt.call(e.client)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			tt.check(t, de)
			if strings.Contains(err.Error(), testToken) || strings.Contains(de.URL, testToken) {
				t.Errorf("error leaks the token: %v / %s", err, de.URL)
			}
		})
	}
}

func TestOutcomePredicates(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}
	tests := []struct {
		name                         string
		err                          error
		notFound, invalid, maybeSent bool
	}{
		{"60121 user", &Error{ErrCode: 60121}, true, false, false},
		{"60003 department", &Error{ErrCode: 60003}, true, false, false},
		{"60011 out of scope is not not-found", &Error{ErrCode: 88, SubCode: "60011"}, false, false, false},
		{"40035 missing parameter", &Error{ErrCode: 40035}, false, true, false},
		{"400002 invalid parameter", &Error{ErrCode: 400002}, false, true, false},
		{"40078 used code", &Error{ErrCode: 40078}, false, true, false},
		{"new API 400 invalidAuthCode", &Error{HTTPStatus: 400, Code: "invalidAuthCode"}, false, true, false},
		{"new API 400 InvalidAuthentication is a token problem", &Error{HTTPStatus: 400, Code: "InvalidAuthentication"}, false, false, false},
		{"rate limited was not carried out", &Error{ErrCode: 90018}, false, false, false},
		{"busy envelope was not carried out", &Error{ErrCode: -1, HTTPStatus: 200}, false, false, false},
		{"502 gateway page may have been", &Error{HTTPStatus: 502}, false, false, true},
		{"connection reset after sending", &Error{Err: read, transport: true}, false, false, true},
		{"refused connection was not sent", &Error{Err: dial, transport: true}, false, false, false},
		{"context ended during the call", fmt.Errorf("x: %w", context.DeadlineExceeded), false, false, true},
		{"token source failure was not sent", &tokenSourceError{api: "a", err: &Error{Err: read, transport: true}}, false, false, false},
		{"validation error was not sent", &ValidationError{Field: "msg"}, false, false, false},
		{"nil", nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNotFound(tt.err); got != tt.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, tt.notFound)
			}
			if got := IsInvalidArgument(tt.err); got != tt.invalid {
				t.Errorf("IsInvalidArgument = %v, want %v", got, tt.invalid)
			}
			if got := MaybeSent(tt.err); got != tt.maybeSent {
				t.Errorf("MaybeSent = %v, want %v", got, tt.maybeSent)
			}
		})
	}
}

func TestIsNotFound(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"60121 user", &Error{ErrCode: 60121}, true},
		{"60003 department", fmt.Errorf("walk: %w", &Error{ErrCode: 60003}), true},
		{"50004 out of scope", &Error{ErrCode: 50004}, false},
		{"88 with sub_code 60011 (no permission)", &Error{ErrCode: 88, SubCode: "60011"}, false},
		{"-1 busy", &Error{ErrCode: -1}, false},
		{"plain", errors.New("60121"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsNotFound(tt.err); got != tt.want {
			t.Errorf("%s: IsNotFound = %v, want %v", tt.name, got, tt.want)
		}
		if got, want := IsOutOfScope(tt.err), tt.name == "50004 out of scope"; got != want {
			t.Errorf("%s: IsOutOfScope = %v, want %v", tt.name, got, want)
		}
	}
}

// IsTokenUnavailable sees a token source's failure through wrapping, and
// only that: a call refused with a bad token is not one.
func TestIsTokenUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"store down", &tokenSourceError{api: "a", err: errors.New("store: connection refused")}, true},
		{"wrapped", fmt.Errorf("notify: send: %w", &tokenSourceError{api: "a", err: &Error{ErrCode: -1}}), true},
		{"bad token answered by the API", &Error{ErrCode: 40014}, false},
		{"busy", &Error{ErrCode: -1}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsTokenUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// stuckTokens is a token source that cannot answer before the caller
// gives up (its token endpoint down, its retries outlasting the context).
type stuckTokens struct{}

func (stuckTokens) AccessToken(ctx context.Context) (string, error) {
	<-ctx.Done()
	return "", fmt.Errorf("token: fetch: %w", ctx.Err())
}

func (stuckTokens) Invalidate(context.Context, string) error { return nil }

// A call whose context ends while it waits for its token never left: it
// is not one that may have been sent, and callers still see the
// deadline.
func TestDeadlineWaitingForToken(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	c, err := NewClient("appkey-1", "appsecret-SECRET", WithBaseURLs(srv.URL, srv.URL), WithTokenSource(stuckTokens{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Message.Send(ctx, &WorkNotice{AgentID: 1, UserIDList: []string{"u1"}, Msg: TextMessage("x")})
	if err == nil || hits.Load() != 0 {
		t.Fatalf("err %v, %d calls reached DingTalk; want an error and none", err, hits.Load())
	}
	if MaybeSent(err) || !IsTokenUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v: MaybeSent %v, IsTokenUnavailable %v, deadline %v; want false, true, true", err, MaybeSent(err), IsTokenUnavailable(err), errors.Is(err, context.DeadlineExceeded))
	}
}
