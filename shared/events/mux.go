package events

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Handler processes one event. It must be idempotent: an event is handed
// to a handler again after a failure, a crash or a replay. Returning nil
// records the handler's result as done, and it is not called again for
// this event; an error makes the event retried later (only the handlers
// that have not succeeded run again), or, for an error matching
// ErrPermanent, dead at once.
type Handler interface {
	HandleEvent(ctx context.Context, ev *Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev *Event) error

// HandleEvent calls f.
func (f HandlerFunc) HandleEvent(ctx context.Context, ev *Event) error { return f(ctx, ev) }

// isPattern reports whether p is a valid pattern, (\*|[A-Za-z0-9_.:-]+\*?):
// an event type, a prefix ending in '*', or '*' alone. The checks are
// written out: a package-level regexp is compiled at every cold start of
// every function, and these were the largest init of the bundle.
func isPattern(p string) bool {
	if p == "*" {
		return true
	}
	p = strings.TrimSuffix(p, "*")
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.:-", c) >= 0) {
			return false
		}
	}
	return true
}

// isRouteName reports whether name is a valid route name, [!-~]{1,200}:
// printable ASCII, no white space.
func isRouteName(name string) bool {
	if len(name) == 0 || len(name) > 200 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '!' || name[i] > '~' {
			return false
		}
	}
	return true
}

// CheckPattern returns an error unless p is an event type ("user_add_org"),
// a prefix ending in '*' ("bpms_*") or '*' (every event).
func CheckPattern(p string) error {
	if !isPattern(p) {
		return fmt.Errorf("events: pattern %q: want an event type, a prefix ending in *, or *", p)
	}
	return nil
}

// Match reports whether pattern p matches eventType.
func Match(p, eventType string) bool {
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		return strings.HasPrefix(eventType, prefix)
	}
	return p == eventType
}

// route is one registration: a named handler and the patterns it serves.
type route struct {
	name     string
	patterns []string
	h        Handler
}

func (r *route) matches(eventType string) bool {
	return slices.ContainsFunc(r.patterns, func(p string) bool { return Match(p, eventType) })
}

// Mux routes events to handlers, in the shape of net/http's ServeMux:
// Handle and HandleFunc register a handler for a pattern — an event type,
// a prefix ending in '*', or '*'. Unlike ServeMux, where the most specific
// pattern wins, every handler whose pattern matches receives the event:
// the built-in directory handler, your own handler and each forwarding
// target are independent subscribers. Each handler's outcome is recorded
// in the event's log row under its route name (the pattern, for Handle),
// so a retry runs only the handlers that have not yet succeeded.
//
// Registration panics on a malformed pattern or a name registered twice,
// like ServeMux, since both are wiring mistakes. A Mux is safe for
// concurrent use; register everything before serving.
type Mux struct {
	mu     sync.RWMutex
	routes []*route
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{} }

// Handle registers h for pattern; the route's name is the pattern.
func (m *Mux) Handle(pattern string, h Handler) { m.Route(pattern, h, pattern) }

// HandleFunc registers f for pattern.
func (m *Mux) HandleFunc(pattern string, f func(ctx context.Context, ev *Event) error) {
	if f == nil {
		panic("events: nil handler for " + pattern)
	}
	m.Handle(pattern, HandlerFunc(f))
}

// Route registers h under name for several patterns; the built-in
// handlers and forwarding targets use it. name keys the handler's result
// in the log, so keep it stable across deployments.
func (m *Mux) Route(name string, h Handler, patterns ...string) {
	if h == nil {
		panic("events: nil handler for " + name)
	}
	if !isRouteName(name) {
		panic(fmt.Sprintf("events: route name %q: want 1-200 printable characters without spaces", name))
	}
	if len(patterns) == 0 {
		panic("events: route " + name + " has no pattern")
	}
	for _, p := range patterns {
		if err := CheckPattern(p); err != nil {
			panic(err.Error())
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.ContainsFunc(m.routes, func(r *route) bool { return r.name == name }) {
		panic("events: multiple registrations for " + name)
	}
	m.routes = append(m.routes, &route{name: name, patterns: slices.Clone(patterns), h: h})
}

// Handlers returns the names of the routes that receive eventType, in
// registration order.
func (m *Mux) Handlers(eventType string) []string {
	var out []string
	for _, r := range m.match(eventType) {
		out = append(out, r.name)
	}
	return out
}

// wants reports whether any handler receives eventType.
func (m *Mux) wants(eventType string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, r := range m.routes {
		if r.matches(eventType) {
			return true
		}
	}
	return false
}

func (m *Mux) match(eventType string) []*route {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*route
	for _, r := range m.routes {
		if r.matches(eventType) {
			out = append(out, r)
		}
	}
	return out
}
