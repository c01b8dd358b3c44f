// Package callback is the protocol layer of the DingTalk (钉钉) event
// callback endpoint: it accepts DingTalk's HTTP push, verifies and decrypts
// it with dingcrypto, parses the event, hands it to a Dispatcher and answers
// with the encrypted "success" DingTalk waits for.
//
// A push is POST ?msg_signature=…&timestamp=…&nonce=… (or the older
// spellings signature= and timeStamp=) with the body {"encrypt":"…"}. The
// answer is HTTP 200 with {"msg_signature","timeStamp","nonce","encrypt"}.
// Anything else DingTalk counts as a failed delivery and retries after 10 s
// and again after 30 s, which is why a Dispatcher error is answered with a
// 5xx rather than "success": the event is not lost, DingTalk sends it again.
//
// The push's timestamp must lie within DefaultMaxClockSkew (5 min) of the
// handler's clock unless WithMaxClockSkew says otherwise, which bounds
// replays of a captured push; inside the window the event log's dedupe
// (package events) acknowledges a replay without acting on it twice.
//
// Bad requests are answered with a 4xx and dingfn's JSON error body
// {"error":"<code>","message":"<text>","request_id":…} (httpapi.WriteError);
// nothing is dispatched, and the
// reason is logged at warn level without the body or any secret.
//
// Reference: https://open.dingtalk.com/document/development/http-callback-overview
package callback
