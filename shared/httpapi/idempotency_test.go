package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	uuid := "8e03978e-40d5-43e8-bc93-6894a57f9324"
	tests := []struct {
		name     string
		headers  []string
		want     string
		wantRule string
	}{
		{name: "absent"},
		{name: "uuid", headers: []string{uuid}, want: uuid},
		{name: "quoted as in the draft standard", headers: []string{`"` + uuid + `"`}, want: uuid},
		{name: "surrounding space", headers: []string{"  order-0042  "}, want: "order-0042"},
		{name: "shortest", headers: []string{"12345678"}, want: "12345678"},
		{name: "longest", headers: []string{strings.Repeat("k", 255)}, want: strings.Repeat("k", 255)},
		{name: "too short", headers: []string{"1234567"}, wantRule: "length"},
		{name: "too long", headers: []string{strings.Repeat("k", 256)}, wantRule: "length"},
		{name: "empty", headers: []string{""}, wantRule: "length"},
		{name: "empty quotes", headers: []string{`""`}, wantRule: "length"},
		{name: "inner space", headers: []string{"order 0042 x"}, wantRule: "charset"},
		{name: "non-ascii", headers: []string{"订单-00000042"}, wantRule: "charset"},
		{name: "control character", headers: []string{"order-\x01-0042"}, wantRule: "charset"},
		{name: "quote inside", headers: []string{`ab"cdefgh`}, wantRule: "charset"},
		{name: "twice", headers: []string{uuid, uuid}, wantRule: "single"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			for _, h := range tt.headers {
				r.Header.Add(IdempotencyKeyHeader, h)
			}
			got, err := IdempotencyKey(r)
			if tt.wantRule == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || got != "" {
				t.Fatalf("got %q, %v; want an *Error", got, err)
			}
			if e.Status != http.StatusBadRequest || e.Body.Error != CodeInvalidIdempotencyKey || e.Body.Rule != tt.wantRule ||
				e.Body.Field != IdempotencyKeyHeader || !strings.Contains(e.Body.Message, IdempotencyKeyHeader) {
				t.Errorf("got %+v, want 400 %s rule %s", e, CodeInvalidIdempotencyKey, tt.wantRule)
			}
		})
	}
}
