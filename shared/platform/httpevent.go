package platform

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/dingfn/dingfn/shared/httpapi"
)

// EventError reports an invocation payload the adapter cannot turn into a
// request: not JSON, not the expected event shape, or a body that does not
// decode. The platform records it as a failed invocation.
type EventError struct {
	Platform Runtime
	Reason   string
	Err      error
}

// Error says which platform's event was wrong and how.
func (e *EventError) Error() string {
	s := fmt.Sprintf("platform: %s event: %s", e.Platform, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the decoding error, if any.
func (e *EventError) Unwrap() error { return e.Err }

// httpInput is what an FC or Lambda HTTP event says about one request, once
// the field differences between the two are settled.
type httpInput struct {
	platform  Runtime
	method    string
	path      string
	rawQuery  string
	proto     string
	host      string
	sourceIP  string
	requestID string
	headers   map[string]string
	cookies   []string
	body      string
	base64    bool
}

// request builds the *http.Request the handler sees.
func (in httpInput) request(ctx context.Context) (*http.Request, error) {
	if in.method == "" {
		return nil, &EventError{Platform: in.platform, Reason: "no requestContext.http.method; is this an HTTP trigger event?"}
	}
	var body []byte
	if in.base64 {
		b, err := base64.StdEncoding.DecodeString(in.body)
		if err != nil {
			return nil, &EventError{Platform: in.platform, Reason: "isBase64Encoded body is not base64", Err: err}
		}
		body = b
	} else {
		body = []byte(in.body)
	}
	path := in.path
	if path == "" {
		path = "/"
	}
	u := &url.URL{Path: path, RawQuery: in.rawQuery}
	if p, err := url.PathUnescape(path); err == nil && p != path {
		// rawPath arrives as sent; keep the escaped form so routing sees
		// the same path as a local net/http server would.
		u.Path, u.RawPath = p, path
	}
	// Build on "/" and set the URL directly: parsing rawPath as a URL would
	// read a path like "//host/x" as an authority.
	r, err := http.NewRequestWithContext(ctx, in.method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, &EventError{Platform: in.platform, Reason: "invalid method", Err: err}
	}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
		if u.RawPath != "" {
			u.RawPath = "/" + u.RawPath
		}
	}
	r.URL = u
	r.RequestURI = u.RequestURI()
	if in.proto != "" {
		if major, minor, ok := http.ParseHTTPVersion(in.proto); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = in.proto, major, minor
		}
	}
	for k, v := range in.headers {
		r.Header.Set(k, v)
	}
	if len(in.cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(in.cookies, "; "))
	}
	r.Host = in.host
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	r.Header.Del("Host") // net/http servers move Host out of the header map too
	r.ContentLength = int64(len(body))
	if in.sourceIP != "" {
		r.RemoteAddr = net.JoinHostPort(in.sourceIP, "0")
	}
	id := platformInvocationID(ctx)
	if id == "" {
		id = in.requestID
	}
	return r.WithContext(withRequestInfo(ctx, id, in.sourceIP)), nil
}

// bufferedResponse collects what a handler writes; both platforms want the
// whole response as one JSON document.
type bufferedResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: make(http.Header)}
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(code int) {
	if w.wroteHeader || code < 200 {
		return // 1xx interim responses have no place in a buffered reply
	}
	w.status, w.wroteHeader = code, true
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(p)
}

// finish applies the defaults net/http's server applies, so a handler
// answers the same on a platform as locally.
func (w *bufferedResponse) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 && w.header.Get("Transfer-Encoding") == "" {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
}

// encodedBody returns the body as the platforms carry it: text as is,
// anything that is not valid UTF-8 as base64.
func (w *bufferedResponse) encodedBody() (string, bool) {
	b := w.body.Bytes()
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// flatHeaders joins repeated values with ", " (both platforms carry one
// string per header name), leaving out the names in skip.
func flatHeaders(h http.Header, skip ...string) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 || containsFold(skip, k) {
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// serveBuffered runs h and turns a panic into a logged 500, so one bad
// request does not take down the instance (the SDKs exit on a panic).
func serveBuffered(h http.Handler, r *http.Request) (w *bufferedResponse) {
	w = newBufferedResponse()
	defer func() {
		if v := recover(); v != nil {
			w = newBufferedResponse()
			recovered(w, r, v, true)
		}
		w.finish()
		if r.Method == http.MethodHead || w.status == http.StatusNoContent || w.status == http.StatusNotModified {
			w.body.Reset() // as net/http's server does: these answers carry no body
		}
	}()
	h.ServeHTTP(w, r)
	return w
}

// recovered logs the handler panic v and, when answer is set (nothing has
// been sent yet), answers r with a 500 that points at the logs.
func recovered(w http.ResponseWriter, r *http.Request, v any, answer bool) {
	logPanic(r.Context(), v)
	if answer {
		httpapi.WriteError(w, r, http.StatusInternalServerError, "internal_error", "the function failed; see its logs with the request id")
	}
}

func logPanic(ctx context.Context, v any) {
	slog.Default().ErrorContext(ctx, "handler panic",
		slog.String("panic", Redact(fmt.Sprint(v))),
		slog.String("stack", string(debug.Stack())))
}

// encodeQuery rebuilds a raw query from a platform's one-value-per-name
// parameter map, in sorted order so the same event always gives the same
// URL.
func encodeQuery(params map[string]string) string {
	q := make(url.Values, len(params))
	for k, v := range params {
		q[k] = []string{v}
	}
	return q.Encode()
}

// errNoEvent marks an empty invocation payload.
var errNoEvent = errors.New("empty payload")
