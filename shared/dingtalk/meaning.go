package dingtalk

import (
	"net/http"
	"strings"
)

// codeMeanings explain the old API's errcodes (also when they arrive as
// errcode 88's sub_code) for a person: what went wrong and what fixes it.
var codeMeanings = map[int]string{
	-1:     "DingTalk is busy; try again in a moment",
	22:     "DingTalk does not know this API; check the method name or path",
	33001:  "the corp id is not valid; check DINGTALK_CORP_ID",
	40001:  "the app secret or the access token is wrong; check DINGTALK_APP_SECRET, then refresh the token",
	40014:  "the access token is not valid; it is refreshed once automatically, and if this repeats the app secret was probably reset",
	40035:  "a parameter is missing or not valid",
	40078:  "the login code is not valid: codes work once and expire after 5 minutes",
	40089:  "the app key or secret is not valid; check DINGTALK_APP_KEY and DINGTALK_APP_SECRET",
	40096:  "the app key or secret is not valid; check DINGTALK_APP_KEY and DINGTALK_APP_SECRET",
	41001:  "the request carried no access token",
	42001:  "the access token expired; it is refreshed once automatically",
	43004:  "the request's Content-Type was refused (a bug in the caller: JSON bodies need application/json)",
	43007:  "the app is not authorised for this call",
	60003:  "the department does not exist",
	60004:  "the parent department does not exist",
	60011:  "the app has no permission for this API: grant it in the developer console (开发者后台 → 权限管理)",
	60020:  "this machine's egress IP is not in the app's IP whitelist (开发者后台 → 安全设置)",
	60121:  "the user does not exist in this organisation",
	71006:  "a callback is already registered for this organisation: update it, or delete it first",
	71007:  "no callback is registered for this organisation",
	71012:  "the callback URL did not answer DingTalk's check_url with an encrypted success within 1500 ms: deploy the callback function with the same token and aes_key first, and check that the URL is public",
	90020:  "the organisation's monthly API quota is used up; it resets next month",
	310000: "the robot refused the message: the signature (加签) or the keyword check failed, or the IP is not allowed",
	400002: "a parameter is not valid",
	400013: "the robot's group was dissolved",
}

// apiCodeMeanings explain the new API's error codes.
var apiCodeMeanings = map[string]string{
	"InvalidAuthentication":                              "the access token is not valid; it is refreshed once automatically",
	"accesstoken.expired":                                "the user access token expired",
	"invalidClientIdOrSecret":                            "the app key or secret is not valid; check DINGTALK_APP_KEY and DINGTALK_APP_SECRET",
	"Forbidden.AccessDenied.AccessTokenPermissionDenied": "the app has no permission for this API: grant it in the developer console (开发者后台 → 权限管理)",
	"Forbidden.AccessDenied.IpNotInWhiteList":            "this machine's egress IP is not in the app's IP whitelist (开发者后台 → 安全设置)",
	"system.busy":                                        "DingTalk is busy; try again in a moment",
	"systemError":                                        "DingTalk failed; try again in a moment",
	"ServiceUnavailable":                                 "DingTalk is unavailable; try again in a moment",
}

// Meaning explains the failure for a person — what the errcode or code
// means and what usually fixes it — or returns "" when there is nothing to
// add to DingTalk's own message. Tools print it under the error; programs
// branch on the Is* predicates instead.
func (e *Error) Meaning() string {
	for _, c := range e.codes() {
		if m, ok := codeMeanings[c]; ok {
			return m
		}
	}
	if m, ok := apiCodeMeanings[e.Code]; ok {
		return m
	}
	switch {
	case e.Code == codePunish:
		return "DingTalk blocked this machine's IP for calling too often (over 10,000 calls in 20 s); wait about 5 minutes"
	case IsQuotaExhausted(e):
		return codeMeanings[90020]
	case IsRateLimited(e):
		return "DingTalk's rate limit for this API was hit; calls are retried after a pause, so slow down or spread the work"
	case e.transport:
		return "DingTalk could not be reached; check the network, a proxy, or DINGTALK_OAPI_URL / DINGTALK_API_URL"
	case e.HTTPStatus == http.StatusUnauthorized:
		return apiCodeMeanings["InvalidAuthentication"]
	case e.HTTPStatus >= 500:
		return "DingTalk failed; try again in a moment"
	case strings.HasPrefix(e.Code, "Forbidden."):
		return "DingTalk refused the call (" + e.Code + "); check the app's permissions in the developer console"
	}
	return ""
}
