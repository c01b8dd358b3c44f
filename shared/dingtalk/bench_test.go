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
	"testing"

	"golang.org/x/time/rate"
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
		if s := redactURL(u); len(s) == 0 {
			b.Fatal(fmt.Sprint(s))
		}
	}
}
