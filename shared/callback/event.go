package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// Event is one decrypted DingTalk callback event.
type Event struct {
	// Type is the EventType, e.g. "user_add_org" or "bpms_instance_change".
	Type string
	// CorpID is the corpId the event belongs to (AuthCorpId for
	// third-party suite pushes); empty when the payload has none.
	CorpID string
	// EventID is the payload's eventId, sent by console (app-level)
	// subscriptions; empty for register_call_back pushes.
	EventID string
	// Time is EventTime, or else TimeStamp, best effort: zero when the
	// payload has neither or they do not parse. Seconds and milliseconds
	// are both accepted.
	Time time.Time
	// Raw is the whole decrypted JSON object.
	Raw json.RawMessage
}

// Dispatcher receives every valid event other than the URL checks. An error
// makes the handler answer 5xx, so DingTalk delivers the event again;
// Dispatch must therefore be idempotent.
type Dispatcher interface {
	Dispatch(ctx context.Context, ev *Event) error
}

// LogDispatcher returns a Dispatcher that only logs each event's type,
// corp and id at info level — never the payload, which holds personal data.
// The functions dispatch to the event log (package events) instead; this
// one is for tests and tools that only need the protocol. A nil logger
// discards them.
func LogDispatcher(logger *slog.Logger) Dispatcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return logDispatcher{logger}
}

type logDispatcher struct{ logger *slog.Logger }

// Dispatch logs the event and always succeeds.
func (d logDispatcher) Dispatch(ctx context.Context, ev *Event) error {
	d.logger.InfoContext(ctx, "callback event", "type", ev.Type, "corp", ev.CorpID, "event_id", ev.EventID)
	return nil
}

// checkEvents are the URL-validation pushes DingTalk sends when a callback
// URL is saved or registered; they are answered but not dispatched.
var checkEvents = map[string]bool{
	"check_url":              true,
	"check_create_suite_url": true,
	"check_update_suite_url": true,
}

// IsCheck reports whether an event type is one of DingTalk's URL checks
// (check_url and the suite registration variants), which only need an
// encrypted "success" back.
func IsCheck(eventType string) bool { return checkEvents[eventType] }

// ErrMalformedEvent is returned by ParseEvent for a payload that is not a
// JSON object with a string EventType.
var ErrMalformedEvent = errors.New("callback: malformed event")

// eventFields are the envelope fields. encoding/json matches object keys to
// these names case-insensitively, which is what DingTalk's mixed spellings
// (EventType/eventType, CorpId/corpId/CorpID) need.
type eventFields struct {
	EventType  string          `json:"EventType"`
	CorpID     string          `json:"CorpId"`
	AuthCorpID string          `json:"AuthCorpId"`
	EventID    string          `json:"EventId"`
	EventTime  json.RawMessage `json:"EventTime"`
	TimeStamp  json.RawMessage `json:"TimeStamp"`
}

// ParseEvent parses a decrypted callback payload. Keys are matched
// case-insensitively and EventTime/TimeStamp may be strings or numbers.
func ParseEvent(raw []byte) (*Event, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformedEvent)
	}
	var f eventFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEvent, err)
	}
	if f.EventType == "" {
		return nil, fmt.Errorf("%w: no EventType", ErrMalformedEvent)
	}
	ev := &Event{Type: f.EventType, CorpID: f.CorpID, EventID: f.EventID, Raw: json.RawMessage(raw)}
	if ev.CorpID == "" {
		ev.CorpID = f.AuthCorpID
	}
	if t, ok := parseTime(f.EventTime); ok {
		ev.Time = t
	} else if t, ok := parseTime(f.TimeStamp); ok {
		ev.Time = t
	}
	return ev, nil
}

// parseTime reads a JSON number or numeric string as a DingTalk timestamp
// (seconds, or milliseconds above 1e11; see dingcrypto.ParseTimestamp).
// Zero counts as absent.
func parseTime(v json.RawMessage) (time.Time, bool) {
	if len(v) == 0 {
		return time.Time{}, false
	}
	s := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return time.Time{}, false
		}
	}
	t, err := dingcrypto.ParseTimestamp(s)
	if err != nil || t.Unix() == 0 {
		return time.Time{}, false
	}
	return t, true
}
