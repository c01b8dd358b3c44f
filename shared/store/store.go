// Package store is dingfn's one persistence abstraction: tokens and tickets,
// leases, idempotency keys, the event log, the directory mirror, checkpoints
// and sent-message records all go through a Store.
//
// The interface is deliberately small so that Tablestore (production), bbolt
// (the embedded default) and memory (tests) can implement it with the same
// semantics, proved by the contract suite in package storetest.
//
// Semantics every backend guarantees:
//   - Keys are non-empty strings, ordered bytewise; a table is a logical name
//     ("tokens", "users", …) that the backend prefixes with its table prefix.
//   - Every write of a key sets a new Version, strictly greater than the
//     version it replaces, so compare-and-swap loops never lose an update.
//   - An item whose ExpiresAt has passed (by the store's clock) is absent for
//     every operation: Get misses, Scan skips it, IfAbsent succeeds over it,
//     IfVersion fails on it.
//   - A failed condition returns an error that matches ErrConflict and
//     changes nothing.
package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// ErrNotFound is returned by Get when the key is absent or expired.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned by a conditional write whose condition failed.
var ErrConflict = errors.New("store: condition failed")

// Item is one stored row.
type Item struct {
	// Key identifies the item inside its table.
	Key string
	// Value is opaque to the store; dingfn writes JSON so that other
	// languages can read the tables.
	Value []byte
	// Version is set by the store on every write; callers pass it back in
	// IfVersion. Ignored on input.
	Version int64
	// ExpiresAt is when the item stops existing; zero means never.
	ExpiresAt time.Time
}

// Cond is the precondition of a write.
type Cond struct {
	kind    condKind
	version int64
}

type condKind uint8

const (
	condAlways condKind = iota
	condIfAbsent
	condIfVersion
)

// Always is the unconditional write.
var Always = Cond{}

// IfAbsent makes a write succeed only when the key is absent or expired.
var IfAbsent = Cond{kind: condIfAbsent}

// IfVersion makes a write succeed only when the stored, unexpired item has
// exactly version v.
func IfVersion(v int64) Cond { return Cond{kind: condIfVersion, version: v} }

// IsAlways reports whether c is unconditional.
func (c Cond) IsAlways() bool { return c.kind == condAlways }

// IsIfAbsent reports whether c requires the key to be absent.
func (c Cond) IsIfAbsent() bool { return c.kind == condIfAbsent }

// Version returns the expected version and true when c is IfVersion.
func (c Cond) Version() (int64, bool) { return c.version, c.kind == condIfVersion }

// String describes c for errors and logs.
func (c Cond) String() string {
	switch c.kind {
	case condIfAbsent:
		return "if-absent"
	case condIfVersion:
		return fmt.Sprintf("if-version=%d", c.version)
	default:
		return "always"
	}
}

// Write is one entry of a batch: a put of Item, or a delete of Item.Key.
type Write struct {
	Item   Item
	Delete bool
}

// BatchError reports the writes of a batch that failed; the others were
// applied. Index is the position in the slice passed to Batch.
type BatchError struct {
	Failed []RowError
}

// RowError is one failed write of a batch.
type RowError struct {
	Index int
	Key   string
	Err   error
}

func (e *BatchError) Error() string {
	if len(e.Failed) == 0 {
		return "store: batch: no failures"
	}
	f := e.Failed[0]
	return fmt.Sprintf("store: batch: %d writes failed, first #%d %q: %v", len(e.Failed), f.Index, f.Key, f.Err)
}

// Range selects keys for Scan: Start <= key < End, in ascending order.
// Empty Start and End are unbounded; Prefix, when set, narrows further.
type Range struct {
	Start  string
	End    string
	Prefix string
	// Limit caps the items of one page; 0 means the backend's default.
	// Pages may be shorter than Limit (even empty) before the end.
	Limit int
	// Cursor continues a previous page; "" starts at the beginning.
	Cursor string
}

// Page is one page of a Scan.
type Page struct {
	Items []Item
	// Next is the cursor of the following page; "" when the scan is done.
	Next string
}

// Store is implemented by every backend.
type Store interface {
	// Get returns the item, or an error matching ErrNotFound.
	Get(ctx context.Context, table, key string) (Item, error)
	// Put writes item if cond holds and returns the new version; a failed
	// condition returns an error matching ErrConflict.
	Put(ctx context.Context, table string, item Item, cond Cond) (int64, error)
	// Delete removes key if cond holds. Deleting an absent key with Always
	// succeeds.
	Delete(ctx context.Context, table, key string, cond Cond) error
	// Batch applies unconditional puts and deletes, splitting them as the
	// backend requires. Failed rows are reported in a *BatchError.
	Batch(ctx context.Context, table string, writes []Write) error
	// Scan returns one page of unexpired items in key order.
	Scan(ctx context.Context, table string, r Range) (Page, error)
	// Close releases the backend's resources.
	Close() error
}

// All iterates over every item of r, following cursors until the scan ends.
func All(ctx context.Context, s Store, table string, r Range) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for {
			p, err := s.Scan(ctx, table, r)
			if err != nil {
				yield(Item{}, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			r.Cursor = p.Next
		}
	}
}

// Clock returns the current time; stores take one so that expiry follows an
// injected clock in tests.
type Clock func() time.Time
