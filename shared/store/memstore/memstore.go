// Package memstore is the in-memory store.Store: fast, process-local and
// gone on exit. Tests and `DINGFN_STORE=memory` use it.
package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// Option configures a Store. An invalid option makes New fail.
type Option func(*Store) error

// WithClock makes expiry follow clock instead of time.Now.
func WithClock(clock store.Clock) Option {
	return func(s *Store) error {
		if clock == nil {
			return fmt.Errorf("%w: WithClock: nil clock", store.ErrInvalid)
		}
		s.clock = clock
		return nil
	}
}

// WithTablePrefix sets the prefix of physical table names. In memory it
// only keeps stores with different prefixes apart in error messages, but
// it is validated like every backend's.
func WithTablePrefix(prefix string) Option {
	return func(s *Store) error {
		if err := store.CheckPrefix(prefix); err != nil {
			return err
		}
		s.prefix = prefix
		return nil
	}
}

// Store keeps every table in maps guarded by one mutex.
type Store struct {
	clock  store.Clock
	prefix string

	mu      sync.RWMutex
	tables  map[string]*table
	version int64 // one counter for the whole store: versions never repeat
	closed  bool
}

type entry struct {
	value   []byte
	version int64
	expires int64 // store.ExpiryMillis
}

type table struct {
	rows map[string]*entry
	// keys is rows' keys in order, rebuilt lazily after a key is added or
	// removed; updates of existing keys keep it valid.
	keys  []string
	dirty bool
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Purger = (*Store)(nil)
)

// New returns an empty Store.
func New(opts ...Option) (*Store, error) {
	s := &Store{clock: time.Now, prefix: store.DefaultTablePrefix, tables: map[string]*table{}}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("memstore: %w", err)
		}
	}
	return s, nil
}

func (s *Store) check(ctx context.Context, tbl string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckTable(tbl); err != nil {
		return err
	}
	if s.closed {
		return fmt.Errorf("memstore: %s%s: store is closed", s.prefix, tbl)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, tbl, key string) (store.Item, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Item{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx, tbl); err != nil {
		return store.Item{}, err
	}
	now := s.clock()
	if t := s.tables[tbl]; t != nil {
		if e := t.rows[key]; e != nil && store.Live(e.expires, now) {
			return e.item(key), nil
		}
	}
	return store.Item{}, fmt.Errorf("memstore: get %s%s %q: %w", s.prefix, tbl, key, store.ErrNotFound)
}

func (e *entry) item(key string) store.Item {
	return store.Item{Key: key, Value: slices.Clone(e.value), Version: e.version, ExpiresAt: store.ExpiryTime(e.expires)}
}

// holds reports whether cond is satisfied by e (nil when absent) at now.
func holds(cond store.Cond, e *entry, now time.Time) bool {
	if e == nil {
		return cond.Allows(false, 0)
	}
	return cond.Allows(store.Live(e.expires, now), e.version)
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, tbl string, item store.Item, cond store.Cond) (int64, error) {
	if err := store.CheckItem(item); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, tbl); err != nil {
		return 0, err
	}
	t := s.table(tbl)
	if !holds(cond, t.rows[item.Key], s.clock()) {
		return 0, fmt.Errorf("memstore: put %s%s %q %v: %w", s.prefix, tbl, item.Key, cond, store.ErrConflict)
	}
	return s.put(t, item), nil
}

func (s *Store) table(name string) *table {
	t := s.tables[name]
	if t == nil {
		t = &table{rows: map[string]*entry{}}
		s.tables[name] = t
	}
	return t
}

func (s *Store) put(t *table, item store.Item) int64 {
	s.version++
	e := &entry{value: slices.Clone(item.Value), version: s.version, expires: store.ExpiryMillis(item.ExpiresAt)}
	if e.value == nil {
		e.value = []byte{}
	}
	if _, ok := t.rows[item.Key]; !ok {
		t.dirty = true
	}
	t.rows[item.Key] = e
	return e.version
}

func (s *Store) remove(t *table, key string) {
	if _, ok := t.rows[key]; ok {
		delete(t.rows, key)
		t.dirty = true
	}
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, tbl, key string, cond store.Cond) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, tbl); err != nil {
		return err
	}
	t := s.tables[tbl]
	var e *entry
	if t != nil {
		e = t.rows[key]
	}
	if !holds(cond, e, s.clock()) {
		return fmt.Errorf("memstore: delete %s%s %q %v: %w", s.prefix, tbl, key, cond, store.ErrConflict)
	}
	if t != nil {
		s.remove(t, key)
	}
	return nil
}

// Batch implements store.Store. The writes that are valid and whose
// conditions hold are applied atomically.
func (s *Store) Batch(ctx context.Context, tbl string, writes []store.Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, tbl); err != nil {
		return err
	}
	var failed []store.RowError
	t := s.table(tbl)
	now := s.clock()
	for i, w := range writes {
		if err := store.CheckWrite(w); err != nil {
			failed = append(failed, store.RowError{Index: i, Key: w.Item.Key, Err: err})
			continue
		}
		if !holds(w.Cond, t.rows[w.Item.Key], now) {
			err := fmt.Errorf("memstore: batch %s%s %q %v: %w", s.prefix, tbl, w.Item.Key, w.Cond, store.ErrConflict)
			failed = append(failed, store.RowError{Index: i, Key: w.Item.Key, Err: err})
			continue
		}
		if w.Delete {
			s.remove(t, w.Item.Key)
		} else {
			s.put(t, w.Item)
		}
	}
	if failed != nil {
		return &store.BatchError{Failed: failed}
	}
	return nil
}

// Scan implements store.Store. The cursor is the first key of the next
// page.
func (s *Store) Scan(ctx context.Context, tbl string, r store.Range) (store.Page, error) {
	limit, err := r.PageLimit()
	if err != nil {
		return store.Page{}, err
	}
	// Sorting the keys may be needed, which writes; take the write lock.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, tbl); err != nil {
		return store.Page{}, err
	}
	lo, hi, empty := r.Bounds()
	t := s.tables[tbl]
	if empty || t == nil {
		return store.Page{}, nil
	}
	if t.dirty {
		t.keys = t.keys[:0]
		for k := range t.rows {
			t.keys = append(t.keys, k)
		}
		sort.Strings(t.keys)
		t.dirty = false
	}
	f := store.NewPageFill(limit, hi, s.clock())
	for _, k := range t.keys[sort.SearchStrings(t.keys, lo):] {
		e := t.rows[k]
		if !f.Add(k, e.expires, len(e.value), func() store.Item { return e.item(k) }) {
			break
		}
	}
	return f.Page, nil
}

// Purge implements store.Purger.
func (s *Store) Purge(ctx context.Context, tbl string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, tbl); err != nil {
		return 0, err
	}
	t := s.tables[tbl]
	if t == nil {
		return 0, nil
	}
	now, n := s.clock(), 0
	for k, e := range t.rows {
		if !store.Live(e.expires, now) {
			s.remove(t, k)
			n++
		}
	}
	return n, nil
}

// Close implements store.Store; later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
