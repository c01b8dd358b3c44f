package platform

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestWriteError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r = r.WithContext(withRequestInfo(r.Context(), "req-1", ""))
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

	// Outside an adapter there is no request id, and the key is left out.
	w = httptest.NewRecorder()
	WriteError(w, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusNotFound, "not_found", "no such path")
	if _, ok := decodeMap(t, w.Body.Bytes())["request_id"]; ok {
		t.Errorf("request_id present without a request id: %s", w.Body)
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, http.StatusOK, func() {})
	if w.Code != http.StatusInternalServerError || decodeMap(t, w.Body.Bytes())["error"] != "internal_error" {
		t.Errorf("got %d %s, want 500 internal_error", w.Code, w.Body)
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
