package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// Moved from shared/platform with WriteError: same body, same headers.
func TestWriteError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r = r.WithContext(WithRequestID(r.Context(), "req-1"))
	w := httptest.NewRecorder()
	WriteError(w, r, http.StatusBadRequest, "missing_parameter", "nonce is required")
	if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/json" ||
		w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("got %d %v", w.Code, w.Header())
	}
	var e map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"error": "missing_parameter", "message": "nonce is required", "request_id": "req-1"}
	if len(e) != len(want) || e["error"] != want["error"] || e["message"] != want["message"] || e["request_id"] != want["request_id"] {
		t.Errorf("body: got %v, want %v", e, want)
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options: got %q, want nosniff", w.Header().Get("X-Content-Type-Options"))
	}

	// Outside an adapter there is no request id, and the key is left out.
	w = httptest.NewRecorder()
	WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusNotFound, "not_found", "no such path")
	if _, ok := decodeMap(t, w.Body.Bytes())["request_id"]; ok {
		t.Errorf("request_id present without a request id: %s", w.Body)
	}
}

func TestWriteErrorBodyExtraFields(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r = r.WithContext(WithRequestID(r.Context(), "req-2"))
	tests := []struct {
		name string
		body ErrorBody
		want string
	}{
		{"field and rule", ErrorBody{Error: "invalid_message", Message: "text.content is required", Field: "msg.text.content", Rule: "required"},
			`{"error":"invalid_message","message":"text.content is required","field":"msg.text.content","rule":"required","request_id":"req-2"}`},
		{"dingtalk codes", ErrorBody{Error: "dingtalk_refused", Message: "m", DingTalkErrCode: 33012, DingTalkCode: "Forbidden"},
			`{"error":"dingtalk_refused","message":"m","dingtalk_errcode":33012,"dingtalk_code":"Forbidden","request_id":"req-2"}`},
		{"own request id kept", ErrorBody{Error: "e", Message: "m", RequestID: "other"}, `{"error":"e","message":"m","request_id":"other"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteErrorBody(w, r, http.StatusUnprocessableEntity, tt.body)
			if w.Code != http.StatusUnprocessableEntity || w.Body.String() != tt.want+"\n" {
				t.Errorf("got %d %s, want 422 %s", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, func() {})
	if w.Code != http.StatusInternalServerError || decodeMap(t, w.Body.Bytes())["error"] != "internal_error" {
		t.Errorf("got %d %s, want 500 internal_error", w.Code, w.Body)
	}
}

func TestRequestID(t *testing.T) {
	if got := RequestID(context.Background()); got != "" {
		t.Errorf("empty context: got %q", got)
	}
	if got := RequestID(WithRequestID(context.Background(), "abc")); got != "abc" {
		t.Errorf("got %q, want abc", got)
	}
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}
