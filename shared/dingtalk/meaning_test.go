package dingtalk

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestMeaning(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string // a fragment; "" means no meaning
	}{
		{"errcode", &Error{ErrCode: 60011}, "权限管理"},
		{"sub_code of 88", &Error{ErrCode: 88, SubCode: "60020"}, "IP whitelist"},
		{"bad credentials", &Error{ErrCode: 40096}, "DINGTALK_APP_SECRET"},
		{"callback exists", &Error{ErrCode: 71006}, "already registered"},
		{"new API code", &Error{HTTPStatus: 403, Code: "Forbidden.AccessDenied.IpNotInWhiteList"}, "IP whitelist"},
		{"new API rate limit", &Error{HTTPStatus: 403, Code: "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}, "rate limit"},
		{"other Forbidden", &Error{HTTPStatus: 403, Code: "Forbidden.Something"}, "Forbidden.Something"},
		{"rate limit", &Error{ErrCode: 90018}, "rate limit"},
		{"quota", &Error{HTTPStatus: 403, Code: "Forbidden.AccessDenied.ApiCountLimitForOrg"}, "monthly"},
		{"ip block", &Error{HTTPStatus: 403, Code: codePunish}, "5 minutes"},
		{"unreachable", &Error{Err: errors.New("dial tcp: refused"), transport: true}, "could not be reached"},
		{"401", &Error{HTTPStatus: http.StatusUnauthorized}, "access token"},
		{"5xx", &Error{HTTPStatus: 502}, "try again"},
		{"unknown errcode", &Error{ErrCode: 123456, ErrMsg: "奇怪"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.err.Meaning()
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Fatalf("Meaning() = %q, want it to contain %q", got, tt.want)
			}
		})
	}
}
