// Package boltstore is the embedded store.Store: one bbolt file, nothing to
// install. It is the default for local development (`dingfn dev`) and for
// single-instance deployments; serverless deployments with more than one
// instance need the shared Tablestore backend instead, because every
// instance would otherwise keep its own tokens and leases.
//
// Each logical table is a bucket named prefix+table. A record is the value
// prefixed by a 16-byte header: the version and the expiry (Unix
// milliseconds, math.MaxInt64 for never), both big-endian int64. Versions
// come from the bucket's sequence, so they never repeat within a table,
// even across deletes.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dingfn/dingfn/shared/store"
	bolt "go.etcd.io/bbolt"
)

// Option configures a Store. An invalid option makes Open fail.
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

// WithTablePrefix sets the bucket name prefix (default store.DefaultTablePrefix).
func WithTablePrefix(prefix string) Option {
	return func(s *Store) error {
		if err := store.CheckPrefix(prefix); err != nil {
			return err
		}
		s.prefix = prefix
		return nil
	}
}

// WithNoSync skips fsync after each write: faster, but a crash can lose
// the last writes. Meant for tests.
func WithNoSync() Option {
	return func(s *Store) error {
		s.noSync = true
		return nil
	}
}

// WithLockTimeout bounds the wait, d > 0, for the file lock another
// process holds (default 5s); bbolt otherwise waits forever.
func WithLockTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithLockTimeout: %v is not a positive duration", store.ErrInvalid, d)
		}
		s.lockTimeout = d
		return nil
	}
}

// Store is a store.Store in one bbolt file.
type Store struct {
	db          *bolt.DB
	path        string
	clock       store.Clock
	prefix      string
	noSync      bool
	lockTimeout time.Duration
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Purger = (*Store)(nil)
)

const headerLen = 16

// Open opens or creates the database file at path, creating its directory.
func Open(path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, clock: time.Now, prefix: store.DefaultTablePrefix, lockTimeout: 5 * time.Second}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("boltstore: %w", err)
		}
	}
	if path == "" {
		return nil, fmt.Errorf("boltstore: %w: empty path", store.ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.lockTimeout, NoSync: s.noSync})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s (is another process using it?): %w", path, err)
	}
	s.db = db
	return s, nil
}

func (s *Store) bucket(table string) []byte { return []byte(s.prefix + table) }

type record struct {
	version int64
	expires int64
	value   []byte // aliases bolt memory: valid only inside the transaction
}

func decode(raw []byte) (record, error) {
	if len(raw) < headerLen {
		return record{}, fmt.Errorf("boltstore: corrupt record of %d bytes", len(raw))
	}
	return record{
		version: int64(binary.BigEndian.Uint64(raw)),
		expires: int64(binary.BigEndian.Uint64(raw[8:])),
		value:   raw[headerLen:],
	}, nil
}

func encode(version int64, item store.Item) []byte {
	buf := make([]byte, headerLen+len(item.Value))
	binary.BigEndian.PutUint64(buf, uint64(version))
	binary.BigEndian.PutUint64(buf[8:], uint64(store.ExpiryMillis(item.ExpiresAt)))
	copy(buf[headerLen:], item.Value)
	return buf
}

func (r record) item(key string) store.Item {
	return store.Item{Key: key, Value: bytes.Clone(r.value), Version: r.version, ExpiresAt: store.ExpiryTime(r.expires)}
}

// state returns whether key is live in b and its version.
func (s *Store) state(b *bolt.Bucket, key []byte, now time.Time) (live bool, version int64, err error) {
	if b == nil {
		return false, 0, nil
	}
	raw := b.Get(key)
	if raw == nil {
		return false, 0, nil
	}
	r, err := decode(raw)
	if err != nil {
		return false, 0, err
	}
	return store.Live(r.expires, now), r.version, nil
}

func (s *Store) wrap(op, table, key string, err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		err = fmt.Errorf("store is closed: %w", err)
	}
	return fmt.Errorf("boltstore: %s %s%s %q: %w", op, s.prefix, table, key, err)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, table, key string) (store.Item, error) {
	if err := store.CheckRow(ctx, table, key); err != nil {
		return store.Item{}, err
	}
	var it store.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.bucket(table))
		if b == nil {
			return store.ErrNotFound
		}
		raw := b.Get([]byte(key))
		if raw == nil {
			return store.ErrNotFound
		}
		r, err := decode(raw)
		if err != nil {
			return err
		}
		if !store.Live(r.expires, s.clock()) {
			return store.ErrNotFound
		}
		it = r.item(key)
		return nil
	})
	if err != nil {
		return store.Item{}, s.wrap("get", table, key, err)
	}
	return it, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, table string, item store.Item, cond store.Cond) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckTable(table); err != nil {
		return 0, err
	}
	if err := store.CheckItem(item); err != nil {
		return 0, err
	}
	var version int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		if !cond.IsAlways() {
			live, v, err := s.state(tx.Bucket(s.bucket(table)), []byte(item.Key), s.clock())
			if err != nil {
				return err
			}
			if !cond.Allows(live, v) {
				return fmt.Errorf("%v: %w", cond, store.ErrConflict)
			}
		}
		b, err := tx.CreateBucketIfNotExists(s.bucket(table))
		if err != nil {
			return err
		}
		version, err = put(b, item)
		return err
	})
	if err != nil {
		return 0, s.wrap("put", table, item.Key, err)
	}
	return version, nil
}

func put(b *bolt.Bucket, item store.Item) (int64, error) {
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	return int64(seq), b.Put([]byte(item.Key), encode(int64(seq), item))
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	if err := store.CheckRow(ctx, table, key); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.bucket(table))
		live, v, err := s.state(b, []byte(key), s.clock())
		if err != nil {
			return err
		}
		if !cond.Allows(live, v) {
			return fmt.Errorf("%v: %w", cond, store.ErrConflict)
		}
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return s.wrap("delete", table, key, err)
	}
	return nil
}

// Batch implements store.Store. The writes that are valid and whose
// conditions hold commit in one transaction.
func (s *Store) Batch(ctx context.Context, table string, writes []store.Write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckTable(table); err != nil {
		return err
	}
	if len(writes) == 0 {
		return nil
	}
	var failed []store.RowError
	err := s.db.Update(func(tx *bolt.Tx) error {
		failed = nil // in case bbolt ever retries the function
		b, err := tx.CreateBucketIfNotExists(s.bucket(table))
		if err != nil {
			return err
		}
		now := s.clock()
		for i, w := range writes {
			if err := store.CheckWrite(w); err != nil {
				failed = append(failed, store.RowError{Index: i, Key: w.Item.Key, Err: err})
				continue
			}
			if !w.Cond.IsAlways() {
				live, v, err := s.state(b, []byte(w.Item.Key), now)
				if err != nil {
					return fmt.Errorf("write #%d %q: %w", i, w.Item.Key, err)
				}
				if !w.Cond.Allows(live, v) {
					err := s.wrap("batch", table, w.Item.Key, fmt.Errorf("%v: %w", w.Cond, store.ErrConflict))
					failed = append(failed, store.RowError{Index: i, Key: w.Item.Key, Err: err})
					continue
				}
			}
			var err error
			if w.Delete {
				err = b.Delete([]byte(w.Item.Key))
			} else {
				_, err = put(b, w.Item)
			}
			if err != nil {
				return fmt.Errorf("write #%d %q: %w", i, w.Item.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("boltstore: batch %s%s: %w", s.prefix, table, err)
	}
	if failed != nil {
		return &store.BatchError{Failed: failed}
	}
	return nil
}

// Scan implements store.Store. The cursor is the first key of the next
// page.
func (s *Store) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	limit, lo, hi, empty, err := store.CheckScan(ctx, table, r)
	if err != nil || empty {
		return store.Page{}, err
	}
	var p store.Page
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.bucket(table))
		if b == nil {
			return nil
		}
		f := store.NewPageFill(limit, hi, s.clock())
		c := b.Cursor()
		for k, v := c.Seek([]byte(lo)); k != nil; k, v = c.Next() {
			rec, err := decode(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			key := string(k)
			if !f.Add(key, rec.expires, len(rec.value), func() store.Item { return rec.item(key) }) {
				break
			}
		}
		p = f.Page
		return nil
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("boltstore: scan %s%s: %w", s.prefix, table, err)
	}
	return p, nil
}

// Purge implements store.Purger in one transaction.
func (s *Store) Purge(ctx context.Context, table string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckTable(table); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(s.bucket(table))
		if b == nil {
			return nil
		}
		// Deleting under a live cursor skips items; collect, then delete.
		var expired [][]byte
		now := s.clock()
		err := b.ForEach(func(k, v []byte) error {
			rec, err := decode(v)
			if err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			if !store.Live(rec.expires, now) {
				expired = append(expired, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: purge %s%s: %w", s.prefix, table, err)
	}
	return n, nil
}

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}
