package directorytest

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store"
)

// CountingStore passes every call to Store and records the writes that
// reach it, by table and key, and counts the reads, so a test or a
// benchmark can say what a walk cost the store.
type CountingStore struct {
	store.Store
	mu     sync.Mutex
	writes map[string][]string // table → keys, in order
	reads  int
	// tables are every table any call named.
	tables map[string]bool
}

// NewCountingStore wraps st.
func NewCountingStore(st store.Store) *CountingStore { return &CountingStore{Store: st} }

// Reset forgets the writes and reads counted so far.
func (c *CountingStore) Reset() {
	c.mu.Lock()
	c.writes, c.reads = map[string][]string{}, 0
	c.mu.Unlock()
}

// touch records a table a call named.
func (c *CountingStore) touch(table string) {
	c.mu.Lock()
	if c.tables == nil {
		c.tables = map[string]bool{}
	}
	c.tables[table] = true
	c.mu.Unlock()
}

// Tables returns every table a call named since the store was wrapped
// (Reset keeps them), so a test can scan them all.
func (c *CountingStore) Tables() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.tables))
	for t := range c.tables {
		out[t] = true
	}
	return out
}

func (c *CountingStore) wrote(table, key string) {
	c.mu.Lock()
	if c.writes == nil {
		c.writes = map[string][]string{}
	}
	c.writes[table] = append(c.writes[table], key)
	c.mu.Unlock()
}

// Get counts a read.
func (c *CountingStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	c.touch(table)
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Store.Get(ctx, table, key)
}

// Scan counts a read.
func (c *CountingStore) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	c.touch(table)
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Store.Scan(ctx, table, r)
}

// Put records a write that succeeded.
func (c *CountingStore) Put(ctx context.Context, table string, it store.Item, cond store.Cond) (int64, error) {
	c.touch(table)
	v, err := c.Store.Put(ctx, table, it, cond)
	if err == nil {
		c.wrote(table, it.Key)
	}
	return v, err
}

// Delete records a delete that succeeded.
func (c *CountingStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	c.touch(table)
	err := c.Store.Delete(ctx, table, key, cond)
	if err == nil {
		c.wrote(table, key)
	}
	return err
}

// Batch records the writes of a batch that were applied.
func (c *CountingStore) Batch(ctx context.Context, table string, ws []store.Write) error {
	c.touch(table)
	err := c.Store.Batch(ctx, table, ws)
	failed := map[int]bool{}
	if be, ok := err.(*store.BatchError); ok {
		for _, f := range be.Failed {
			failed[f.Index] = true
		}
	}
	if err == nil || len(failed) > 0 {
		for i, w := range ws {
			if !failed[i] {
				c.wrote(table, w.Item.Key)
			}
		}
	}
	return err
}

// Writes returns the keys written since the last Reset, by table, in
// order.
func (c *CountingStore) Writes() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]string, len(c.writes))
	for table, keys := range c.writes {
		out[table] = slices.Clone(keys)
	}
	return out
}

// RecordWrites returns Writes to the mirror's record tables: all but the
// sync's own state.
func (c *CountingStore) RecordWrites() map[string][]string {
	out := c.Writes()
	delete(out, directory.StateTable)
	return out
}

// RecordWriteCount is the number of RecordWrites.
func (c *CountingStore) RecordWriteCount() int {
	n := 0
	for keys := range maps.Values(c.RecordWrites()) {
		n += len(keys)
	}
	return n
}

// Reads returns how many Get and Scan calls were made since the last
// Reset.
func (c *CountingStore) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}
