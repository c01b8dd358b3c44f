package dingtalktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// newTestServer starts a server on a manual clock and closes it with t.
func newTestServer(t *testing.T, opts ...Option) (*Server, *ManualClock) {
	t.Helper()
	clk := NewManualClock(t0)
	s := NewServer(append([]Option{WithClock(clk.Now)}, opts...)...)
	t.Cleanup(s.Close)
	return s, clk
}

// result is a decoded reply.
type result struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r result) errcode() int {
	if v, ok := r.body["errcode"].(float64); ok {
		return int(v)
	}
	return -999
}

func (r result) str(path ...string) string {
	v := r.get(path...)
	s, _ := v.(string)
	return s
}

func (r result) get(path ...string) any {
	var cur any = r.body
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		r.body = nil
	}
	return r
}

// oapiJSON POSTs a JSON body to an old-API path with token in the query.
func oapiJSON(t *testing.T, s *Server, path, token string, body any) result {
	t.Helper()
	b, _ := json.Marshal(body)
	u := s.URL + "/" + path
	if token != "" {
		u += "?access_token=" + url.QueryEscape(token)
	}
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// oapiForm POSTs a form-urlencoded body to an old-API path.
func oapiForm(t *testing.T, s *Server, path, token string, form url.Values) result {
	t.Helper()
	u := s.URL + "/" + path
	if token != "" {
		u += "?access_token=" + url.QueryEscape(token)
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// oapiGet GETs an old-API path with a query.
func oapiGet(t *testing.T, s *Server, path string, q url.Values) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/"+path+"?"+q.Encode(), nil)
	return do(t, req)
}

// v1 calls a new-API path with the token in the header.
func v1(t *testing.T, s *Server, method, path, token string, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+"/"+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	return do(t, req)
}

func wantErrcode(t *testing.T, r result, want int) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d, want 200; body %s", r.status, r.raw)
	}
	if got := r.errcode(); got != want {
		t.Fatalf("errcode %d, want %d; body %s", got, want, r.raw)
	}
}

func wantCode(t *testing.T, r result, status int, code string) {
	t.Helper()
	if r.status != status || r.str("code") != code {
		t.Fatalf("got HTTP %d code %q, want %d %q; body %s", r.status, r.str("code"), status, code, r.raw)
	}
	if r.str("requestid") == "" {
		t.Errorf("error body without requestid: %s", r.raw)
	}
}

func wantErrcodeNamed(t *testing.T, name string, r result, want int) {
	t.Helper()
	if got := r.errcode(); got != want || r.status != 200 {
		t.Errorf("%s: HTTP %d errcode %d, want 200 %d; body %s", name, r.status, got, want, r.raw)
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
