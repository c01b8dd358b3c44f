package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Forwarding headers.
const (
	HeaderEventID   = "X-Dingfn-Event-Id"
	HeaderSignature = "X-Dingfn-Signature"
)

// MinForwardSecretLen is the shortest DINGFN_FORWARD_SECRET accepted.
const MinForwardSecretLen = 16

// DefaultForwardTimeout bounds one delivery.
const DefaultForwardTimeout = 10 * time.Second

// ForwardRule is one DINGFN_FORWARD_URLS entry: events matching Pattern
// are posted to URL.
type ForwardRule struct {
	Pattern string
	URL     string
}

// ForwardRulesError lists every problem of a DINGFN_FORWARD_URLS value.
type ForwardRulesError struct{ Problems []string }

// Error joins the problems.
func (e *ForwardRulesError) Error() string {
	return "events: DINGFN_FORWARD_URLS: " + strings.Join(e.Problems, "; ")
}

// ParseForwardRules reads DINGFN_FORWARD_URLS: comma-separated rules
// pattern=url, where pattern is an event type, a prefix ending in '*' or
// '*', and url is https, or http to a loopback address (for development);
// a URL with a comma must percent-encode it. Empty means no forwarding.
// Every problem is reported in one *ForwardRulesError, which names rules
// by position and host only: webhook URLs often carry a secret in their
// path or query.
func ParseForwardRules(s string) ([]ForwardRule, error) {
	var rules []ForwardRule
	var problems []string
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n++
		pattern, raw, ok := strings.Cut(part, "=")
		pattern, raw = strings.TrimSpace(pattern), strings.TrimSpace(raw)
		if !ok || raw == "" {
			problems = append(problems, fmt.Sprintf("rule %d is not pattern=url", n))
			continue
		}
		if err := CheckPattern(pattern); err != nil {
			problems = append(problems, fmt.Sprintf("rule %d: pattern %q: want an event type, a prefix ending in *, or *", n, pattern))
			continue
		}
		if err := CheckForwardURL(raw); err != nil {
			problems = append(problems, fmt.Sprintf("rule %d: %v", n, err))
			continue
		}
		rules = append(rules, ForwardRule{Pattern: pattern, URL: raw})
	}
	if len(problems) > 0 {
		return nil, &ForwardRulesError{Problems: problems}
	}
	return rules, nil
}

// CheckForwardURL accepts an absolute https URL, or an http URL whose
// host is a loopback address (localhost, 127.0.0.0/8, ::1). Its errors
// name the host only.
func CheckForwardURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("url is not an absolute URL")
	}
	host := u.Hostname()
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("url to %s: no user information or fragment, please", host)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(host) {
			return nil
		}
		return fmt.Errorf("url to %s: http is only for a loopback address; use https", host)
	default:
		return fmt.Errorf("url to %s: scheme must be https (or http to a loopback address)", host)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOf names a forwarding target in logs and errors: its host only.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "the forwarding URL"
}

// ForwardBody is what each delivery posts (Content-Type
// application/json). Event is the decrypted payload as DingTalk sent it.
type ForwardBody struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	CorpID     string          `json:"corp_id"`
	ReceivedAt time.Time       `json:"received_at"`
	Event      json.RawMessage `json:"event"`
}

// SignForward returns the X-Dingfn-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the
// secret>", the scheme well-known webhook providers use.
func SignForward(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(forwardMAC(secret, ts, body))
}

func forwardMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of VerifyForward.
var (
	ErrBadSignature = errors.New("events: forward signature does not match")
	ErrStaleForward = errors.New("events: forward timestamp outside the tolerance")
)

// VerifyForward checks an X-Dingfn-Signature header against the raw body,
// as a receiver written in Go would: some v1 must match, in constant
// time, and t must be within tolerance of now (tolerance <= 0 skips that
// check). It is what the README's snippet does in other languages.
func VerifyForward(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: header is not t=<seconds>,v1=<hex>", ErrBadSignature)
	}
	want := forwardMAC(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)).Abs(); d > tolerance {
			return fmt.Errorf("%w: %v away", ErrStaleForward, d.Round(time.Second))
		}
	}
	return nil
}

// ForwardOption configures RegisterForwards.
type ForwardOption func(*forwarder)

// WithForwardClient sets the HTTP client of deliveries (default: one
// with DefaultForwardTimeout that does not follow redirects: a 3xx is a
// failed delivery, so a signed body never goes to a host not configured).
func WithForwardClient(c *http.Client) ForwardOption {
	return func(f *forwarder) {
		if c != nil {
			f.client = c
		}
	}
}

// WithForwardClock sets the clock of the signature's t (default time.Now).
func WithForwardClock(now func() time.Time) ForwardOption {
	return func(f *forwarder) {
		if now != nil {
			f.now = now
		}
	}
}

// forwarder delivers events to one URL.
type forwarder struct {
	url    string
	secret string
	client *http.Client
	now    func() time.Time
}

// ForwardRouteName is the route name (the key of its result in the log)
// of the forwarding target url: "forward:" + its host + "#" + the first 8
// hex digits of the URL's SHA-256, so that logs and stored rows never
// show a path or query that may hold a secret.
func ForwardRouteName(rawURL string) string {
	name := "forward:" + hostOf(rawURL) + "#" + digest(rawURL)[:8]
	if !isRouteName(name) {
		name = "forward:" + digest(rawURL)
	}
	return name
}

// RegisterForwards adds to m one route per distinct URL of rules,
// receiving the events that match any of its patterns, so a URL gets each
// event once however many of its rules match. Each delivery is recorded
// in the log under ForwardRouteName: any 2xx answer is delivered, anything
// else is retried with back-off by the drain, and dead after the maximum
// attempts. The secret signs every body and is never logged.
func RegisterForwards(m *Mux, rules []ForwardRule, secret string, opts ...ForwardOption) error {
	if len(rules) == 0 {
		return nil
	}
	if len(secret) < MinForwardSecretLen {
		return fmt.Errorf("events: forwarding needs a secret of at least %d characters (DINGFN_FORWARD_SECRET)", MinForwardSecretLen)
	}
	var order []string
	patterns := map[string][]string{}
	for _, r := range rules {
		if err := CheckPattern(r.Pattern); err != nil {
			return err
		}
		if err := CheckForwardURL(r.URL); err != nil {
			return fmt.Errorf("events: forward: %w", err)
		}
		if _, ok := patterns[r.URL]; !ok {
			order = append(order, r.URL)
		}
		patterns[r.URL] = append(patterns[r.URL], r.Pattern)
	}
	for _, u := range order {
		f := &forwarder{url: u, secret: secret, now: time.Now, client: &http.Client{
			Timeout:       DefaultForwardTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
		for _, o := range opts {
			o(f)
		}
		m.Route(ForwardRouteName(u), f, patterns[u]...)
	}
	return nil
}

// HandleEvent delivers one event.
func (f *forwarder) HandleEvent(ctx context.Context, ev *Event) error {
	body, err := json.Marshal(ForwardBody{ID: ev.ID, Type: ev.Type, CorpID: ev.CorpID, ReceivedAt: ev.ReceivedAt.UTC(), Event: ev.Payload})
	if err != nil {
		return Permanent(fmt.Errorf("forward %s: encode: %w", ev.ID, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("forward to %s: %w", hostOf(f.url), err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dingfn-forward/1")
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderSignature, SignForward(f.secret, f.now(), body))
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, unredacted
		}
		return fmt.Errorf("forward to %s: %w", hostOf(f.url), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("forward to %s: HTTP %d", hostOf(f.url), resp.StatusCode)
	}
	return nil
}
