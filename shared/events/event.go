package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
)

// Sources of an event: how it reached the log.
const (
	// SourcePush is DingTalk's HTTP push to the callback.
	SourcePush = "push"
	// SourceFailedResult is get_call_back_failed_result, for pushes
	// DingTalk gave up on.
	SourceFailedResult = "failed_result"
)

// Event is one logged event, as handlers see it.
type Event struct {
	// ID is the event's log id (see EventID): DingTalk's eventId when the
	// payload has one, else derived from what identifies the event.
	ID string
	// Type is the event type, e.g. "user_add_org".
	Type string
	// CorpID is the organisation the event belongs to; empty when the
	// payload does not say.
	CorpID string
	// ReceivedAt is when dingfn first logged the event.
	ReceivedAt time.Time
	// Time is the event's own time (EventTime or TimeStamp), zero when the
	// payload has none.
	Time time.Time
	// Source is how the event arrived (SourcePush, SourceFailedResult, or
	// another feature's own source).
	Source string
	// Payload is the decrypted JSON object as DingTalk sent it; keys are
	// DingTalk's, in its mixed spellings. The typed accessors (User,
	// Department, ApprovalInstance, …) read it case-insensitively.
	Payload json.RawMessage
	// Attempt is 1 the first time the event is processed, and counts up
	// with every retry.
	Attempt int
}

// FromCallback turns a decrypted push into an Event received at now,
// with its id from EventID.
func FromCallback(ev *callback.Event, now time.Time) *Event {
	e := &Event{Type: ev.Type, CorpID: ev.CorpID, Time: ev.Time, ReceivedAt: now.UTC(), Source: SourcePush, Payload: ev.Raw}
	e.ID = EventID(ev.EventID, e.Type, e.CorpID, e.Payload, e.Time)
	return e
}

// NewEvent builds an Event from a decrypted payload received at now,
// through the same parser as the callback, for other sources (recovered
// pushes, tests, the CLI's replay of a saved payload).
func NewEvent(payload []byte, source string, now time.Time) (*Event, error) {
	cev, err := callback.ParseEvent(payload)
	if err != nil {
		return nil, err
	}
	e := FromCallback(cev, now)
	e.Source = source
	return e, nil
}

// Status is the processing state of a logged event.
type Status string

// The statuses of the log's public contract.
const (
	// StatusPending: logged, not yet processed, or processing was cut
	// short by its time budget; the drain takes it next.
	StatusPending Status = "pending"
	// StatusDone: every handler that matched succeeded (or none matched).
	StatusDone Status = "done"
	// StatusFailed: a handler failed; the drain retries it at
	// next_attempt_at.
	StatusFailed Status = "failed"
	// StatusDead: a handler failed permanently or ran out of attempts. The
	// event is kept until it expires and can be replayed.
	StatusDead Status = "dead"
)

// Final reports whether nothing more happens to an event in status s
// unless it is replayed.
func (s Status) Final() bool { return s == StatusDone || s == StatusDead }

// ErrPermanent is matched by handler errors that retrying cannot fix (a
// payload that does not parse, say): the handler's result is dead at
// once, without using up the attempts.
var ErrPermanent = errors.New("events: permanent failure")

// Permanent marks err as permanent (see ErrPermanent); nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// jsonObject reports whether b is a JSON object, after white space.
func jsonObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
