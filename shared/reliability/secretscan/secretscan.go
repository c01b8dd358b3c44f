// Package secretscan finds secrets in text a program produced: log lines,
// HTTP bodies, anything a test can capture. The reliability suite
// (shared/reliability) registers every secret of its deployment and every
// token and ticket the fake DingTalk issued, routes all logs and bodies
// through a Scanner, and fails on any hit.
//
// A secret is looked for in the forms it could leak in, not only
// verbatim: standard and URL-safe base64 (with and without padding, at
// each of the three alignments a secret can take inside a longer encoded
// text), URL query and path escaping, and JSON string escaping. Hex and
// other encodings are not looked for: nothing in dingfn hex-encodes a
// secret it holds, and every extra form adds false matches on short
// values. Values shorter than MinLen are refused by Add, since they would
// match by chance.
package secretscan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// MinLen is the shortest secret Add accepts.
const MinLen = 8

// Hit is one secret found.
type Hit struct {
	// Where names the stream the text came from (a log, a server's
	// request bodies…), as the caller named it.
	Where string
	// Secret names the secret (as Add was told), never its value.
	Secret string
	// Form is the encoding it was found in: "raw", "base64", "url", "json".
	Form string
}

func (h Hit) String() string { return fmt.Sprintf("%s: %s (%s)", h.Where, h.Secret, h.Form) }

type needle struct {
	name, form string
	b          []byte
}

// Scanner holds secrets and the hits found so far. Its methods are safe
// for concurrent use.
type Scanner struct {
	mu      sync.Mutex
	needles []needle
	known   map[string]bool
	hits    []Hit
	scanned int64
	streams map[string]int64
}

// New returns a Scanner with no secrets.
func New() *Scanner { return &Scanner{known: map[string]bool{}, streams: map[string]int64{}} }

// Add registers value, named name in hits, with its encoded forms. It
// returns an error for a value shorter than MinLen; adding a value twice
// is a no-op.
func (s *Scanner) Add(name, value string) error {
	if len(value) < MinLen {
		return fmt.Errorf("secretscan: %s is %d bytes, shorter than %d: it would match by chance", name, len(value), MinLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known[value] {
		return nil
	}
	s.known[value] = true
	for form, v := range forms(value) {
		s.needles = append(s.needles, needle{name: name, form: form, b: []byte(v)})
	}
	return nil
}

// forms returns value's searchable forms: raw, escaped and base64 at the
// three alignments, each keyed by a distinct string.
func forms(value string) map[string]string {
	out := map[string]string{"raw": value}
	add := func(form, v string) {
		if v == value || len(v) < MinLen {
			return
		}
		for _, have := range out {
			if have == v {
				return
			}
		}
		out[form] = v
	}
	add("url", url.QueryEscape(value))
	add("url-path", url.PathEscape(value))
	// encoding/json escapes <, > and & by default, log/slog does not.
	for _, html := range []bool{true, false} {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(html)
		if e.Encode(value) == nil {
			j := bytes.TrimSpace(buf.Bytes())
			add(fmt.Sprintf("json+%v", html), string(j[1:len(j)-1]))
		}
	}
	// Inside a longer base64 text a secret starts at byte offset 0, 1 or
	// 2 of a 3-byte group. Encode it behind that many filler bytes and
	// keep only the characters that depend on the secret alone: drop the
	// leading group's characters touched by the filler and the trailing
	// partial group.
	for lead := range 3 {
		src := append(bytes.Repeat([]byte{0}, lead), value...)
		full := (len(src) / 3) * 3
		for _, enc := range []struct {
			name string
			e    *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			e := enc.e.EncodeToString(src[:full])
			skip := 0
			if lead > 0 {
				skip = 4
			}
			if len(e) > skip {
				add(fmt.Sprintf("%s+%d", enc.name, lead), e[skip:])
			}
		}
	}
	return out
}

// Check scans data from where and records every secret in it.
func (s *Scanner) Check(where string, data []byte) {
	if len(data) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanned += int64(len(data))
	s.streams[where] += int64(len(data))
	for _, n := range s.needles {
		if bytes.Contains(data, n.b) {
			form, _, _ := strings.Cut(n.form, "+")
			h := Hit{Where: where, Secret: n.name, Form: form}
			if !slices.Contains(s.hits, h) {
				s.hits = append(s.hits, h)
			}
		}
	}
}

// Hits returns the secrets found so far, each (where, secret, form) once.
func (s *Scanner) Hits() []Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hits)
}

// Scanned returns how many bytes Check has read, so a caller can tell a
// clean scan from one that saw nothing.
func (s *Scanner) Scanned() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanned
}

// Streams returns the bytes scanned by where, so a caller can check that
// every stream it meant to scan was scanned.
func (s *Scanner) Streams() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.streams)
}

// Secrets returns how many distinct secret values are registered.
func (s *Scanner) Secrets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.known)
}

// Writer returns a writer that scans every write (a log line from
// slog's handlers is one write) as where, then passes it to next (nil:
// discarded).
func (s *Scanner) Writer(where string, next io.Writer) io.Writer {
	if next == nil {
		next = io.Discard
	}
	return writer{s: s, where: where, next: next}
}

type writer struct {
	s     *Scanner
	where string
	next  io.Writer
}

func (w writer) Write(p []byte) (int, error) {
	w.s.Check(w.where, p)
	return w.next.Write(p)
}

// Exempt says whether a request's bodies may carry secrets by design (a
// token request sends the app secret and gets the token back); such
// bodies are handed to Learn instead of being checked.
type Exempt func(r *http.Request) bool

// Handler wraps h so that every request body and response body is
// checked as where (both as whole bodies, so a secret split across
// writes is still found). For requests exempt says carry secrets, the
// response body is passed to learn (when set) before it reaches the
// client, so values it issues are known before anyone can log them.
func (s *Scanner) Handler(where string, h http.Handler, exempt Exempt, learn func(body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		skip := exempt != nil && exempt(r)
		if !skip {
			s.Check(where+" request "+r.URL.Path, body)
		}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if skip {
			if learn != nil {
				learn(rec.buf.Bytes())
			}
		} else {
			s.Check(where+" response "+r.URL.Path, rec.buf.Bytes())
		}
		rec.flush()
	})
}

// recorder holds the response body until the handler returns, so learn
// sees it before the client does. Status and headers pass through on
// the first write.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) { return r.buf.Write(p) }

func (r *recorder) flush() {
	if r.status != 0 {
		r.ResponseWriter.WriteHeader(r.status)
	}
	_, _ = r.ResponseWriter.Write(r.buf.Bytes())
}

// Transport wraps next (nil: http.DefaultTransport) so that every request
// body and response body through it is checked as where.
func (s *Scanner) Transport(where string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return transport{s: s, where: where, next: next}
}

type transport struct {
	s     *Scanner
	where string
	next  http.RoundTripper
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			data, _ := io.ReadAll(b)
			b.Close()
			t.s.Check(t.where+" request "+req.URL.Path, data)
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("secretscan: read response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	t.s.Check(t.where+" response "+req.URL.Path, data)
	return resp, nil
}
