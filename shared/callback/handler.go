package callback

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/httpapi"
)

// DefaultMaxBody is the largest request body accepted unless WithMaxBody
// says otherwise. DingTalk's pushes are a few KiB.
const DefaultMaxBody int64 = 1 << 20

// Option configures NewHandler. An invalid option makes NewHandler fail.
type Option func(*handler) error

// WithLogger sets the logger for rejected requests and dispatch failures.
// The default discards them; the composition root passes its own.
func WithLogger(l *slog.Logger) Option {
	return func(h *handler) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		h.logger = l
		return nil
	}
}

// WithMaxBody sets the body size limit in bytes, n > 0 (default
// DefaultMaxBody); larger requests get 413.
func WithMaxBody(n int64) Option {
	return func(h *handler) error {
		if n <= 0 {
			return fmt.Errorf("WithMaxBody: %d is not a positive size", n)
		}
		h.maxBody = n
		return nil
	}
}

// DefaultMaxClockSkew is the timestamp window of a push unless
// WithMaxClockSkew says otherwise (DINGFN_CALLBACK_MAX_SKEW): DingTalk
// retries a failed push after 10 s and again 30 s later, and clocks
// drift; five minutes accepts both with room to spare, and is far shorter
// than the event log's retention, so every replay inside the window is
// caught by the log's dedupe.
const DefaultMaxClockSkew = 5 * time.Minute

// WithMaxClockSkew rejects, with 401, pushes whose timestamp parameter is
// further than d from the handler's clock (seconds and milliseconds are
// both read, as DingTalk sends both), to bound replays of captured
// requests. The default is DefaultMaxClockSkew; d <= 0 disables the
// check.
func WithMaxClockSkew(d time.Duration) Option {
	return func(h *handler) error {
		h.maxSkew = d
		return nil
	}
}

// WithClock replaces time.Now for WithMaxClockSkew; meant for tests.
func WithClock(now func() time.Time) Option {
	return func(h *handler) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		h.now = now
		return nil
	}
}

type handler struct {
	crypto   *dingcrypto.Crypto
	dispatch Dispatcher
	logger   *slog.Logger
	maxBody  int64
	maxSkew  time.Duration
	now      func() time.Time
}

// NewHandler returns the callback endpoint for one subscription. c decrypts
// and answers; d receives every valid event except the URL checks. A nil c
// or d, or an invalid option, is an error: a wiring mistake best caught at
// start-up.
func NewHandler(c *dingcrypto.Crypto, d Dispatcher, opts ...Option) (http.Handler, error) {
	if c == nil || d == nil {
		return nil, errors.New("callback: NewHandler: nil Crypto or Dispatcher")
	}
	h := &handler{crypto: c, dispatch: d, logger: slog.New(slog.DiscardHandler), maxBody: DefaultMaxBody, maxSkew: DefaultMaxClockSkew, now: time.Now}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, fmt.Errorf("callback: %w", err)
		}
	}
	return h, nil
}

// Error codes of the JSON error body.
const (
	codeMethod           = "method_not_allowed"
	codeMissingParameter = "missing_parameter"
	codeTooLarge         = httpapi.CodeBodyTooLarge // httpapi.ReadBody's
	codeMalformedBody    = "malformed_body"
	codeMissingEncrypt   = "missing_encrypt"
	codeBadSignature     = "bad_signature"
	codeExpired          = "expired_timestamp"
	codeBadCiphertext    = "bad_ciphertext"
	codeBadPlaintext     = "bad_plaintext"
	codeReceiverMismatch = "receiver_mismatch"
	codeMalformedEvent   = "malformed_event"
	codeDispatchFailed   = "dispatch_failed"
	codeInternal         = "internal_error"
)

// ServeHTTP answers one DingTalk push; see the package documentation.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, r, http.StatusMethodNotAllowed, codeMethod, "only POST is accepted", nil)
		return
	}

	q := r.URL.Query()
	sig := first(q, "msg_signature", "signature")
	ts := first(q, "timestamp", "timeStamp")
	nonce := q.Get("nonce")
	switch {
	case sig == "":
		h.reject(w, r, http.StatusBadRequest, codeMissingParameter, "query parameter msg_signature (or signature) is required", nil)
		return
	case ts == "":
		h.reject(w, r, http.StatusBadRequest, codeMissingParameter, "query parameter timestamp (or timeStamp) is required", nil)
		return
	case nonce == "":
		h.reject(w, r, http.StatusBadRequest, codeMissingParameter, "query parameter nonce is required", nil)
		return
	}

	body, err := httpapi.ReadBody(w, r, h.maxBody)
	if e, ok := errors.AsType[*httpapi.Error](err); ok {
		h.reject(w, r, e.Status, e.Body.Error, e.Body.Message, nil)
		return
	}
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, codeMalformedBody, "body could not be read", err)
		return
	}
	var in struct {
		Encrypt string `json:"encrypt"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		h.reject(w, r, http.StatusBadRequest, codeMalformedBody, `body must be the JSON object {"encrypt":"…"}`, err)
		return
	}
	if in.Encrypt == "" {
		h.reject(w, r, http.StatusBadRequest, codeMissingEncrypt, `body has no "encrypt" value`, nil)
		return
	}

	msg, err := h.crypto.Decrypt(sig, ts, nonce, in.Encrypt)
	if err != nil {
		h.rejectCrypto(w, r, err)
		return
	}
	// Checked after the signature so that only authentic but stale pushes
	// are reported as such.
	if h.maxSkew > 0 {
		if err := dingcrypto.CheckTimestamp(ts, h.now(), h.maxSkew); err != nil {
			h.reject(w, r, http.StatusUnauthorized, codeExpired, "timestamp is outside the accepted window", err)
			return
		}
	}

	ev, err := ParseEvent(msg)
	if err != nil {
		h.reject(w, r, http.StatusBadRequest, codeMalformedEvent, "decrypted payload is not a DingTalk event", err)
		return
	}
	if !IsCheck(ev.Type) {
		if err := h.dispatch.Dispatch(ctx, ev); err != nil {
			h.logger.ErrorContext(ctx, "callback dispatch failed; DingTalk will retry",
				"type", ev.Type, "corp", ev.CorpID, "event_id", ev.EventID, "err", err)
			httpapi.WriteError(w, r, http.StatusInternalServerError, codeDispatchFailed, "event could not be recorded; retry later")
			return
		}
	}

	env, err := h.crypto.Encrypt([]byte("success"))
	if err != nil {
		h.logger.ErrorContext(ctx, "callback reply encryption failed", "err", err)
		httpapi.WriteError(w, r, http.StatusInternalServerError, codeInternal, "reply could not be encrypted")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, env)
}

// rejectCrypto maps a Decrypt failure to its status: 401 for a signature
// that does not match (wrong token, or not DingTalk), 403 for a message
// addressed to another owner key, 400 for malformed ciphertext.
func (h *handler) rejectCrypto(w http.ResponseWriter, r *http.Request, err error) {
	var e *dingcrypto.Error
	if !errors.As(err, &e) {
		h.reject(w, r, http.StatusBadRequest, codeBadCiphertext, "encrypt could not be decrypted", err)
		return
	}
	switch e.Kind {
	case dingcrypto.KindBadSignature:
		h.reject(w, r, http.StatusUnauthorized, codeBadSignature, "signature does not match; check the callback token", err)
	case dingcrypto.KindReceiverMismatch:
		h.reject(w, r, http.StatusForbidden, codeReceiverMismatch, "message is addressed to another app; check the owner key (appKey, corpId or suiteKey)", err)
	case dingcrypto.KindBadPadding, dingcrypto.KindBadLength:
		// The signature matched, so the sender knows the token: garbage
		// after decryption almost always means the AES key differs from
		// the one configured in DingTalk.
		h.reject(w, r, http.StatusBadRequest, codeBadPlaintext, "decrypted payload is malformed; check the EncodingAESKey", err)
	default:
		h.reject(w, r, http.StatusBadRequest, codeBadCiphertext, "encrypt is not valid ciphertext", err)
	}
}

// reject logs why a request was refused and answers with a JSON error. The
// log has the code, the status and the cause, never the body, the query
// (its signature) or key material.
func (h *handler) reject(w http.ResponseWriter, r *http.Request, status int, code, message string, cause error) {
	attrs := []any{"status", status, "code", code, "method", r.Method, "remote", r.RemoteAddr}
	if cause != nil {
		attrs = append(attrs, "err", cause)
	}
	h.logger.WarnContext(r.Context(), "callback rejected", attrs...)
	httpapi.WriteError(w, r, status, code, message)
}

// first returns the first non-empty value among the given query names.
func first(q map[string][]string, names ...string) string {
	for _, n := range names {
		if v := q[n]; len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
}
