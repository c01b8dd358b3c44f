package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/token"
)

//go:embed static
var staticFiles embed.FS

// Sources are the feature packages the console shows. Mirror is required;
// a panel whose source is nil is left out of the page.
type Sources struct {
	// Mirror reads the directory mirror (the organisation, the sync's
	// status).
	Mirror *directory.Reader
	// Notify lists notices and sends the form's; nil hides both.
	Notify *notify.Service
	// Sync runs the sync tick's steps for "sync now"; nil hides the
	// button (the mirror's status is still shown).
	Sync SyncRunner
	// Tokens is the app's token cache, for token health (never the
	// values); nil hides it.
	Tokens *token.Provider
	// Events is the event log: listed live, with a replay button; nil
	// hides it.
	Events *events.Service
	// Simulator is the simulated DingTalk of `dingfn dev`: its
	// organisation, approvals and robot messages, and the buttons that
	// change them. nil when the console runs against a real DingTalk.
	Simulator *dingtalktest.Server
}

// SyncRunner runs the sync tick's steps now, whether due or not, under
// their leases: *schedule.Runner.
type SyncRunner interface {
	RunNow(ctx context.Context, names ...string) (*schedule.Report, error)
}

var _ SyncRunner = (*schedule.Runner)(nil)

// Defaults of a Console.
const (
	// DefaultPollEvery is how often an open page's views are recomputed
	// to catch changes the console was not told about (the timers, other
	// processes sharing the store); a view is sent only when it changed.
	DefaultPollEvery = 2 * time.Second
	// DefaultCaller is the caller notices sent from the page are recorded
	// under (notify's caller: an API key's name).
	DefaultCaller = "console"
)

// Console is the console's HTTP handler and the state behind its live
// views.
type Console struct {
	src    Sources
	log    *slog.Logger
	now    func() time.Time
	poll   time.Duration
	caller string
	md     goldmark.Markdown
	mux    *http.ServeMux
	hub    *hub

	// ctx ends when the console closes: open streams end, a running sync
	// is cancelled.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	sync syncState
}

// Option configures a Console.
type Option func(*Console) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *Console) error {
		if l == nil {
			return errors.New("console: WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithClock sets the clock of the views' ages and of "notices since".
func WithClock(now func() time.Time) Option {
	return func(c *Console) error {
		if now == nil {
			return errors.New("console: WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithPollEvery sets how often open pages' views are recomputed (default
// DefaultPollEvery); the organisation is recomputed every fifth time.
func WithPollEvery(d time.Duration) Option {
	return func(c *Console) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("console: WithPollEvery: %v is shorter than 100ms", d)
		}
		c.poll = d
		return nil
	}
}

// WithCaller sets the caller name the form's notices are recorded under
// (default DefaultCaller).
func WithCaller(name string) Option {
	return func(c *Console) error {
		if strings.TrimSpace(name) == "" {
			return errors.New("console: WithCaller: empty name")
		}
		c.caller = name
		return nil
	}
}

// New returns the console over src. Close it when done.
func New(src Sources, opts ...Option) (*Console, error) {
	if src.Mirror == nil {
		return nil, errors.New("console: no directory mirror reader")
	}
	c := &Console{src: src, log: slog.New(slog.DiscardHandler), now: time.Now, poll: DefaultPollEvery,
		caller: DefaultCaller, md: goldmark.New(), hub: newHub()}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mux = c.routes()
	return c, nil
}

// Close ends the open streams and cancels a running sync, and waits for
// it. Register it with http.Server.RegisterOnShutdown: a stream never
// goes idle, so Shutdown would otherwise wait for it until its deadline.
func (c *Console) Close() {
	// Under mu: a sync or drain starts before this or not at all.
	c.mu.Lock()
	c.cancel()
	c.mu.Unlock()
	c.hub.close()
	c.wg.Wait()
}

// ServeHTTP serves the page, its files and its API, to requests for an IP
// address or localhost only: a page elsewhere whose own name resolves to
// this machine (DNS rebinding) cannot read the organisation or press the
// buttons.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !localHost(r.Host) {
		httpapi.WriteError(w, r, http.StatusForbidden, "host_not_allowed",
			"open the console by IP address or localhost (for example http://127.0.0.1:9000/), not by a host name")
		return
	}
	c.mux.ServeHTTP(w, r)
}

// localHost reports whether a Host header names an IP address or
// localhost.
func localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// Watch returns h, publishing topics after each request h serves: the
// dev server wraps the callback with it, so an event pushed to the
// callback shows in the event log and the mirror at once.
func (c *Console) Watch(h http.Handler, topics ...Topic) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer c.Publish(topics...)
		h.ServeHTTP(w, r)
	})
}

// Publish tells the open pages that these views may have changed; each
// page gets a view again only if it did.
func (c *Console) Publish(topics ...Topic) { c.hub.publish(topics...) }

// Paths the console serves; the dev server routes them to it.
const (
	// PagePattern is the page itself, at the root only.
	PagePattern = "/{$}"
	// Prefix is everything else the console serves.
	Prefix = "/console/"
)

func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(static, "index.html")
		if err != nil {
			httpapi.WriteError(w, r, http.StatusInternalServerError, "internal_error", "console: the page is missing from the binary")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		pageHeaders(w)
		_, _ = w.Write(b)
	})
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	mux.Handle("GET /console/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /console/api/stream", c.stream)
	mux.HandleFunc("GET /console/api/org", func(w http.ResponseWriter, r *http.Request) {
		switch src := r.URL.Query().Get("source"); src {
		case "", "mirror":
			c.serveView(w, r, TopicMirror)
		case "simulator":
			c.serveView(w, r, TopicSimulator)
		default:
			httpapi.WriteErrorBody(w, r, http.StatusBadRequest, httpapi.ErrorBody{Error: "invalid_request", Field: "source", Rule: "enum",
				Message: fmt.Sprintf("source %q: use mirror or simulator", truncate(src, 40))})
		}
	})
	for _, t := range []Topic{TopicOverview, TopicEvents, TopicSync, TopicTokens, TopicNotices, TopicRobots, TopicApprovals} {
		mux.HandleFunc("GET /console/api/"+string(t), func(w http.ResponseWriter, r *http.Request) { c.serveView(w, r, t) })
	}
	mux.Handle("POST /console/api/sync", c.action(c.postSync))
	mux.Handle("POST /console/api/events/{id}/replay", c.action(c.postReplay))
	mux.Handle("POST /console/api/notices", c.action(c.postNotice))
	mux.Handle("POST /console/api/simulator/{action}", c.action(c.postSimulator))
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf(
			"no console route for %s %s; the page is GET /, its API GET /console/api/{overview,org,events,sync,tokens,notices,robots,approvals,stream}",
			r.Method, truncate(r.URL.Path, 100)))
	})
	return mux
}

// pageHeaders keep the page to its own files: the rendered markdown of
// robot messages can load nothing and run nothing.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// action guards a POST endpoint: same origin only, JSON only.
func (c *Console) action(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Host != r.Host {
				httpapi.WriteError(w, r, http.StatusForbidden, "cross_origin",
					"the console's buttons work from its own page only (the request's Origin is another site)")
				return
			}
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			httpapi.WriteError(w, r, http.StatusForbidden, "cross_origin", "the console's buttons work from its own page only")
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			httpapi.WriteError(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type",
				"send the body as JSON with Content-Type: application/json")
			return
		}
		h(w, r)
	})
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
