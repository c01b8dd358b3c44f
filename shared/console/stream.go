package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/redact"
)

// Topic names one view of the page; it is the event name of the view on
// the stream and its path under /console/api/.
type Topic string

// The views.
const (
	TopicOverview  Topic = "overview"
	TopicMirror    Topic = "org-mirror"
	TopicSimulator Topic = "org-simulator"
	TopicEvents    Topic = "events"
	TopicSync      Topic = "sync"
	TopicTokens    Topic = "tokens"
	TopicNotices   Topic = "notices"
	TopicRobots    Topic = "robots"
	TopicApprovals Topic = "approvals"
)

// slowTopics are recomputed every slowEvery polls only: reading the whole
// organisation costs more than the other views.
var slowTopics = []Topic{TopicMirror, TopicSimulator}

const slowEvery = 5

// pingEvery is how many polls pass between two keep-alive comments.
const pingEvery = 8

// hub tells the open streams which views may have changed.
type hub struct {
	mu     sync.Mutex
	subs   map[*sub]struct{}
	closed bool
}

// sub is one open stream's set of views to recompute.
type sub struct {
	mu    sync.Mutex
	dirty map[Topic]bool
	wake  chan struct{}
	done  chan struct{}
}

func newHub() *hub { return &hub{subs: map[*sub]struct{}{}} }

func (h *hub) subscribe() (*sub, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	s := &sub{dirty: map[Topic]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	return s, true
}

func (h *hub) unsubscribe(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

func (h *hub) publish(topics ...Topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.mark(topics...)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		close(s.done)
	}
}

func (s *sub) mark(topics ...Topic) {
	s.mu.Lock()
	for _, t := range topics {
		s.dirty[t] = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the dirty topics in order and clears them.
func (s *sub) take(order []Topic) []Topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Topic
	for _, t := range order {
		if s.dirty[t] {
			out = append(out, t)
		}
	}
	clear(s.dirty)
	return out
}

// stream serves the server-sent events: every view the console has at
// once, then each again whenever it changes.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The server's write timeout is meant for answers, not for a stream.
	_ = rc.SetWriteDeadline(time.Time{})
	s, ok := c.hub.subscribe()
	if !ok {
		httpapi.WriteError(w, r, http.StatusServiceUnavailable, "closing", "the console is shutting down")
		return
	}
	defer c.hub.unsubscribe(s)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	topics := c.topics()
	fast := slices.DeleteFunc(slices.Clone(topics), func(t Topic) bool { return slices.Contains(slowTopics, t) })
	s.mark(topics...)
	last := map[Topic][]byte{}
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	for polls := 1; ; {
		var buf bytes.Buffer
		for _, t := range s.take(topics) {
			b, err := c.viewJSON(r.Context(), t)
			if err != nil {
				c.log.WarnContext(r.Context(), "console: view failed", "view", t, "err", err)
				b, _ = json.Marshal(map[string]string{"view": string(t), "message": redact.String(err.Error())})
				fmt.Fprintf(&buf, "event: view-error\ndata: %s\n\n", b)
				continue
			}
			if bytes.Equal(last[t], b) {
				continue
			}
			last[t] = b
			fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", t, b)
		}
		if buf.Len() > 0 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-s.wake:
		case <-tick.C:
			s.mark(fast...)
			if polls%slowEvery == 0 {
				s.mark(slowTopics...)
			}
			if polls%pingEvery == 0 {
				if _, err := w.Write([]byte(": ping\n\n")); err != nil {
					return
				}
			}
			polls++
		}
	}
}

// serveView answers GET /console/api/{view}.
func (c *Console) serveView(w http.ResponseWriter, r *http.Request, t Topic) {
	if !slices.Contains(c.topics(), t) {
		httpapi.WriteError(w, r, http.StatusNotFound, "not_available", fmt.Sprintf("the %s view needs what this console runs without (%s)", t, needs[t]))
		return
	}
	b, err := c.viewJSON(r.Context(), t)
	if err != nil {
		httpapi.WriteError(w, r, http.StatusBadGateway, "view_failed", redact.String(err.Error()))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(append(b, '\n'))
}

// needs says what each optional view is built from.
var needs = map[Topic]string{
	TopicSimulator: "the simulated DingTalk of dingfn dev",
	TopicApprovals: "the simulated DingTalk of dingfn dev",
	TopicRobots:    "the simulated DingTalk of dingfn dev",
	TopicNotices:   "notify",
	TopicEvents:    "the event log",
	TopicTokens:    "the token provider",
}

// topics lists the views this console has, in the order a stream sends
// them first.
func (c *Console) topics() []Topic {
	out := []Topic{TopicOverview, TopicMirror}
	if c.src.Simulator != nil {
		out = append(out, TopicSimulator)
	}
	if c.src.Events != nil {
		out = append(out, TopicEvents)
	}
	out = append(out, TopicSync)
	if c.src.Tokens != nil {
		out = append(out, TopicTokens)
	}
	if c.src.Notify != nil {
		out = append(out, TopicNotices)
	}
	if c.src.Simulator != nil {
		out = append(out, TopicRobots, TopicApprovals)
	}
	return out
}
