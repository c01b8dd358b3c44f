// Package dingtalktest provides a fake DingTalk (钉钉) open platform server
// for tests and for the local simulator behind `dingfn dev`.
//
// NewServer starts an httptest server that serves the old API (oapi,
// errcode envelopes, token in the query) and the new API (/v1.0, HTTP
// status plus {code,message,requestid}) on one host, so a client is
// configured with the same base URL twice. The server holds an
// organisation (部门 and 成员) that is generated deterministically, loaded
// from JSON or mutated from tests; it reproduces DingTalk's request
// validation, token lifecycle, per-API QPS limits, work-notice silent-drop
// rules and the group robot's signature and throttle, and it records every
// call and every sent message for assertions.
//
// Time comes from an injectable clock (WithClock with a ManualClock), so
// token expiry, QPS windows and per-minute limits are tested without
// sleeping. Faults (-1 busy, 502, slow answers, dropped connections) are
// injected per API with InjectFault.
//
// API names used throughout (CallCount, InjectFault, WithAPIQPSLimit) are
// request paths without the leading slash, e.g. "gettoken",
// "topapi/v2/user/get" or "v1.0/oauth2/accessToken".
package dingtalktest
