package callback

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkHandler measures a whole push, from request to encrypted reply,
// for the URL check and for a 4 KiB event.
func BenchmarkHandler(b *testing.B) {
	c := newCrypto(b, testToken, testKey, testOwner)
	h := mustHandler(b, c, &discard{}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	for _, bc := range []struct{ name, event string }{
		{"check_url", `{"EventType":"check_url"}`},
		{"event_4KiB", `{"EventType":"user_modify_org","CorpId":"ding1","Pad":"` + strings.Repeat("x", 4<<10) + `"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := push(b, c, bc.event, newSpelling)
			body, _ := io.ReadAll(req.Body)
			b.ReportAllocs()
			for b.Loop() {
				req.Body = io.NopCloser(strings.NewReader(string(body)))
				w := serve(h, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Dispatch(context.Context, *Event) error { return nil }
