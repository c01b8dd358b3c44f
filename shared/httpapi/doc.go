// Package httpapi is the plumbing of dingfn's HTTP APIs, shared by the
// platform adapter and every HTTP function: the JSON error body
// ([ErrorBody], [WriteError]) and [WriteJSON], the request id in the
// context ([RequestID]), strict JSON request bodies ([DecodeJSON]),
// bearer-key authentication ([Keys]) and the Idempotency-Key header
// ([IdempotencyKey]).
//
// Every error answer has one shape,
//
//	{"error":"invalid_body","message":"field \"userids\": must be an array, got string","field":"userids","rule":"type","request_id":"…"}
//
// where error is a stable snake_case code clients branch on, message says
// what to fix, the optional fields (field, rule, missing, dingtalk_errcode,
// dingtalk_code) say more where a client can act on it, and request_id
// finds the request's log lines.
//
// The package imports no cloud SDK, so a feature package (callback,
// notify) that uses it stays free of Function Compute and Lambda code.
package httpapi
