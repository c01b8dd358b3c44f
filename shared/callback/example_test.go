package callback_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// Wiring the endpoint for a console (app-level) subscription: the owner key
// is the appKey. In a function the token and key come from the environment.
func ExampleNewHandler() {
	c, err := dingcrypto.New("exampleToken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "dingExampleAppKey")
	if err != nil {
		panic(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the time so the example output is stable.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	h, err := callback.NewHandler(c, callback.LogDispatcher(logger), callback.WithLogger(logger))
	if err != nil {
		panic(err)
	}

	// What DingTalk sends: an encrypted event, signed in the query.
	env, _ := c.Encrypt([]byte(`{"EventType":"user_add_org","CorpId":"dingCorp","UserId":["u1"]}`))
	q := url.Values{"msg_signature": {env.MsgSignature}, "timestamp": {env.TimeStamp}, "nonce": {env.Nonce}}
	body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/callback?"+q.Encode(), bytes.NewReader(body)))

	var reply dingcrypto.Envelope
	_ = json.Unmarshal(w.Body.Bytes(), &reply)
	msg, _ := c.Decrypt(reply.MsgSignature, reply.TimeStamp, reply.Nonce, reply.Encrypt)
	fmt.Println(w.Code, string(msg))
	// Output:
	// level=INFO msg="callback event" type=user_add_org corp=dingCorp event_id=""
	// 200 success
}
