package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/record"
)

// DefaultTable is the event log's logical table.
const DefaultTable = "events"

// DuePrefix starts the keys of the drain's index rows in the events table;
// every other key is an event id. '~' sorts after every character an id
// may hold, so a scan of ["", "~") reads events only.
const DuePrefix = "~due/"

// Entry is an event's row in the log: the table's public contract (the
// JSON below is what other languages read).
type Entry struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	CorpID     string    `json:"corp_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// EventTime is the event's own time, when the payload has one.
	EventTime time.Time `json:"event_time,omitzero"`
	Source    string    `json:"source"`
	// Payload is the decrypted event as DingTalk sent it.
	Payload json.RawMessage `json:"payload"`
	Status  Status          `json:"status"`
	// Attempts counts the processing runs so far.
	Attempts int `json:"attempts"`
	// LastError is the last failure, redacted; empty once done.
	LastError string `json:"last_error,omitempty"`
	// NextAttemptAt is when the drain processes the event next; zero when
	// its status is final.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// Results holds each handler's outcome by route name.
	Results   map[string]Result `json:"results,omitempty"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Result is one handler's outcome for an event.
type Result struct {
	// Status is done, failed, dead, or pending (interrupted by the time
	// budget before it finished).
	Status Status `json:"status"`
	// Attempts counts the failed runs (interruptions are not counted).
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	At        time.Time `json:"at"`
}

// Event returns the event as handlers see it, for its next processing run.
func (e *Entry) Event() *Event {
	return &Event{ID: e.ID, Type: e.Type, CorpID: e.CorpID, ReceivedAt: e.ReceivedAt, Time: e.EventTime,
		Source: e.Source, Payload: e.Payload, Attempt: e.Attempts + 1}
}

// encode is json.Marshal(e), written out by hand: the log write and the
// outcome of inline processing are on the callback's reply path, where
// encoding/json's reflection and its re-validation of the payload (which
// the callback has just parsed) cost more than the store write itself.
// Entries with unusual times go through encoding/json.
func (e *Entry) encode() ([]byte, error) {
	b, _, err := e.encodeAt()
	return b, err
}

// encodeAt is encode, and where the payload is in the encoding: b[at :
// at+len(e.Payload)], or at = -1 when encoding/json wrote it (compacted).
func (e *Entry) encodeAt() (b []byte, at int, err error) {
	if len(e.Payload) == 0 || !plainTime(e.ReceivedAt) || !plainTime(e.EventTime) || !plainTime(e.NextAttemptAt) || !plainTime(e.UpdatedAt) {
		b, err = json.Marshal(e)
		return b, -1, err
	}
	for _, r := range e.Results {
		if !plainTime(r.At) {
			b, err = json.Marshal(e)
			return b, -1, err
		}
	}
	// Room for the keys, four times and the strings, so one allocation
	// does.
	n := 336 + len(e.ID) + len(e.Type) + len(e.CorpID) + len(e.Source) + len(e.Payload) + len(e.LastError)
	for name, r := range e.Results {
		n += 112 + len(name) + len(r.LastError)
	}
	b = make([]byte, 0, n)
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	if e.CorpID != "" {
		b = append(b, `,"corp_id":`...)
		b = appendString(b, e.CorpID)
	}
	b = appendTime(append(b, `,"received_at":`...), e.ReceivedAt)
	if !e.EventTime.IsZero() {
		b = appendTime(append(b, `,"event_time":`...), e.EventTime)
	}
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"payload":`...)
	at = len(b)
	b = append(b, e.Payload...)
	b = append(b, `,"status":`...)
	b = appendString(b, string(e.Status))
	b = strconv.AppendInt(append(b, `,"attempts":`...), int64(e.Attempts), 10)
	if e.LastError != "" {
		b = append(b, `,"last_error":`...)
		b = appendString(b, e.LastError)
	}
	if !e.NextAttemptAt.IsZero() {
		b = appendTime(append(b, `,"next_attempt_at":`...), e.NextAttemptAt)
	}
	if len(e.Results) > 0 {
		var nameBuf [4]string
		names := nameBuf[:0]
		for name := range e.Results {
			names = append(names, name)
		}
		slices.Sort(names) // as encoding/json orders a map
		b = append(b, `,"results":{`...)
		for i, name := range names {
			if i > 0 {
				b = append(b, ',')
			}
			r := e.Results[name]
			b = append(appendString(b, name), `:{"status":`...)
			b = appendString(b, string(r.Status))
			b = strconv.AppendInt(append(b, `,"attempts":`...), int64(r.Attempts), 10)
			if r.LastError != "" {
				b = append(b, `,"last_error":`...)
				b = appendString(b, r.LastError)
			}
			b = append(appendTime(append(b, `,"at":`...), r.At), '}')
		}
		b = append(b, '}')
	}
	b = appendTime(append(b, `,"updated_at":`...), e.UpdatedAt)
	return append(b, '}'), at, nil
}

// plainTime reports whether t encodes as time.Time.MarshalJSON would with
// AppendFormat alone: a four-digit year.
func plainTime(t time.Time) bool { y := t.Year(); return y >= 0 && y <= 9999 }

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string; anything beyond printable
// ASCII without quotes or backslashes goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// DueKey is the key of the index row saying that event id is due at t:
// DuePrefix + Unix milliseconds in 15 digits + "/" + id.
func DueKey(t time.Time, id string) string {
	var buf [160]byte // for ids of up to 128 bytes, the one allocation is the string
	b := append(buf[:0], DuePrefix...)
	ms := max(t.UnixMilli(), 0)
	for n := digits(ms); n < 15; n++ {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '/')
	return string(append(b, id...))
}

// digits is the number of decimal digits of n >= 0.
func digits(n int64) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// parseDueKey splits an index key; ok is false for a malformed one.
func parseDueKey(key string) (id string, due time.Time, ok bool) {
	rest, found := strings.CutPrefix(key, DuePrefix)
	if !found {
		return "", time.Time{}, false
	}
	ms, id, found := strings.Cut(rest, "/")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !found || err != nil || id == "" {
		return "", time.Time{}, false
	}
	return id, time.UnixMilli(n), true
}

// indexRow is the value of an index row, for readers of the table.
type indexRow struct {
	ID    string    `json:"id"`
	DueAt time.Time `json:"due_at"`
}

// logTable is the events table: event rows and the drain's index rows.
type logTable struct {
	st    store.Store
	table string
}

func (l logTable) indexWrite(e *Entry, expires time.Time) store.Write {
	return store.Write{Item: store.Item{Key: DueKey(e.NextAttemptAt, e.ID), Value: indexRow{ID: e.ID, DueAt: e.NextAttemptAt.UTC()}.encode(), ExpiresAt: expires}}
}

// encode is json.Marshal(r), by hand where it can: the callback writes an
// index row with every event a handler wants.
func (r indexRow) encode() []byte {
	if !plainTime(r.DueAt) {
		v, _ := json.Marshal(r)
		return v
	}
	b := make([]byte, 0, 64+len(r.ID))
	b = appendString(append(b, `{"id":`...), r.ID)
	b = appendTime(append(b, `,"due_at":`...), r.DueAt)
	return append(b, '}')
}

// insert logs new entries in one batch: each event row if absent, with
// an index row first for each that is not final. dup[i] reports entries
// already logged. An event row that could not be written for another
// reason fails the call; an index row alone failing does not (the next
// update of the event writes it again).
func (l logTable) insert(ctx context.Context, entries []*Entry, expires []time.Time) (dup []bool, err error) {
	writes := make([]store.Write, 0, 2*len(entries))
	at := make([]int, len(entries)) // position of each event row in writes
	for i, e := range entries {
		if !e.Status.Final() {
			writes = append(writes, l.indexWrite(e, expires[i]))
		}
		v, err := e.encode()
		if err != nil {
			return nil, fmt.Errorf("events: encode %s: %w", e.ID, err)
		}
		at[i] = len(writes)
		writes = append(writes, store.Write{Item: store.Item{Key: e.ID, Value: v, ExpiresAt: expires[i]}, Cond: store.IfAbsent})
	}
	dup = make([]bool, len(entries))
	if len(writes) == 1 {
		// One final entry: a plain conditional put.
		_, err := l.st.Put(ctx, l.table, writes[0].Item, store.IfAbsent)
		switch {
		case errors.Is(err, store.ErrConflict):
			dup[0] = true
			return dup, nil
		case err != nil:
			return nil, fmt.Errorf("events: log %s: %w", entries[0].ID, err)
		}
		return dup, nil
	}
	failed := map[int]error{}
	if err := l.st.Batch(ctx, l.table, writes); err != nil {
		var be *store.BatchError
		if !errors.As(err, &be) {
			return nil, fmt.Errorf("events: log: %w", err)
		}
		for _, f := range be.Failed {
			failed[f.Index] = f.Err
		}
	}
	var errs []error
	for i, e := range entries {
		switch ferr := failed[at[i]]; {
		case ferr == nil:
		case errors.Is(ferr, store.ErrConflict):
			dup[i] = true
		default:
			errs = append(errs, fmt.Errorf("events: log %s: %w", e.ID, ferr))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return dup, nil
}

// insertOne is insert of one entry, without its slices and map (it is on
// the callback's reply path). It also returns the row as written, with
// the payload at logged[at:] (at is -1 when encoding/json wrote it), so
// that Process can record the outcome without decoding the row again.
func (l logTable) insertOne(ctx context.Context, e *Entry, expires time.Time) (dup bool, logged []byte, at int, err error) {
	logged, at, err = e.encodeAt()
	if err != nil {
		return false, nil, -1, fmt.Errorf("events: encode %s: %w", e.ID, err)
	}
	row := store.Item{Key: e.ID, Value: logged, ExpiresAt: expires}
	if e.Status.Final() {
		// One final entry: a plain conditional put.
		_, err = l.st.Put(ctx, l.table, row, store.IfAbsent)
	} else {
		writes := []store.Write{l.indexWrite(e, expires), {Item: row, Cond: store.IfAbsent}}
		err = l.st.Batch(ctx, l.table, writes)
		var be *store.BatchError
		if errors.As(err, &be) {
			err = nil // the index row alone failing does not count
			for _, f := range be.Failed {
				if f.Index == 1 {
					err = f.Err
				}
			}
		}
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		return true, logged, at, nil
	case err != nil:
		return false, nil, -1, fmt.Errorf("events: log %s: %w", e.ID, err)
	}
	return false, logged, at, nil
}

// get reads one event row.
func (l logTable) get(ctx context.Context, id string) (record.Record[Entry], error) {
	return record.Get[Entry](ctx, l.st, l.table, id)
}

// putIndex writes the index row of e.
func (l logTable) putIndex(ctx context.Context, e *Entry, expires time.Time) error {
	w := l.indexWrite(e, expires)
	if _, err := l.st.Put(ctx, l.table, w.Item, store.Always); err != nil {
		return fmt.Errorf("events: index %s: %w", e.ID, err)
	}
	return nil
}

// deleteKeys removes index rows.
func (l logTable) deleteKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	writes := make([]store.Write, len(keys))
	for i, k := range keys {
		writes[i] = store.Write{Item: store.Item{Key: k}, Delete: true}
	}
	if err := l.st.Batch(ctx, l.table, writes); err != nil {
		return fmt.Errorf("events: drop index rows: %w", err)
	}
	return nil
}

// entries iterates over the event rows (not the index), in id order.
func (l logTable) entries(ctx context.Context) iter.Seq2[record.Record[Entry], error] {
	return func(yield func(record.Record[Entry], error) bool) {
		for it, err := range store.All(ctx, l.st, l.table, store.Range{End: "~"}) {
			if err != nil {
				yield(record.Record[Entry]{}, fmt.Errorf("events: list: %w", err))
				return
			}
			r := record.Record[Entry]{Key: it.Key, Version: it.Version, ExpiresAt: it.ExpiresAt}
			if err := json.Unmarshal(it.Value, &r.Value); err != nil {
				if !yield(r, fmt.Errorf("%w: %s %q: %w", record.ErrMalformed, l.table, it.Key, err)) {
					return
				}
				continue
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}
