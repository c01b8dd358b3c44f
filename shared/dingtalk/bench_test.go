package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/redact"
	"github.com/dingfn/dingfn/shared/wait"
)

func benchServer(b *testing.B) *httptest.Server {
	body := []byte(readTestdataB(b, "user_get.json"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func readTestdataB(b *testing.B, name string) string {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// BenchmarkGetUser measures one typed call through the client (limiter,
// token source, envelope check, decode) against a local server.
func BenchmarkGetUser(b *testing.B) {
	srv := benchServer(b)
	c, err := NewClient("k", "s", WithBaseURLs(srv.URL, srv.URL), WithTokenSource(StaticTokenSource("t")), WithRateLimit(rate.Inf, 0))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Contact.GetUser(ctx, "zhangsan", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawHTTP is the floor: the same exchange with bare net/http and
// encoding/json, no error handling beyond the status.
func BenchmarkRawHTTP(b *testing.B) {
	srv := benchServer(b)
	hc := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		body, _ := json.Marshal(map[string]string{"userid": "zhangsan"})
		resp, err := hc.Post(srv.URL+"/topapi/v2/user/get?access_token=t", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var out struct {
			Result User `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

func BenchmarkRedactURL(b *testing.B) {
	u, _ := url.Parse("https://oapi.dingtalk.com/topapi/v2/user/get?access_token=0123456789abcdef0123456789abcdef&x=1")
	b.ReportAllocs()
	for b.Loop() {
		if s := redact.URL(u); len(s) == 0 {
			b.Fatal(fmt.Sprint(s))
		}
	}
}

// BenchmarkNoticeEncode compares the work-notice body as Send builds it
// (the message encoded once, by validation, and spliced in) with
// validating and then encoding the whole notice again.
func BenchmarkNoticeEncode(b *testing.B) {
	n := &WorkNotice{AgentID: 1, UserIDList: CommaStrings{"u1", "u2", "u3"},
		Msg: MarkdownMessage("周报", strings.Repeat("**进展** 完成了同步与回调。\n", 20))}
	b.Run("once", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msg, err := n.validate()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := n.encode(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twice", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := n.Validate(); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(n); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLimiterPass measures a call the limiter lets through at once:
// the adaptive bucket against a bare rate.Limiter.Wait.
func BenchmarkLimiterPass(b *testing.B) {
	ctx := context.Background()
	b.Run("bucket", func(b *testing.B) {
		bk := newBucket("api", RateLimit{1e9, 1 << 20})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bk.wait(ctx, time.Now, wait.Sleep); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rate.Limiter", func(b *testing.B) {
		l := rate.NewLimiter(1e9, 1<<20)
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
