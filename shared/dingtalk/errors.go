package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a failed DingTalk call. It is returned for errcode replies of the
// old API, for non-2xx replies of the new API, for replies that are not JSON
// (such as DingTalk's per-IP block page) and for transport failures, so the
// API name always travels with the failure.
//
// Use errors.As to get at the fields, and the Is* predicates to classify.
type Error struct {
	// API is the API that failed, e.g. "topapi/v2/user/get" or
	// "v1.0/oauth2/accessToken".
	API string
	// Method and URL describe the request. URL has access tokens, secrets and
	// signatures redacted.
	Method string
	URL    string
	// HTTPStatus is the reply's status code; 0 if no reply was received.
	HTTPStatus int
	// ErrCode and ErrMsg are the old API's errcode and errmsg.
	ErrCode int
	ErrMsg  string
	// SubCode and SubMsg come with errcode 88 ("鉴权异常") and some other
	// gateway errors; SubCode is a string on the wire.
	SubCode string
	SubMsg  string
	// Code and Message are the new API's error code (for example
	// "InvalidAuthentication" or "Forbidden.AccessDenied.QpsLimitForApi") and
	// message.
	Code    string
	Message string
	// RequestID is DingTalk's request id, to quote to DingTalk support.
	RequestID string
	// RetryAfter is the wait DingTalk asked for (Retry-After header, or the
	// per-IP block's wait); zero if it did not say.
	RetryAfter time.Duration
	// Err is the underlying cause for transport and decoding failures.
	Err error

	transport bool // the request may or may not have reached DingTalk
}

// Error formats the failure without any secret: the URL is already
// redacted and the token never appears in DingTalk's messages.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dingtalk: ")
	b.WriteString(e.API)
	switch {
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.Code != "":
		fmt.Fprintf(&b, ": HTTP %d %s: %s", e.HTTPStatus, e.Code, e.Message)
	case e.ErrCode != 0:
		fmt.Fprintf(&b, ": errcode %d: %s", e.ErrCode, e.ErrMsg)
		if e.SubCode != "" || e.SubMsg != "" {
			fmt.Fprintf(&b, " (sub_code %s: %s)", e.SubCode, e.SubMsg)
		}
	default:
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
		if e.ErrMsg != "" {
			b.WriteString(": ")
			b.WriteString(e.ErrMsg)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request_id %s]", e.RequestID)
	}
	return b.String()
}

// Unwrap returns the transport or decoding cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// codes returns errcode and, when it is a gateway wrapper such as 88, the
// numeric sub_code too, because DingTalk reports token and permission
// failures both ways.
func (e *Error) codes() []int {
	cs := make([]int, 0, 2)
	if e.ErrCode != 0 {
		cs = append(cs, e.ErrCode)
	}
	if e.SubCode != "" {
		if n, err := strconv.Atoi(e.SubCode); err == nil {
			cs = append(cs, n)
		}
	}
	return cs
}

func (e *Error) hasCode(set map[int]bool) bool {
	for _, c := range e.codes() {
		if set[c] {
			return true
		}
	}
	return false
}

var (
	tokenInvalidCodes = map[int]bool{
		40014: true, // 不合法的access_token
		42001: true, // access_token 超时
		40001: true, // bad secret or bad token; refreshing once tells which
		41001: true, // missing access_token
	}
	rateLimitedCodes = map[int]bool{
		90001: true, 90002: true, 90003: true, 90004: true, 90005: true, 90006: true,
		90018:  true,
		41047:  true, // messages per minute
		41048:  true,
		410100: true, // robot throttled for 10 minutes
		660026: true, // robot per-minute cap [obs]
	}
	// rateLimitedDotted are the app robot's dotted throttling codes (HTTP
	// 400 on the new API): sending too fast, per robot or per token, and
	// too many groups or people at once.
	rateLimitedDotted = map[string]bool{
		"send.too.fast": true, "send.byToken.tooFast": true, "toomuch.msg": true,
		"too.many.group": true, "too.many.people": true,
	}
	// sessionGoneDotted say a received message's session can no longer be
	// answered.
	sessionGoneDotted = map[string]bool{"session.expired": true, "session.notExisted": true}
	quotaCodes        = map[int]bool{90020: true}
	// notFoundCodes say the user or department asked for does not exist.
	// Out-of-scope answers (50004, 60011) are deliberately not here: an
	// app whose contact scope was narrowed must not conclude that people
	// left.
	notFoundCodes = map[int]bool{
		60121: true, // 找不到该用户
		60003: true, // 部门不存在
	}
	// invalidArgumentCodes say the request itself was wrong: a missing or
	// malformed parameter, an unknown one-time code.
	invalidArgumentCodes = map[int]bool{
		40035:  true, // 缺少参数 / 不合法的参数
		400002: true, // 无效的参数
		40078:  true, // 不存在的临时授权码 (a 免登 code used twice or expired)
		40009:  true, // 不合法的部门id
		40068:  true, // 不合法的偏移量
		40069:  true, // 不合法的分页大小
	}
	outOfScopeCodes = map[int]bool{50004: true} // 部门不在权限范围内
)

// codePunish is the Code given to DingTalk's per-IP block reply
// ({"punish":"deny",…} or an HTML page), which is not an API envelope.
const codePunish = "punish.deny"

// asError returns the *Error in err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsTokenInvalid reports whether err says the access token is invalid or
// expired (40014, 42001, 40001, 41001, also as errcode 88's sub_code; the new
// API's InvalidAuthentication / accesstoken.expired, or HTTP 401). A fresh
// token may cure it.
func IsTokenInvalid(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	if e.hasCode(tokenInvalidCodes) || e.HTTPStatus == http.StatusUnauthorized {
		return true
	}
	return strings.EqualFold(e.Code, "InvalidAuthentication") ||
		strings.EqualFold(e.Code, "accesstoken.expired")
}

// IsRateLimited reports whether DingTalk rejected the call for calling too
// often (90018, 90002, 90001–90006, 41047/41048, the robot's 410100; the new
// API's 403 Forbidden.AccessDenied.Qps*/Qpm* and 429, the app robot's
// send.too.fast, send.byToken.tooFast, toomuch.msg and too.many.*; the
// per-IP block), or the client's own limiter refused to wait past the
// context's deadline (ErrClientRateLimit).
// The call was not executed, so it is safe to send again after a pause.
// 43004 is a Content-Type error, not a rate limit.
func IsRateLimited(err error) bool {
	if errors.Is(err, ErrClientRateLimit) {
		return true
	}
	e, ok := asError(err)
	if !ok {
		return false
	}
	if e.hasCode(rateLimitedCodes) || e.HTTPStatus == http.StatusTooManyRequests || e.Code == codePunish || rateLimitedDotted[e.Code] {
		return true
	}
	return strings.HasPrefix(e.Code, "Forbidden.AccessDenied.Qps") ||
		strings.HasPrefix(e.Code, "Forbidden.AccessDenied.Qpm")
}

// IsSessionGone reports whether DingTalk refused a reply because the
// received message's session has expired or does not exist
// (session.expired, session.notExisted): the message can no longer be
// answered through it.
func IsSessionGone(err error) bool {
	e, ok := asError(err)
	return ok && sessionGoneDotted[e.Code]
}

// IsQuotaExhausted reports whether the organisation's monthly API quota is
// used up (90020, Forbidden.AccessDenied.ApiCountLimitForOrg). Retrying
// before the next month is pointless.
func IsQuotaExhausted(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	return e.hasCode(quotaCodes) || strings.HasSuffix(e.Code, "ApiCountLimitForOrg")
}

// IsNotFound reports whether DingTalk answered that the user (60121) or
// department (60003) a contact call named does not exist. It is the only
// answer on which a directory mirror may delete a record it asked about.
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && e.hasCode(notFoundCodes)
}

// IsInvalidArgument reports whether DingTalk refused the call because of
// what it was asked: a missing or malformed parameter (40035, 400002), an
// unknown or used one-time code (40078), a bad id or page (40009, 40068,
// 40069); on the new API a 400 other than a token or rate-limit answer.
// Sending the same request again cannot succeed.
func IsInvalidArgument(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	if e.hasCode(invalidArgumentCodes) {
		return true
	}
	return e.Code != "" && e.HTTPStatus == http.StatusBadRequest && !IsTokenInvalid(e) && !IsRateLimited(e) && !IsTransient(e)
}

// MaybeSent reports whether a call that failed with err may nevertheless
// have been carried out by DingTalk: the request left the client and no
// answer said it was refused. That is a transport failure after the
// connection was made (a timeout, a dropped connection), a 5xx reply or
// gateway page, and the caller's context ending while the call was under
// way (the client cannot tell then whether the request had left). A call
// that creates or sends something, such as a work notice, must not be
// sent again automatically after such a failure; every other failure
// (an errcode, a rate limit, a token that could not be had, a refused
// connection) means it was not carried out.
func MaybeSent(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[*tokenSourceError](err); ok {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	e, ok := asError(err)
	if !ok {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	if e.transport {
		return !e.notSent()
	}
	return e.HTTPStatus >= 500
}

// IsTokenUnavailable reports whether a call failed because the client
// could not get its access token: the call never left, whatever the token
// source's reason (DingTalk's token endpoint, the shared store, a refresh
// another instance holds). Callers that keep work for later (notify's due
// parts) keep it due rather than failing it, unless the token endpoint's
// own answer is a permanent refusal (a wrong app secret), which the other
// predicates see through this error.
func IsTokenUnavailable(err error) bool {
	_, ok := errors.AsType[*tokenSourceError](err)
	return ok
}

// IsOutOfScope reports whether DingTalk refused a contact read because the
// department lies outside the app's contact scope (通讯录权限范围, 50004):
// the record exists, the app may not see it. A directory walk skips such a
// department rather than failing.
func IsOutOfScope(err error) bool {
	e, ok := asError(err)
	return ok && e.hasCode(outOfScopeCodes)
}

// IsTransient reports whether err is a failure that may pass by itself:
// "system busy" (-1), a 5xx reply, the new API's system.busy/systemError/system.error,
// a timeout or another transport error. It does not say the call was not
// executed: for a 5xx or a transport error the outcome is unknown.
func IsTransient(err error) bool {
	e, ok := asError(err)
	if !ok {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	if e.transport {
		return !errors.Is(e.Err, context.Canceled)
	}
	if e.ErrCode == -1 || e.HTTPStatus >= 500 {
		return true
	}
	switch e.Code {
	case "system.busy", "systemError", "system.error", "ServiceUnavailable":
		return true
	}
	return false
}

// notSent reports whether a transport error happened while connecting, so
// the request never left the client and any call may be sent again.
func (e *Error) notSent() bool {
	var op *net.OpError
	return e.transport && errors.As(e.Err, &op) && op.Op == "dial"
}

// busy reports whether DingTalk answered "system busy" with an error
// envelope: the call was refused, so any call may be resent.
func (e *Error) busy() bool {
	return e.ErrCode == -1 && e.HTTPStatus < 500
}
