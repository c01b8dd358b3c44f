package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	keyA = "0123456789abcdef0123"
	keyB = "fedcba9876543210fedc"
)

func TestParseKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		wantNames []string
		wantErr   []string // substrings of the error, which never holds a key
	}{
		{name: "bare keys get fingerprints", in: keyA + "," + keyB, wantNames: []string{"key-" + fingerprint(keyA), "key-" + fingerprint(keyB)}},
		{name: "named keys", in: "billing=" + keyA + ", crm = " + keyB, wantNames: []string{"billing", "crm"}},
		{name: "mixed", in: " ops.team-1=" + keyA + " ,\t" + keyB + " ", wantNames: []string{"ops.team-1", "key-" + fingerprint(keyB)}},
		{name: "base64 key with a name", in: "hr=" + "QUJDREVGR0hJSktMTU5PUA==", wantNames: []string{"hr"}},
		{name: "base64 key with / is a bare key", in: "ab/cdefghijklmnopqrs=", wantNames: []string{"key-" + fingerprint("ab/cdefghijklmnopqrs=")}},
		{name: "single key", in: keyA, wantNames: []string{"key-" + fingerprint(keyA)}},

		{name: "empty", in: "", wantErr: []string{"empty key at entry 1"}},
		{name: "doubled and trailing commas", in: keyA + ",," + keyB + ",", wantErr: []string{"empty key at entry 2", "empty key at entry 4"}},
		{name: "short", in: "tiny-k3y", wantErr: []string{"shorter than 16 characters at entry 1"}},
		{name: "short named", in: "crm=tiny-k3y", wantErr: []string{`shorter than 16 characters at entry 1`}},
		{name: "unnamed base64 with padding", in: "QUJDREVGR0hJSktMTU5PUA==", wantErr: []string{"name=key"}},
		{name: "name without key", in: "crm=", wantErr: []string{`empty key at entry 1`}},
		{name: "space inside", in: "crm=0123456789 abcdef0123", wantErr: []string{"space"}},
		{name: "non-ascii", in: "crm=0123456789abcdef钥匙", wantErr: []string{"non-printable"}},
		{name: "duplicate name", in: "crm=" + keyA + ",crm=" + keyB, wantErr: []string{`same name at entries 1 and 2`}},
		{name: "duplicate key", in: "a=" + keyA + ",b=" + keyA, wantErr: []string{"same key at entries 1 and 2"}},
		{name: "every problem at once", in: "tiny-k3y,," + keyA + "," + keyA, wantErr: []string{"entry 1", "entry 2", "entries 3 and 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeys(tt.in)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := k.Names(); fmt.Sprint(got) != fmt.Sprint(tt.wantNames) {
					t.Errorf("names: got %v, want %v", got, tt.wantNames)
				}
				return
			}
			var ke *KeysError
			if !errors.As(err, &ke) || k != nil {
				t.Fatalf("got %v, %v; want a *KeysError", k, err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if len(ke.Problems) != len(tt.wantErr) && tt.name != "every problem at once" {
				t.Errorf("problems: got %q, want %d", ke.Problems, len(tt.wantErr))
			}
			for _, secret := range []string{keyA, keyB, "tiny-k3y", "QUJDREVGR0hJSktMTU5PUA", "0123456789", "crm"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes a key: %v", err)
				}
			}
		})
	}
}

func fingerprint(key string) string {
	k, err := ParseKeys(key)
	if err != nil {
		panic(err)
	}
	return strings.TrimPrefix(k.Names()[0], "key-")
}

func TestKeysRequire(t *testing.T) {
	t.Parallel()
	keys, err := ParseKeys("billing=" + keyA + "," + keyB)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	h := keys.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, Caller(r.Context()))
		w.WriteHeader(http.StatusNoContent)
	}))
	tests := []struct {
		name       string
		auth       []string
		wantStatus int
		wantCaller string
	}{
		{"named key", []string{"Bearer " + keyA}, 204, "billing"},
		{"bare key shows its fingerprint", []string{"Bearer " + keyB}, 204, "key-" + fingerprint(keyB)},
		{"scheme in any case, extra spaces", []string{"bearer   " + keyA}, 204, "billing"},
		{"no header", nil, 401, ""},
		{"empty header", []string{""}, 401, ""},
		{"scheme only", []string{"Bearer"}, 401, ""},
		{"scheme and space only", []string{"Bearer "}, 401, ""},
		{"wrong key", []string{"Bearer " + strings.Repeat("x", 20)}, 401, ""},
		{"prefix of a key", []string{"Bearer " + keyA[:19]}, 401, ""},
		{"key with a suffix", []string{"Bearer " + keyA + "0"}, 401, ""},
		{"name instead of key", []string{"Bearer billing"}, 401, ""},
		{"name=key as sent", []string{"Bearer billing=" + keyA}, 401, ""},
		{"basic scheme", []string{"Basic " + keyA}, 401, ""},
		{"bare key without scheme", []string{keyA}, 401, ""},
		{"two headers", []string{"Bearer " + keyA, "Bearer " + keyA}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest(http.MethodPost, "/send", nil)
			r = r.WithContext(WithRequestID(r.Context(), "req-3"))
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantStatus == 204 {
				if len(seen) != 1 || seen[0] != tt.wantCaller {
					t.Errorf("caller: got %v, want %q", seen, tt.wantCaller)
				}
				return
			}
			if seen != nil {
				t.Errorf("handler ran for a rejected request")
			}
			if got := w.Header().Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate: got %q, want Bearer", got)
			}
			// One answer for every failure: nothing tells a missing key
			// from a wrong one.
			want := `{"error":"unauthorized","message":"a valid bearer key is required: Authorization: Bearer \u003ckey\u003e","request_id":"req-3"}` + "\n"
			if w.Body.String() != want {
				t.Errorf("body: got %s, want %s", w.Body, want)
			}
		})
	}
}

func TestKeysEmptyAcceptsNobody(t *testing.T) {
	t.Parallel()
	for _, k := range []*Keys{nil, {}} {
		h := k.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler ran") }))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+keyA)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%v: got %d, want 401", k, w.Code)
		}
	}
}

func TestKeysNeverPrinted(t *testing.T) {
	t.Parallel()
	keys, err := ParseKeys("billing=" + keyA + "," + keyB)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("configured", "keys", keys)
	out := buf.String() + fmt.Sprint(keys) + fmt.Sprintf("%v %+v %s", keys, keys, keys)
	if strings.Contains(out, keyA) || strings.Contains(out, keyB) || !strings.Contains(out, "billing") {
		t.Errorf("printed: %s", out)
	}
	if keys.Len() != 2 {
		t.Errorf("Len: got %d", keys.Len())
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	var entries []string
	for i := range 16 {
		entries = append(entries, fmt.Sprintf("caller%d=%032d", i, i))
	}
	keys, err := ParseKeys(strings.Join(entries, ","))
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer "+fmt.Sprintf("%032d", 15))
	for b.Loop() {
		if _, ok := keys.Authenticate(r); !ok {
			b.Fatal("rejected")
		}
	}
}
