package httpapi

import (
	"fmt"
	"net/http"
	"strings"
)

// IdempotencyKeyHeader is the header a client sets so that a retried
// request is carried out once (IETF draft-ietf-httpapi-idempotency-key-header).
const IdempotencyKeyHeader = "Idempotency-Key"

// Bounds of an Idempotency-Key. The lower bound keeps clients from keys
// like "1" that collide with other clients' retries; a UUID fits well
// inside the upper one.
const (
	MinIdempotencyKeyLength = 8
	MaxIdempotencyKeyLength = 255
)

// CodeInvalidIdempotencyKey is the error code of IdempotencyKey's 400.
const CodeInvalidIdempotencyKey = "invalid_idempotency_key"

// IdempotencyKey returns r's Idempotency-Key, or "" when it has none. The
// value may be sent bare (as most APIs take it) or as the draft standard's
// quoted string ("…"); either way it must be one header of
// MinIdempotencyKeyLength to MaxIdempotencyKeyLength visible ASCII
// characters (no space, quote or backslash). Anything else is an *Error,
// a 400 invalid_idempotency_key naming the rule, for the handler to Write.
func IdempotencyKey(r *http.Request) (string, error) {
	vals := r.Header.Values(IdempotencyKeyHeader)
	if len(vals) == 0 {
		return "", nil
	}
	bad := func(rule, format string, args ...any) error {
		return &Error{Status: http.StatusBadRequest, Body: ErrorBody{
			Error:   CodeInvalidIdempotencyKey,
			Message: IdempotencyKeyHeader + " " + fmt.Sprintf(format, args...),
			Field:   IdempotencyKeyHeader,
			Rule:    rule,
		}}
	}
	if len(vals) > 1 {
		return "", bad("single", "must be sent once, got %d headers", len(vals))
	}
	v := strings.TrimSpace(vals[0])
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return "", bad("charset", "must be visible ASCII characters without spaces, quotes or backslashes (a UUID, for example)")
		}
	}
	if len(v) < MinIdempotencyKeyLength || len(v) > MaxIdempotencyKeyLength {
		return "", bad("length", "must be %d to %d characters, got %d", MinIdempotencyKeyLength, MaxIdempotencyKeyLength, len(v))
	}
	return v, nil
}
