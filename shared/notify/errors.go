package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// Error codes of notify's answers (the "error" member of the JSON error
// body). They are a public contract: clients branch on them.
const (
	// CodeInvalidRequest: the request is malformed apart from its message
	// (recipients, a path or query parameter); field and rule say where.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidMessage: the DingTalk message object breaks one of
	// DingTalk's rules; field names it as DingTalk spells it
	// ("msg.link.messageUrl") and rule says which rule.
	CodeInvalidMessage = "invalid_message"
	// CodeIdempotencyKeyReused: the Idempotency-Key was first used with a
	// different body (422).
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	// CodeIdempotencyInProgress: a request with the same key is still
	// being carried out elsewhere; retry after Retry-After (409).
	CodeIdempotencyInProgress = "idempotency_in_progress"
	// CodeNotFound: no such notice, user or department (404).
	CodeNotFound = "not_found"
	// CodeRobotNotFound: no robot of that name in DINGFN_ROBOTS (404).
	CodeRobotNotFound = "robot_not_found"
	// CodeRobotRateLimited: the robot sent 20 messages in the last minute
	// across every instance; retry after Retry-After (429).
	CodeRobotRateLimited = "robot_rate_limited"
	// CodeRecallNotPossible: DingTalk cannot recall the notice (sent more
	// than 24 hours ago, or never sent); the message explains (409).
	CodeRecallNotPossible = "recall_not_possible"
	// CodeNotConfigured: the endpoint needs a setting this deployment
	// lacks; the message names it (501).
	CodeNotConfigured = "not_configured"
	// CodeDingTalkRejected: DingTalk refused a parameter (400).
	CodeDingTalkRejected = "dingtalk_rejected"
	// CodeDingTalkNotFound: DingTalk has no such user or department (404).
	CodeDingTalkNotFound = "dingtalk_not_found"
	// CodeDingTalkRateLimited: DingTalk's rate limit or monthly quota
	// refused the call after the client's retries (429).
	CodeDingTalkRateLimited = "dingtalk_rate_limited"
	// CodeDingTalkUnavailable: DingTalk failed or could not be reached;
	// nothing was carried out (502).
	CodeDingTalkUnavailable = "dingtalk_unavailable"
	// CodeDingTalkOutcomeUnknown: the call may or may not have been
	// carried out (a timeout after sending); it is not resent (502).
	CodeDingTalkOutcomeUnknown = "dingtalk_outcome_unknown"
	// CodeDingTalkError: any other refusal by DingTalk, for example the
	// app's credentials or permissions (502).
	CodeDingTalkError = "dingtalk_error"
	// CodeTimeout: the request ran out of time (504).
	CodeTimeout = "timeout"
	// CodeInternal: a failure of notify or its store (500).
	CodeInternal = httpapi.CodeInternal
)

// Error is a request notify refuses or could not carry out: the HTTP
// status and JSON error body the API answers with, and, for 409 and 429,
// when to try again. Service methods return it for every failure a caller
// can act on; find it with errors.As and branch on Body.Error.
type Error struct {
	Status int
	Body   httpapi.ErrorBody
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Err is the underlying cause, for logs; it is never sent.
	Err error
}

// Error says the status, code and message.
func (e *Error) Error() string {
	return fmt.Sprintf("notify: %d %s: %s", e.Status, e.Body.Error, e.Body.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Write answers r with the error.
func (e *Error) Write(w http.ResponseWriter, r *http.Request) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	httpapi.WriteErrorBody(w, r, e.Status, e.Body)
}

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Body: httpapi.ErrorBody{Error: code, Message: fmt.Sprintf(format, args...)}}
}

// invalid is a 400 naming the request field and the rule it breaks.
func invalid(field, rule, format string, args ...any) *Error {
	e := newError(http.StatusBadRequest, CodeInvalidRequest, format, args...)
	e.Body.Field, e.Body.Rule = field, rule
	return e
}

// AsError turns any failure of a notify operation into the *Error the API
// answers with. This is the one place DingTalk's failures map to HTTP:
//
//   - a message that breaks DingTalk's rules (*dingtalk.ValidationError)
//     is 400 invalid_message, naming the field and rule;
//   - a parameter DingTalk refused is 400, an unknown user or department
//     404, DingTalk's rate limits and quota 429 (with Retry-After), and
//     DingTalk failing or unreachable 502, each carrying DingTalk's
//     errcode (or new-API code); the client's own rate limit refusing to
//     wait past the deadline is 429 too;
//   - a call that may have been carried out (a timeout after sending) is
//     502 dingtalk_outcome_unknown;
//   - the request's own deadline is 504; anything else 500.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if he, ok := errors.AsType[*httpapi.Error](err); ok {
		return &Error{Status: he.Status, Body: he.Body, Err: err}
	}
	if ve, ok := errors.AsType[*dingtalk.ValidationError](err); ok {
		e := newError(http.StatusBadRequest, CodeInvalidMessage, "%s", ve.Error())
		e.Body.Field, e.Body.Rule, e.Err = ve.Field, string(ve.Rule), err
		return e
	}
	if de, ok := errors.AsType[*dingtalk.Error](err); ok {
		return fromDingTalk(de, err)
	}
	if errors.Is(err, dingtalk.ErrClientRateLimit) {
		e := newError(http.StatusTooManyRequests, CodeDingTalkRateLimited, "%s", "notify's own share of DingTalk's rate limit has no room before the request's deadline; nothing was carried out")
		e.RetryAfter, e.Err = time.Second, err
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusGatewayTimeout, Body: httpapi.ErrorBody{Error: CodeTimeout,
			Message: "the request ran out of time; what was done is recorded (check the notice's status before sending again)"}, Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Body: httpapi.ErrorBody{Error: CodeInternal,
		Message: "notify failed; see the logs with this request_id"}, Err: err}
}

// fromDingTalk maps a DingTalk failure with the client's classifiers.
func fromDingTalk(de *dingtalk.Error, err error) *Error {
	status, code, what := http.StatusBadGateway, CodeDingTalkError, "DingTalk refused the call"
	var retry time.Duration
	switch {
	case dingtalk.IsRateLimited(err):
		status, code, what = http.StatusTooManyRequests, CodeDingTalkRateLimited, "DingTalk's rate limit refused the call; nothing was carried out"
		retry = max(de.RetryAfter, time.Second)
	case dingtalk.IsQuotaExhausted(err):
		status, code, what = http.StatusTooManyRequests, CodeDingTalkRateLimited, "the organisation's monthly DingTalk API quota is used up; nothing was carried out"
		retry = time.Hour
	case dingtalk.IsNotFound(err):
		status, code, what = http.StatusNotFound, CodeDingTalkNotFound, "DingTalk has no such user or department"
	case dingtalk.IsInvalidArgument(err):
		status, code, what = http.StatusBadRequest, CodeDingTalkRejected, "DingTalk refused a parameter"
	case dingtalk.MaybeSent(err):
		code, what = CodeDingTalkOutcomeUnknown, "DingTalk did not answer; the call may or may not have been carried out, and it is not repeated"
	case dingtalk.IsTransient(err):
		code, what = CodeDingTalkUnavailable, "DingTalk is failing or unreachable; nothing was carried out"
	case dingtalk.IsTokenInvalid(err):
		what = "DingTalk refused the app's access token; check DINGTALK_APP_KEY and DINGTALK_APP_SECRET"
	}
	msg := what + ": " + de.API
	switch {
	case de.ErrCode != 0:
		msg += fmt.Sprintf(" answered errcode %d %s", de.ErrCode, de.ErrMsg)
	case de.Code != "":
		msg += fmt.Sprintf(" answered %s %s", de.Code, de.Message)
	case de.HTTPStatus != 0:
		msg += fmt.Sprintf(" answered HTTP %d", de.HTTPStatus)
	}
	e := newError(status, code, "%s", msg)
	e.Body.DingTalkErrCode, e.Body.DingTalkCode, e.RetryAfter, e.Err = de.ErrCode, de.Code, retry, err
	return e
}
