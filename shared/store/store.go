package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"
	"unicode/utf8"
)

// Limits every backend enforces, chosen to fit Tablestore: a primary-key
// string column holds at most 1 KB, and a value must leave room in a 4 MB
// batch request.
const (
	MaxKeyLen   = 1024
	MaxValueLen = 1 << 20
)

// ErrNotFound is returned by Get when the key is absent or expired.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned by a conditional write whose condition failed.
var ErrConflict = errors.New("store: condition failed")

// ErrInvalid is matched by errors about input the store cannot accept: a bad
// table name, an empty, over-long or non-UTF-8 key, an over-long value, a
// negative scan limit.
var ErrInvalid = errors.New("store: invalid input")

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

// Allows reports whether c holds for a key whose current state is live
// (present and unexpired) with version, for backends that check conditions
// themselves.
func (c Cond) Allows(live bool, version int64) bool {
	switch c.kind {
	case condIfAbsent:
		return !live
	case condIfVersion:
		return live && version == c.version
	default:
		return true
	}
}

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

// Write is one entry of a batch: a put of Item, or a delete of Item.Key,
// if Cond holds. The zero Cond is Always.
type Write struct {
	Item   Item
	Delete bool
	// Cond is checked against the key's state when this write is applied,
	// after the batch's earlier writes of the same key. A write whose
	// condition fails is reported in the *BatchError with an error matching
	// ErrConflict, and changes nothing; the other writes still apply.
	Cond Cond
}

// BatchError reports the writes of a batch that failed; the others were
// applied. An invalid write (see ErrInvalid) or one whose condition failed
// (see ErrConflict) fails alone rather than rejecting the batch, so one bad
// directory record cannot block a sync, and a sync that read at T0 skips
// the rows an event changed since instead of overwriting them.
type BatchError struct {
	Failed []RowError
}

// CheckWrites checks every write of a batch with CheckWrite: failed[i] is
// write i's error, nil for a valid one. A backend that applies the valid
// writes in parts records their failures in it too, and reports them with
// BatchErrorOf.
func CheckWrites(writes []Write) (failed []error) {
	failed = make([]error, len(writes))
	for i, w := range writes {
		failed[i] = CheckWrite(w)
	}
	return failed
}

// BatchErrorOf is the BatchError of a batch whose write i failed with
// failed[i] (nil: applied), or nil when every write applied.
func BatchErrorOf(writes []Write, failed []error) *BatchError {
	var be BatchError
	for i, err := range failed {
		if err != nil {
			be.Failed = append(be.Failed, RowError{Index: i, Key: writes[i].Item.Key, Err: err})
		}
	}
	if len(be.Failed) == 0 {
		return nil
	}
	return &be
}

// RowError is one failed write of a batch. Index is the position in the
// slice passed to Batch.
type RowError struct {
	Index int
	Key   string
	Err   error
}

// Error describes the failed write.
func (e RowError) Error() string {
	return fmt.Sprintf("write #%d %q: %v", e.Index, e.Key, e.Err)
}

// Unwrap returns the errors of the failed writes, so errors.Is(err,
// ErrInvalid) tells whether any of them was invalid input and errors.Is(err,
// ErrConflict) whether any condition failed.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f.Err
	}
	return errs
}

// Error summarises the failures and shows the first.
func (e *BatchError) Error() string {
	if len(e.Failed) == 0 {
		return "store: batch: no failures"
	}
	f := e.Failed[0]
	return fmt.Sprintf("store: batch: %d writes failed, first %v", len(e.Failed), f)
}

// Range selects keys for Scan: Start <= key < End, in ascending order.
// Empty Start and End are unbounded; Prefix, when set, narrows further.
type Range struct {
	Start  string
	End    string
	Prefix string
	// Limit caps the items of one page; 0 means DefaultLimit, and values
	// above MaxLimit are lowered to it. Pages may be shorter than Limit
	// (even empty) before the end.
	Limit int
	// Cursor continues a previous page; "" starts at the beginning.
	Cursor string
}

// Page size bounds of Scan. MaxLimit is Tablestore's GetRange row cap;
// like GetRange, every backend also ends a page before its values exceed
// MaxPageBytes (a page holds at least one item), so a page of large values
// stays a few megabytes.
const (
	DefaultLimit = 1000
	MaxLimit     = 5000
	MaxPageBytes = 4 << 20
)

// Bounds returns the half-open key interval [lo, hi) the next page of r
// covers, after Start, End, Prefix and Cursor are combined; hi == "" means
// unbounded. empty is true when no key can match.
func (r Range) Bounds() (lo, hi string, empty bool) {
	lo, hi = r.Start, r.End
	if r.Prefix != "" {
		lo = max(lo, r.Prefix)
		if pe := prefixEnd(r.Prefix); pe != "" && (hi == "" || pe < hi) {
			hi = pe
		}
	}
	lo = max(lo, r.Cursor)
	return lo, hi, hi != "" && lo >= hi
}

// PageLimit returns the effective page size of r, or an error matching
// ErrInvalid for a negative Limit.
func (r Range) PageLimit() (int, error) {
	switch {
	case r.Limit < 0:
		return 0, fmt.Errorf("%w: scan limit %d is negative", ErrInvalid, r.Limit)
	case r.Limit == 0:
		return DefaultLimit, nil
	default:
		return min(r.Limit, MaxLimit), nil
	}
}

// prefixEnd returns the smallest string greater than every string with
// prefix p, or "" when there is none (p is all 0xff bytes).
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// Page is one page of a Scan.
type Page struct {
	Items []Item
	// Next is the cursor of the following page; "" when the scan is done.
	Next string
}

// PageFill builds one Scan page for a backend that visits its keys itself,
// in ascending order from the lo of Range.Bounds, so that every such
// backend applies one rule for the range end, the page limit, the byte
// budget and expiry. Its cursor is the first key of the next page.
type PageFill struct {
	// Page is the page built so far.
	Page  Page
	hi    string
	limit int
	now   time.Time
	size  int
}

// NewPageFill starts a page of at most limit items (Range.PageLimit) that
// ends before hi ("" for unbounded) and drops items expired at now.
func NewPageFill(limit int, hi string, now time.Time) PageFill {
	return PageFill{hi: hi, limit: limit, now: now}
}

// Add offers the next key with its stored expiry (ExpiryMillis) and value
// length. item, called only for a kept item, builds it (copying the value
// out of backend memory). Add returns false when the page is complete:
// key is past the range, or starts the next page and is now Page.Next.
func (f *PageFill) Add(key string, expires int64, valueLen int, item func() Item) bool {
	if f.hi != "" && key >= f.hi {
		return false
	}
	live := Live(expires, f.now)
	if len(f.Page.Items) == f.limit || (live && len(f.Page.Items) > 0 && f.size+valueLen > MaxPageBytes) {
		f.Page.Next = key
		return false
	}
	if live {
		f.Page.Items = append(f.Page.Items, item())
		f.size += valueLen
	}
	return true
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
	// Batch applies puts and deletes, each under its own condition (writes
	// of one key in order, so the last one wins), splitting them as the
	// backend requires. Failed rows (invalid, condition failed, or refused
	// by the backend) are reported in a *BatchError; the others are
	// applied. A batch is not a transaction: other writers may see some of
	// its rows before the rest.
	Batch(ctx context.Context, table string, writes []Write) error
	// Scan returns one page of unexpired items in key order.
	Scan(ctx context.Context, table string, r Range) (Page, error)
	// Close releases the backend's resources.
	Close() error
}

// Purger is implemented by every dingfn backend: Purge physically removes
// the expired items of table and returns how many it removed. Expired items
// are already invisible; purging reclaims their space, which on Tablestore
// they would otherwise hold until overwritten (its table TTL cannot follow
// per-item expiry). An item renewed while Purge runs is kept.
type Purger interface {
	Purge(ctx context.Context, table string) (int, error)
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

// DefaultTablePrefix is prepended to every logical table name unless a
// backend is given another prefix (DINGFN_TABLE_PREFIX).
const DefaultTablePrefix = "dingfn_"

// CheckTable returns an error matching ErrInvalid unless table is a valid
// logical table name: [a-z][a-z0-9_]{0,63}. Every backend checks the
// name on every call, so it is a loop rather than a regular expression.
func CheckTable(table string) error {
	if !validName(table, false) {
		return fmt.Errorf("%w: table name %q must match [a-z][a-z0-9_]{0,63}", ErrInvalid, table)
	}
	return nil
}

// CheckPrefix returns an error matching ErrInvalid unless prefix can start
// a Tablestore table name ([A-Za-z_][A-Za-z0-9_]{0,63}); "" is allowed.
func CheckPrefix(prefix string) error {
	if prefix != "" && !validName(prefix, true) {
		return fmt.Errorf("%w: table prefix %q must be letters, digits and underscores, not starting with a digit", ErrInvalid, prefix)
	}
	return nil
}

// validName reports whether s is 1-64 of lower-case letters, digits and
// underscores starting with a letter (a table name) or, with prefix,
// 1-64 of letters, digits and underscores not starting with a digit.
func validName(s string, prefix bool) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case prefix && ('A' <= c && c <= 'Z' || c == '_'):
		case i > 0 && ('0' <= c && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// CheckKey returns an error matching ErrInvalid unless key is a valid key.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrInvalid, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: key %q is not valid UTF-8", ErrInvalid, key)
	}
	return nil
}

// CheckItem returns an error matching ErrInvalid unless item can be stored.
func CheckItem(item Item) error {
	if err := CheckKey(item.Key); err != nil {
		return err
	}
	if len(item.Value) > MaxValueLen {
		return fmt.Errorf("%w: value of key %q is %d bytes, limit %d", ErrInvalid, item.Key, len(item.Value), MaxValueLen)
	}
	return nil
}

// CheckRow is what every backend's Get and Delete check first: ctx's
// error when it is done, else an error matching ErrInvalid for an invalid
// table or key.
func CheckRow(ctx context.Context, table, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckTable(table); err != nil {
		return err
	}
	return CheckKey(key)
}

// CheckScan is what every backend's Scan does first: it returns ctx's
// error when it is done, an error matching ErrInvalid for an invalid table
// or limit, and otherwise r's page limit and the bounds of its next page
// (see Bounds; empty: no key can match, so the page is empty).
func CheckScan(ctx context.Context, table string, r Range) (limit int, lo, hi string, empty bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, "", "", false, err
	}
	if err := CheckTable(table); err != nil {
		return 0, "", "", false, err
	}
	if limit, err = r.PageLimit(); err != nil {
		return 0, "", "", false, err
	}
	lo, hi, empty = r.Bounds()
	return limit, lo, hi, empty, nil
}

// CheckWrite returns an error matching ErrInvalid unless w can be applied:
// a delete needs a valid key, a put a storable item.
func CheckWrite(w Write) error {
	if w.Delete {
		return CheckKey(w.Item.Key)
	}
	return CheckItem(w.Item)
}

// ExpiryMillis encodes t as the Unix millisecond instant backends store;
// the zero time (never) is math.MaxInt64.
func ExpiryMillis(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return t.UnixMilli()
}

// ExpiryTime decodes ExpiryMillis.
func ExpiryTime(ms int64) time.Time {
	if ms == math.MaxInt64 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Live reports whether an item stored with expiry ms is still present at
// now.
func Live(ms int64, now time.Time) bool { return now.UnixMilli() < ms }
