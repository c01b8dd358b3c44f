package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestIPBlocked(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"json block", `{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}`, true},
		{"html page", "\n  <html><body>访问被拒绝</body></html>", true},
		{"normal reply", `{"result":{"list":[]}}`, false},
		{"punish as a value", `{"name":"\"punish\""}`, false},
		{"empty punish", `{"punish":""}`, false},
		{"empty body", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := ipBlocked([]byte(tt.body)); got != tt.want {
				t.Errorf("ipBlocked(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestBlockMarked(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"json block", `{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}`, true},
		{"x5 punish page", `<html><script>location.href="/_____tmd_____/punish?x5secdata=abc"</script></html>`, true},
		{"x5sec page", `<html><body>X5SEC check</body></html>`, true},
		{"nginx 404", "<html><head><title>404 Not Found</title></head><body>nginx</body></html>", false},
		{"proxy 403", "<html><body><h1>403 Forbidden</h1>Request denied by proxy</body></html>", false},
		{"plain text", "Forbidden", false},
		{"api error", `{"code":"Forbidden","message":"punish the caller"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := blockMarked([]byte(tt.body)); got != tt.want {
				t.Errorf("blockMarked(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

// TestNonJSONReplies: a proxy's error page is reported with its status and
// not retried as a rate limit; only what the per-IP block sends is taken
// for it.
func TestNonJSONReplies(t *testing.T) {
	t.Parallel()
	const nginx404 = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	const x5Page = `<!DOCTYPE html><html><head><title>访问被拒绝</title></head><body><script>window.location.href="/_____tmd_____/punish?x5secdata=xx&x5step=1"</script></body></html>`
	getUser := func(c *Client) error { _, err := c.Contact.GetUser(context.Background(), "u1", ""); return err }
	getInstance := func(c *Client) error { _, err := c.Process.GetInstance(context.Background(), "p"); return err }
	tests := []struct {
		name        string
		path        string
		status      int
		body        string
		call        func(*Client) error
		blocked     bool
		transient   bool
		hits        int32
		wantStatus  int
		wantMessage string
	}{
		{"oapi 404 page", "/topapi/v2/user/get", 404, nginx404, getUser, false, false, 1, 404, "non-JSON reply (text/html)"},
		{"oapi 403 page", "/topapi/v2/user/get", 403, "<html><body>403 Forbidden by proxy</body></html>", getUser, false, false, 1, 403, "non-JSON reply"},
		{"oapi 407 text", "/topapi/v2/user/get", 407, "Proxy Authentication Required", getUser, false, false, 1, 407, "non-JSON reply"},
		{"api 404 page", "/v1.0/workflow/processInstances", 404, nginx404, getInstance, false, false, 1, 404, "non-JSON reply (text/html)"},
		{"oapi 502 page is transient", "/topapi/v2/user/get", 502, "<html>bad gateway</html>", getUser, false, true, 3, 502, "non-JSON reply"},
		{"oapi 403 x5 block page", "/topapi/v2/user/get", 403, x5Page, getUser, true, false, 1, 403, ""},
		{"api 403 x5 block page", "/v1.0/workflow/processInstances", 403, x5Page, getInstance, true, false, 1, 403, ""},
		{"oapi 200 block page", "/topapi/v2/user/get", 200, x5Page, getUser, true, false, 1, 200, ""},
		{"api 429 block JSON", "/v1.0/workflow/processInstances", 429, `{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}`, getInstance, true, false, 1, 429, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			var hits atomic.Int32
			e.mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			err := tt.call(e.client)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if de.HTTPStatus != tt.wantStatus {
				t.Errorf("HTTPStatus = %d, want %d", de.HTTPStatus, tt.wantStatus)
			}
			if got := de.Code == codePunish; got != tt.blocked {
				t.Errorf("taken for the per-IP block = %v, want %v (%v)", got, tt.blocked, err)
			}
			if tt.blocked {
				if !IsRateLimited(err) || de.RetryAfter < 5*time.Minute {
					t.Errorf("block: IsRateLimited = %v, RetryAfter = %v; want true, ≥ 5m", IsRateLimited(err), de.RetryAfter)
				}
			} else {
				if IsRateLimited(err) || de.RetryAfter != 0 {
					t.Errorf("page: IsRateLimited = %v, RetryAfter = %v; want false, 0", IsRateLimited(err), de.RetryAfter)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("HTTP %d: %s", tt.wantStatus, tt.wantMessage)) {
					t.Errorf("err = %q, want it to say HTTP %d: %s", err, tt.wantStatus, tt.wantMessage)
				}
			}
			if IsTransient(err) != tt.transient {
				t.Errorf("IsTransient = %v, want %v", IsTransient(err), tt.transient)
			}
			if hits.Load() != tt.hits {
				t.Errorf("hits = %d, want %d", hits.Load(), tt.hits)
			}
		})
	}
}
