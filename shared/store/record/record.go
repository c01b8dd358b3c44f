package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/wait"
)

// ErrNoChange, returned by an Update function, leaves the row as it is and
// costs no write; Update then returns the row as read, and nil.
var ErrNoChange = errors.New("record: no change")

// ErrDelete, returned by an Update function, deletes the row, under the
// same condition as a write; Update returns a Record with Version 0.
var ErrDelete = errors.New("record: delete")

// ErrMalformed is matched by errors about a stored value that is not the
// JSON of the expected type.
var ErrMalformed = errors.New("record: malformed stored value")

// DefaultMaxAttempts bounds Update's reads and writes when other writers
// keep winning; each attempt after a conflict waits a jittered, doubling
// pause from 1 ms up to 100 ms first.
const DefaultMaxAttempts = 10

// Record is a typed row.
type Record[T any] struct {
	Key   string
	Value T
	// Version is the stored version (see store.Item); 0 when there is no
	// row.
	Version   int64
	ExpiresAt time.Time
}

// Found reports whether r is a stored row rather than the absence of one.
func (r Record[T]) Found() bool { return r.Version != 0 }

// Get returns the row of key, or an error matching store.ErrNotFound when
// it is absent or expired, or ErrMalformed when it does not decode as T.
func Get[T any](ctx context.Context, st store.Store, table, key string) (Record[T], error) {
	it, err := st.Get(ctx, table, key)
	if err != nil {
		return Record[T]{}, err
	}
	return decode[T](table, it)
}

// Put writes v as the row of key if cond holds, expiring at expiresAt (the
// zero time is never), and returns the stored row.
func Put[T any](ctx context.Context, st store.Store, table, key string, v T, cond store.Cond, expiresAt time.Time) (Record[T], error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Record[T]{}, fmt.Errorf("record: encode %s %q: %w", table, key, err)
	}
	version, err := st.Put(ctx, table, store.Item{Key: key, Value: b, ExpiresAt: expiresAt}, cond)
	if err != nil {
		return Record[T]{}, err
	}
	return Record[T]{Key: key, Value: v, Version: version, ExpiresAt: expiresAt}, nil
}

func decode[T any](table string, it store.Item) (Record[T], error) {
	r := Record[T]{Key: it.Key, Version: it.Version, ExpiresAt: it.ExpiresAt}
	if err := json.Unmarshal(it.Value, &r.Value); err != nil {
		return r, fmt.Errorf("%w: %s %q: %w", ErrMalformed, table, it.Key, err)
	}
	return r, nil
}

// Option configures Update.
type Option func(*options) error

type options struct {
	expiry           any // func(T) time.Time
	maxAttempts      int
	replaceMalformed bool
}

// WithExpiry makes each write of Update expire at f(value) (the zero time
// is never). Without it rows never expire.
func WithExpiry[T any](f func(T) time.Time) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("record: WithExpiry: nil function")
		}
		o.expiry = f
		return nil
	}
}

// WithMaxAttempts bounds the reads and writes of one Update (default
// DefaultMaxAttempts).
func WithMaxAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("record: WithMaxAttempts: %d is less than 1", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithReplaceMalformed makes Update call fn as if there were no row when
// the stored value does not decode, and write over it (still conditional
// on the version it read). Without it such a row fails the Update with
// ErrMalformed: a value written by a newer program is not silently lost.
func WithReplaceMalformed() Option {
	return func(o *options) error {
		o.replaceMalformed = true
		return nil
	}
}

// Update applies fn to the row of key until its write wins, and returns
// the row as stored; see the package documentation. fn receives the
// current value (the zero T when found is false: absent, expired or, with
// WithReplaceMalformed, undecodable). When other writers win every attempt
// Update gives up with an error matching store.ErrConflict; an error of
// fn, other than ErrNoChange and ErrDelete, is returned unchanged.
func Update[T any](ctx context.Context, st store.Store, table, key string, fn func(cur T, found bool) (T, error), opts ...Option) (Record[T], error) {
	o := options{maxAttempts: DefaultMaxAttempts}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return Record[T]{}, err
		}
	}
	expiry := func(T) time.Time { return time.Time{} }
	if o.expiry != nil {
		f, ok := o.expiry.(func(T) time.Time)
		if !ok {
			return Record[T]{}, fmt.Errorf("record: WithExpiry takes a %T, not a func(%T) time.Time", o.expiry, *new(T))
		}
		expiry = f
	}
	pause := time.Millisecond
	for attempt := 1; ; attempt++ {
		cur, err := Get[T](ctx, st, table, key)
		found := err == nil
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur = Record[T]{Key: key}
		case errors.Is(err, ErrMalformed) && o.replaceMalformed:
			cur.Value = *new(T) // Version stays: the write replaces that row
		case err != nil:
			return Record[T]{}, fmt.Errorf("record: update %s %q: %w", table, key, err)
		}
		cond := store.IfAbsent
		if cur.Version != 0 {
			cond = store.IfVersion(cur.Version)
		}
		next, err := fn(cur.Value, found)
		switch {
		case errors.Is(err, ErrNoChange):
			if !found {
				return Record[T]{Key: key}, nil
			}
			return cur, nil
		case errors.Is(err, ErrDelete):
			if cur.Version == 0 {
				return Record[T]{Key: key}, nil
			}
			err = st.Delete(ctx, table, key, cond)
			if err == nil {
				return Record[T]{Key: key}, nil
			}
		case err != nil:
			return Record[T]{}, err
		default:
			var rec Record[T]
			rec, err = Put(ctx, st, table, key, next, cond, expiry(next))
			if err == nil {
				return rec, nil
			}
		}
		if !errors.Is(err, store.ErrConflict) {
			return Record[T]{}, fmt.Errorf("record: update %s %q: %w", table, key, err)
		}
		if attempt >= o.maxAttempts {
			return Record[T]{}, fmt.Errorf("record: update %s %q: gave up after %d attempts: %w", table, key, attempt, err)
		}
		if err := wait.Sleep(ctx, rand.N(pause)+1); err != nil {
			return Record[T]{}, fmt.Errorf("record: update %s %q: %w", table, key, err)
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}
