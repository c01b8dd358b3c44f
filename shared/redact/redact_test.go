package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"query token", "GET https://oapi.dingtalk.com/user/get?access_token=abc123&userid=u1", "GET https://oapi.dingtalk.com/user/get?access_token=REDACTED&userid=u1"},
		{"json camel case", `{"accessToken":"tok-1","expireIn":7200}`, `{"accessToken":"REDACTED","expireIn":7200}`},
		{"json with spaces and an assignment", `body {"appSecret": "sec"} and jsapi_ticket=t1`, `body {"appSecret": "REDACTED"} and jsapi_ticket=REDACTED`},
		{"header", "x-acs-dingtalk-access-token: abc", "x-acs-dingtalk-access-token: REDACTED"},
		{"bearer", "Authorization: Bearer k-123", "Authorization: REDACTED"},
		{"bearer quoted", `{"Authorization": "Bearer k 1"}`, `{"Authorization": "REDACTED"}`},
		{"nothing secret", "userid=u1 deptId=2", "userid=u1 deptId=2"},
		{"robot sign", "POST /robot/send?access_token=r1&timestamp=1&sign=abc%2B", "POST /robot/send?access_token=REDACTED&timestamp=1&sign=REDACTED"},
		{"corpsecret", "GET /gettoken?corpid=c&corpsecret=s1", "GET /gettoken?corpid=c&corpsecret=REDACTED"},
		{"login code, aes key, sts", `{"tmp_auth_code":"x1","aes_key":"k1","SecurityToken":"sts"}`, `{"tmp_auth_code":"REDACTED","aes_key":"REDACTED","SecurityToken":"REDACTED"}`},
		{"words containing sign", "design=flat designation=x", "design=flat designation=x"},
		{"code is only secret in a query", `{"code":"InvalidAuthentication"}`, `{"code":"InvalidAuthentication"}`},
		{"quoted value with a space", `{"secret":"two words","ok":1}`, `{"secret":"REDACTED","ok":1}`},
		{"escaped quote inside", `{"token":"a\"b c","ok":1}`, `{"token":"REDACTED","ok":1}`},
		{"environment", "DINGTALK_APP_SECRET=s3 ALIBABA_CLOUD_SECURITY_TOKEN=t4 NOTIFY_API_KEYS=k5,k6 PORT=9000", "DINGTALK_APP_SECRET=REDACTED ALIBABA_CLOUD_SECURITY_TOKEN=REDACTED NOTIFY_API_KEYS=REDACTED PORT=9000"},
		{"robots", "DINGFN_ROBOTS=ops=t1:SECs1 PORT=9000", "DINGFN_ROBOTS=REDACTED PORT=9000"},
		{"go struct", "{AccessToken:abc123 ExpireIn:7200}", "{AccessToken:REDACTED ExpireIn:7200}"},
		{"empty value kept", "access_token=&userid=u1", "access_token=&userid=u1"},

		// The path word accessToken (and ticket, token) followed by an
		// error is not a secret: every word stays.
		{"transport error on the token API",
			`dingtalk: v1.0/oauth2/accessToken: Post "http://127.0.0.1:1234/v1.0/oauth2/accessToken": dial tcp 127.0.0.1:1234: connect: connection refused`,
			`dingtalk: v1.0/oauth2/accessToken: Post "http://127.0.0.1:1234/v1.0/oauth2/accessToken": dial tcp 127.0.0.1:1234: connect: connection refused`},
		{"status error on the token API", "dingtalk: v1.0/oauth2/accessToken: HTTP 400 InvalidAuthentication: bad appkey", "dingtalk: v1.0/oauth2/accessToken: HTTP 400 InvalidAuthentication: bad appkey"},
		{"old API names", "dingtalk: get_jsapi_ticket: HTTP 502; dingtalk: gettoken: errcode 40089: invalid appkey", "dingtalk: get_jsapi_ticket: HTTP 502; dingtalk: gettoken: errcode 40089: invalid appkey"},
		{"store key", "lease/jsapi_ticket/dingapp: held until 12:00", "lease/jsapi_ticket/dingapp: held until 12:00"},
		{"url in a transport error keeps its words, loses its token",
			`Get "https://oapi.dingtalk.com/get_jsapi_ticket?access_token=T0K": dial tcp: lookup oapi.dingtalk.com: no such host`,
			`Get "https://oapi.dingtalk.com/get_jsapi_ticket?access_token=REDACTED": dial tcp: lookup oapi.dingtalk.com: no such host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q):\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// Every listed name, in each spelling, hides its value in each place a
// secret is written, and never touches the words around it.
func TestStringEveryName(t *testing.T) {
	t.Parallel()
	const value = "V4LUE"
	for _, s := range secrets {
		if s.queryOnly {
			continue
		}
		words := strings.Split(s.name, "_")
		camel := words[0]
		for _, w := range words[1:] {
			camel += strings.ToUpper(w[:1]) + w[1:]
		}
		spellings := []string{s.name, camel, strings.ToUpper(s.name), strings.ReplaceAll(s.name, "_", "-")}
		for _, n := range spellings {
			forms := []string{
				"before " + n + "=" + value + " after",
				`before {"` + n + `":"` + value + `"} after`,
				"before {" + n + ":" + value + "} after",
			}
			if s.header {
				forms = append(forms, "before\n"+n+": "+value+"\nafter")
			}
			for _, in := range forms {
				got := String(in)
				if strings.Contains(got, value) || !strings.Contains(got, Placeholder) || !strings.HasPrefix(got, "before") || !strings.HasSuffix(got, "after") {
					t.Errorf("String(%q) = %q", in, got)
				}
			}
		}
	}
}

func TestQueryAndURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://oapi.dingtalk.com/topapi/v2/user/get?access_token=t1&userid=u", "https://oapi.dingtalk.com/topapi/v2/user/get?access_token=REDACTED&userid=u"},
		{"https://example.com/cb?code=c1&state=s", "https://example.com/cb?code=REDACTED&state=s"},
		{"https://h/gettoken?appkey=k&appsecret=s&corpsecret=c", "https://h/gettoken?appkey=k&appsecret=REDACTED&corpsecret=REDACTED"},
		{"https://h/robot/send?access_token=t&timestamp=1&sign=a%2Bb", "https://h/robot/send?access_token=REDACTED&timestamp=1&sign=REDACTED"},
		{"https://h/x?tmp_auth_code=c&Access%5FToken=t&flag", "https://h/x?tmp_auth_code=REDACTED&Access%5FToken=REDACTED&flag"},
		{"https://user:pw@h/x?userid=u", "https://user:REDACTED@h/x?userid=u"},
		{"https://oapi.dingtalk.com/robot/sendBySession?session=s1", "https://oapi.dingtalk.com/robot/sendBySession?session=REDACTED"},
		{"https://h/v1.0/oauth2/accessToken", "https://h/v1.0/oauth2/accessToken"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); got != tt.want {
			t.Errorf("URL(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	if URL(nil) != "" || Query("") != "" {
		t.Error("empty input must give empty output")
	}
	for name, want := range map[string]bool{"access_token": true, "AccessToken": true, "code": true, "userid": false, "codes": false, "signature": true} {
		if got := IsSecretParam(name); got != want {
			t.Errorf("IsSecretParam(%q): got %v, want %v", name, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"access_token=abc", `{"appSecret":"x"}`, "Authorization: Bearer k", `"token":"unterminated`, "{Token:x}", "a&token=&b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if String(out) != out {
			t.Errorf("not idempotent: %q -> %q -> %q", s, out, String(out))
		}
	})
}

func BenchmarkString(b *testing.B) {
	inputs := []string{
		`dingtalk: v1.0/oauth2/accessToken: Post "http://127.0.0.1:1234/v1.0/oauth2/accessToken": dial tcp 127.0.0.1:1234: connect: connection refused`,
		"GET https://oapi.dingtalk.com/topapi/v2/user/get?access_token=abc123&userid=u1 failed: HTTP 502",
		"store: put tokens/access_token/dingapp: version conflict",
	}
	for b.Loop() {
		for _, s := range inputs {
			_ = String(s)
		}
	}
}
