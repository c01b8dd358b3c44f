package platform

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The adapter's cost per request, next to calling the handler directly
// through httptest: the ratio is what the conversion adds.
func benchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","task_id":123456789}`)
	})
}

func BenchmarkDirectHandler(b *testing.B) {
	h := benchHandler()
	body := `{"encrypt":"` + strings.Repeat("A", 512) + `"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/callback?signature=abc&timestamp=1&nonce=n", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
}

func benchEvent(b *testing.B, serve func(context.Context, http.Handler, []byte) ([]byte, error), file string) {
	ev, err := readFile(file)
	if err != nil {
		b.Fatal(err)
	}
	h := benchHandler()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := serve(context.Background(), h, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServeFCHTTPEvent(b *testing.B) {
	benchEvent(b, ServeFCHTTPEvent, "fc-http-post-base64.json")
}

func BenchmarkServeLambdaHTTPEvent(b *testing.B) {
	benchEvent(b, ServeLambdaHTTPEvent, "lambda-url-post.json")
}
