package callback

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// FuzzHandler drives the request parser two ways: an arbitrary query and
// body as sent (almost always rejected before decryption), and an
// arbitrary event payload encrypted and signed correctly (which reaches
// ParseEvent and the dispatcher). The handler must never panic, must
// answer JSON with a known status, and must dispatch exactly the valid,
// non-check events.
func FuzzHandler(f *testing.F) {
	// The official Python demo's credentials, so its published check_url
	// push is a seed that passes on the raw path.
	c := newCrypto(f, "mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "ding6ccabc44d2c8d38b")
	official := url.Values{"signature": {"03044561471240d4a14bb09372dfcfd4fd0e40cb"}, "timestamp": {"1608001896814"}, "nonce": {"WL4PK6yA"}}.Encode()
	f.Add(official, []byte(`{"encrypt":"0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3"}`),
		[]byte(`{"EventType":"user_add_org","CorpId":"ding1"}`))
	f.Add("signature=x&timeStamp=1&nonce=n", []byte(`{"encrypt":"AAAA"}`), []byte(`{"eventType":"check_url"}`))
	f.Add("msg_signature=&timestamp=&nonce=", []byte(`{"encrypt":null}`), []byte(`{"EventType":7}`))
	f.Add("%zz&;;=", []byte("\xff\xfe"), []byte(`{"EventTime":"x","TimeStamp":{"EventType":"a"}}`))
	f.Add(official, []byte(`{"encrypt":"x","encrypt":""}`), []byte(`success`))

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, rawQuery string, body, event []byte) {
		disp := &recorder{}
		h := mustHandler(t, c, disp, WithLogger(logger), WithMaxBody(64<<10))

		r := httptest.NewRequest(http.MethodPost, "/callback", bytes.NewReader(body))
		r.URL.RawQuery = rawQuery
		w := serve(h, r)
		checkReply(t, w)
		if w.Code != http.StatusOK && len(disp.got()) != 0 {
			t.Fatalf("rejected request (%d) was dispatched", w.Code)
		}

		disp = &recorder{}
		h = mustHandler(t, c, disp, WithLogger(logger))
		w = serve(h, push(t, c, string(event), newSpelling))
		checkReply(t, w)
		ev, parseErr := ParseEvent(event)
		switch {
		case parseErr != nil:
			if w.Code != http.StatusBadRequest || len(disp.got()) != 0 {
				t.Fatalf("unparsable event answered %d, dispatched %d", w.Code, len(disp.got()))
			}
		case IsCheck(ev.Type):
			if w.Code != http.StatusOK || len(disp.got()) != 0 {
				t.Fatalf("check event answered %d, dispatched %d", w.Code, len(disp.got()))
			}
		default:
			got := disp.got()
			if w.Code != http.StatusOK || len(got) != 1 || got[0].Type != ev.Type || !bytes.Equal(got[0].Raw, bytes.TrimSpace(event)) {
				t.Fatalf("valid event answered %d, dispatched %+v", w.Code, got)
			}
		}
	})
}

// checkReply asserts the invariants of every answer: JSON, a known status,
// and for 200 a well-formed encrypted success.
func checkReply(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Header().Get("Content-Type") != "application/json" || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("status %d reply is not JSON: %q", w.Code, w.Body)
	}
	switch w.Code {
	case 200:
		var env dingcrypto.Envelope
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Encrypt == "" || env.MsgSignature == "" {
			t.Fatalf("200 reply is not an envelope: %s", w.Body)
		}
	case 400, 401, 403, 413, 500:
	default:
		t.Fatalf("unexpected status %d: %s", w.Code, w.Body)
	}
}
