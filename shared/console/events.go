package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/redact"
	"github.com/dingfn/dingfn/shared/store"
)

// EventsView is the event log, newest first.
type EventsView struct {
	Events []EventView `json:"events"`
	// Counts counts every logged event by status; Total is their sum.
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
	// Omitted is how many older events are left out (MaxEvents).
	Omitted int `json:"omitted,omitempty"`
}

// EventView is one logged event.
type EventView struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Status     string     `json:"status"`
	Source     string     `json:"source"`
	ReceivedAt time.Time  `json:"received_at"`
	EventTime  *time.Time `json:"event_time,omitempty"`
	Attempts   int        `json:"attempts"`
	// LastError is the last failure, redacted by the log and again here.
	LastError     string        `json:"last_error,omitempty"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	Handlers      []HandlerView `json:"handlers"`
	// Subject says whom or what the event is about ("lisi, wangwu",
	// "department 3", an approval's title).
	Subject string `json:"subject,omitempty"`
	// Payload is the decrypted event as DingTalk sent it.
	Payload json.RawMessage `json:"payload"`
}

// HandlerView is one handler's outcome for an event.
type HandlerView struct {
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	At        time.Time `json:"at"`
}

// MaxEvents is the longest event list (the newest).
const MaxEvents = 100

func (c *Console) eventLog(ctx context.Context) (*EventsView, error) {
	v := &EventsView{Events: []EventView{}, Counts: map[string]int{}}
	for e, err := range c.src.Events.List(ctx, "") {
		if err != nil {
			return nil, err
		}
		v.Counts[string(e.Status)]++
		v.Total++
		v.Events = append(v.Events, eventView(e))
	}
	slices.SortFunc(v.Events, func(a, b EventView) int {
		return cmp.Or(b.ReceivedAt.Compare(a.ReceivedAt), strings.Compare(b.ID, a.ID))
	})
	if len(v.Events) > MaxEvents {
		v.Omitted = len(v.Events) - MaxEvents
		v.Events = v.Events[:MaxEvents]
	}
	return v, nil
}

func eventView(e *events.Entry) EventView {
	v := EventView{ID: e.ID, Type: e.Type, Status: string(e.Status), Source: e.Source, ReceivedAt: e.ReceivedAt,
		Attempts: e.Attempts, LastError: redact.String(e.LastError), Handlers: []HandlerView{}, Payload: e.Payload}
	if !e.EventTime.IsZero() {
		t := e.EventTime
		v.EventTime = &t
	}
	if !e.NextAttemptAt.IsZero() {
		t := e.NextAttemptAt
		v.NextAttemptAt = &t
	}
	for name, r := range e.Results {
		v.Handlers = append(v.Handlers, HandlerView{Name: name, Status: string(r.Status), Attempts: r.Attempts,
			LastError: redact.String(r.LastError), At: r.At})
	}
	slices.SortFunc(v.Handlers, func(a, b HandlerView) int { return strings.Compare(a.Name, b.Name) })
	if len(v.Payload) == 0 {
		v.Payload = json.RawMessage("{}")
	}
	// A robot message's session webhook is a credential while it lives.
	if e.Type == chatbot.EventType {
		if red := json.RawMessage(redact.String(string(v.Payload))); json.Valid(red) {
			v.Payload = red
		} else {
			v.Payload = json.RawMessage("{}")
		}
	}
	v.Subject = subject(e.Event())
	return v
}

// subject sums up whom or what an event is about, from its typed
// payload; "" for a type without one or a payload that does not parse.
func subject(ev *events.Event) string {
	switch events.FamilyOf(ev.Type) {
	case events.FamilyUser:
		if u, err := ev.User(); err == nil {
			return strings.Join(u.UserIDs, ", ")
		}
	case events.FamilyDepartment:
		if d, err := ev.Department(); err == nil {
			ids := make([]string, len(d.DeptIDs))
			for i, id := range d.DeptIDs {
				ids[i] = fmt.Sprint(id)
			}
			return "department " + strings.Join(ids, ", ")
		}
	case events.FamilyApprovalInstance:
		if a, err := ev.ApprovalInstance(); err == nil {
			return strings.TrimSpace(a.Title + " " + a.Kind + " " + a.Result)
		}
	case events.FamilyApprovalTask:
		if a, err := ev.ApprovalTask(); err == nil {
			return strings.TrimSpace(a.Title + " " + a.Kind + " " + a.Result)
		}
	}
	return ""
}

// postReplay replays a logged event: its handlers that did not succeed
// run again (all of them, for an event that is done), at once, under the
// drain step's lease as the sync tick's drain would.
func (c *Console) postReplay(w http.ResponseWriter, r *http.Request) {
	if c.src.Events == nil {
		httpapi.WriteErrorBody(w, r, http.StatusNotImplemented, httpapi.ErrorBody{Error: "not_configured", Missing: "events",
			Message: "this console has no event log"})
		return
	}
	var body struct {
		// All replays every handler, the successful ones too.
		All *bool `json:"all"`
	}
	if r.ContentLength != 0 {
		if httpapi.DecodeJSON(w, r, &body, bodyLimit) != nil {
			return
		}
	}
	id := r.PathValue("id")
	cur, err := c.src.Events.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		httpapi.WriteError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("no event %q in the log", truncate(id, 130)))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, http.StatusBadGateway, "store_error", redact.String(err.Error()))
		return
	}
	all := cur.Status == events.StatusDone
	if body.All != nil {
		all = *body.All
	}
	e, err := c.src.Events.Replay(r.Context(), id, all)
	if err != nil {
		httpapi.WriteError(w, r, http.StatusBadGateway, "store_error", redact.String(err.Error()))
		return
	}
	c.mu.Lock()
	closing := c.ctx.Err() != nil
	if !closing {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	if !closing {
		go func() {
			defer c.wg.Done()
			if err := c.src.Events.DrainNow(c.ctx); err != nil && c.ctx.Err() == nil {
				c.log.Warn("console: drain after a replay failed", "event", id, "err", err)
			}
			c.Publish(TopicEvents, TopicMirror, TopicApprovals)
		}()
	}
	c.Publish(TopicEvents)
	v := eventView(e)
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"ok": true, "event": v,
		"message": fmt.Sprintf("event %s replayed (%s): its handlers run again now", id, map[bool]string{true: "every handler", false: "the handlers that did not succeed"}[all])})
}
