// Package dingtalk is a typed client for the DingTalk (钉钉) server API of an
// enterprise internal app (企业内部应用).
//
// One [Client] holds the shared plumbing — base URLs, the *http.Client, the
// access-token source, per-API rate limiters, the retry policy and the
// logger — and exposes one service per API area, in the style of
// google/go-github:
//
//	c, err := dingtalk.NewClient(appKey, appSecret)
//	u, err := c.Contact.GetUser(ctx, "manager4220", nil)
//	for d, err := range c.Contact.WalkDepartments(ctx, dingtalk.RootDepartmentID) { … }
//
// DingTalk has two API generations. The old one ("oapi",
// https://oapi.dingtalk.com) takes the token in the access_token query
// parameter and reports failures as HTTP 200 with a non-zero errcode. The new
// one (https://api.dingtalk.com/v1.0) takes the token in the
// x-acs-dingtalk-access-token header and reports failures with an HTTP status
// and a string code. Every endpoint in this package declares its generation
// explicitly; the client never guesses it from the path. Where DingTalk has
// replaced an old endpoint, the services call the current one.
//
// Failures are returned as *[Error], which carries the API name, HTTP status,
// errcode, errmsg, sub_code, new-API code and request id. Branch on it with
// [IsTokenInvalid], [IsRateLimited], [IsTransient] and [IsQuotaExhausted] or
// with errors.As, never on message text.
//
// The client retries on its own, within the caller's context deadline:
//   - an invalid or expired token is invalidated in the [TokenSource] (only if
//     it is still the token that failed) and the call is retried once;
//   - rate-limit rejections are retried after the back-off DingTalk advises
//     (90018: about 1 s; 90002: 1, 2, 4 s), with jitter;
//   - "system busy" (errcode -1) is retried up to [RetryPolicy.MaxAttempts];
//   - transport errors, timeouts and 5xx replies are retried only for reads:
//     a work notice, a create call or any other write is never sent again
//     after a failure that leaves its outcome unknown. A connection that
//     could not be opened is retried for every call, because nothing was
//     sent.
//
// Each API has its own token-bucket rate limiter (golang.org/x/time/rate),
// by default below DingTalk's standard-edition limit of 20 QPS per app per
// API. The configured limit is a ceiling: when DingTalk answers that an API
// is called too often, the client halves that API's rate and then climbs
// back by a twentieth of the ceiling per second (AIMD), so a client set
// above an app's real quota settles just below it instead of failing
// calls. Callers wait in arrival order. A signed robot message is signed
// when the limiter lets it go, so a long queue does not send stale
// signatures.
//
// Only what DingTalk's per-IP block actually sends is taken for it (the
// {"punish":"deny"} reply, the x5 gateway's page, or any page on a 2xx
// reply); another page, such as a proxy's 403 or 404, is an *[Error] with
// its HTTP status, neither rate limited nor retried.
//
// [Message.Validate], [WorkNotice.Validate] and [RobotMessage.Validate]
// check messages against DingTalk's rules for each [MsgType] and report a
// *[ValidationError] naming the field as DingTalk spells it and the [Rule]
// it breaks; the Send methods call them, so an invalid message never
// leaves.
//
// The access token, the app secret and signing values never appear in an
// error string or a log line: URLs are redacted before they are logged or
// wrapped into an error, and the new API's token header is never logged.
//
// [Client.Call] calls an API by name — a legacy TOP method name such as
// "dingtalk.corp.ext.listlabelgroups" or an endpoint path such as
// "topapi/extcontact/listlabelgroups" — through a [Registry] users can
// extend, the way the old Python SDKs' app.run did.
package dingtalk
