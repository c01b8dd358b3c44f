// Package redisstore is the store.Store on Redis (6 or later, or a
// compatible server with Lua scripting), for teams that already run one
// next to their services: DINGFN_STORE=redis://[user[:password]@]host:port/db,
// or rediss:// for TLS, with the password in the URL or in
// DINGFN_REDIS_PASSWORD.
//
// # Key layout
//
// Each logical table T is the physical table name N = prefix+T (for
// example dingfn_tokens, shared tables always dingfn_T), and every key of
// the table carries N as a hash tag, so one table lives in one cluster
// slot and a script may touch all of its keys:
//
//	{N}:row:<key>  hash        value       the item value (bytes; dingfn writes UTF-8 JSON)
//	                           version     decimal int64, compare-and-swap version
//	                           expires_at  decimal Unix milliseconds; 9223372036854775807 = never
//	{N}:keys       sorted set  every key of the table, score 0, so ZRANGEBYLEX
//	                           orders them bytewise: the index Scan pages through
//	{N}:version    string      the table's version counter (INCR)
//
// A row is present only while expires_at is greater than the current Unix
// time in milliseconds, the same rule as on Tablestore; readers in other
// languages apply it too. Rows with an expiry also get a Redis expiry
// ExpiryGrace after it, so Redis reclaims them on its own: the store's rule
// decides visibility to the millisecond by the store's clock, Redis's only
// frees memory. The index may therefore name keys whose row Redis already
// removed; Scan and Purge drop such entries as they meet them. Writers in
// other languages must change a row and its index entry in one script or
// MULTI block, with a version taken from INCR on {N}:version.
//
// # Consistency
//
// Every write is one Lua script: the condition, the new version, the row,
// its Redis expiry and its index entry change atomically, so concurrent
// writers cannot interleave and the index holds every present row. The
// counter makes versions strictly increasing per table, hence per key,
// across deletes and re-creates. The counter and rows without expiry have
// no Redis TTL: the server must not evict keys (maxmemory-policy
// noeviction or a volatile-* policy), or it could drop rows or reset
// versions.
//
// The client never replays a command whose reply was lost (no client
// retries), because a replayed conditional write would fail its own
// condition and report a conflict for a write that succeeded; such a
// failure is reported as an error instead.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dingfn/dingfn/shared/store"
)

// ExpiryGrace is how long after an item's expiry Redis removes its row.
// Until then the row is invisible but stored, as on the other backends; the
// grace also covers clock differences between the functions that write and
// read it.
const ExpiryGrace = time.Minute

// Size limits of one batch script and of one pipeline of them.
const (
	maxChunkRows     = 1000
	maxChunkBytes    = 4 << 20
	maxPipelineBytes = 16 << 20
	rowOverhead      = 64
	purgeChunk       = 1000
	// maxTTL caps a Redis expiry (about a thousand years); an item
	// expiring later is stored without one.
	maxTTL = 1 << 45
)

// Option configures a Store.
type Option func(*Store)

// WithClock makes expiry follow clock instead of time.Now.
func WithClock(clock store.Clock) Option { return func(s *Store) { s.clock = clock } }

// WithTablePrefix sets the prefix of table names (default
// store.DefaultTablePrefix, from DINGFN_TABLE_PREFIX).
func WithTablePrefix(prefix string) Option { return func(s *Store) { s.prefix = prefix } }

// WithSharedTables names logical tables that keep store.DefaultTablePrefix
// whatever WithTablePrefix says, exactly like otsstore.WithSharedTables:
// deployments of one app with different prefixes on one Redis read one
// access token and one jsapi ticket.
func WithSharedTables(tables ...string) Option {
	return func(s *Store) {
		if s.shared == nil {
			s.shared = map[string]bool{}
		}
		for _, t := range tables {
			s.shared[t] = true
		}
	}
}

// WithLogger routes the Redis client's own rare messages (failed dials,
// pool trouble) to l instead of standard error. The client library has one
// logger per process, so the last store opened with this option sets it.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// clientLog adapts slog to the client library's logger.
type clientLog struct{ l *slog.Logger }

func (c clientLog) Printf(ctx context.Context, format string, v ...any) {
	c.l.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// Store is a store.Store on one Redis database.
type Store struct {
	client *redis.Client
	addr   string // for messages: host:port/db, never the password
	clock  store.Clock
	prefix string
	shared map[string]bool
	log    *slog.Logger
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Purger = (*Store)(nil)
)

// Open connects with o (see ParseURL), checks that the server answers and
// runs Lua scripts, and returns the Store, which owns the connection pool.
// ctx bounds only this check.
func Open(ctx context.Context, o *redis.Options, opts ...Option) (*Store, error) {
	s := &Store{clock: time.Now, prefix: store.DefaultTablePrefix}
	for _, opt := range opts {
		opt(s)
	}
	if err := store.CheckPrefix(s.prefix); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("redisstore: %w: no client options", store.ErrInvalid)
	}
	s.addr = fmt.Sprintf("%s/%d", o.Addr, o.DB)
	if o.TLSConfig != nil {
		s.addr += " (TLS)"
	}
	if s.log != nil {
		redis.SetLogger(clientLog{s.log})
	}
	s.client = redis.NewClient(clientOptions(o))
	if err := s.client.Ping(ctx).Err(); err != nil {
		s.client.Close()
		return nil, fmt.Errorf("redisstore: cannot use the redis at %s: %w", s.addr, err)
	}
	// Loading the scripts proves scripting works (some proxies disable
	// it) and saves the first call of each its fallback to EVAL.
	for _, sc := range []*redis.Script{putScript, deleteScript, batchScript, scanScript, purgeScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			s.client.Close()
			return nil, fmt.Errorf("redisstore: redis at %s cannot load the store's Lua scripts: %w", s.addr, err)
		}
	}
	return s, nil
}

// Close implements store.Store: it closes the connection pool.
func (s *Store) Close() error {
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("redisstore: close %s: %w", s.addr, err)
	}
	return nil
}

// TableName returns the physical table name behind logical table.
func (s *Store) TableName(table string) string {
	if s.shared[table] {
		return store.DefaultTablePrefix + table
	}
	return s.prefix + table
}

// RowKey is the Redis hash of one item; see the package documentation for
// the key layout.
func (s *Store) RowKey(table, key string) string { return s.rowPrefix(table) + key }

// IndexKey is the sorted set of table's keys.
func (s *Store) IndexKey(table string) string { return "{" + s.TableName(table) + "}:keys" }

// CounterKey is table's version counter.
func (s *Store) CounterKey(table string) string { return "{" + s.TableName(table) + "}:version" }

func (s *Store) rowPrefix(table string) string { return "{" + s.TableName(table) + "}:row:" }

func (s *Store) errorf(op, table, key string, err error) error {
	return fmt.Errorf("redisstore: %s %s %q: %w", op, s.TableName(table), key, err)
}

func conflict(c store.Cond) error { return fmt.Errorf("%v: %w", c, store.ErrConflict) }

// condArgs encodes c for the scripts' holds function.
func condArgs(c store.Cond) (code, version string) {
	if v, ok := c.Version(); ok {
		return "v", strconv.FormatInt(v, 10)
	}
	if c.IsIfAbsent() {
		return "n", ""
	}
	return "a", ""
}

// expiryArgs returns the expires_at field and the Redis expiry in
// milliseconds ("0" for none) of item written at now.
func expiryArgs(item store.Item, now time.Time) (exp, px string) {
	ms := store.ExpiryMillis(item.ExpiresAt)
	exp = strconv.FormatInt(ms, 10)
	if ms == math.MaxInt64 {
		return exp, "0"
	}
	ttl := ms - now.UnixMilli() + ExpiryGrace.Milliseconds()
	switch {
	case ttl > maxTTL:
		return exp, "0"
	case ttl < 1:
		// Written already expired: invisible at once, reclaimed soon.
		ttl = 1
	}
	return exp, strconv.FormatInt(ttl, 10)
}

func value(item store.Item) []byte {
	if item.Value == nil {
		return []byte{}
	}
	return item.Value
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, table, key string) (store.Item, error) {
	if err := store.CheckRow(ctx, table, key); err != nil {
		return store.Item{}, err
	}
	vals, err := s.client.HMGet(ctx, s.RowKey(table, key), "value", "version", "expires_at").Result()
	if err != nil {
		return store.Item{}, s.errorf("get", table, key, err)
	}
	it, present, err := decodeRow(key, vals[0], vals[1], vals[2])
	if err != nil {
		return store.Item{}, s.errorf("get", table, key, err)
	}
	if !present || !store.Live(store.ExpiryMillis(it.ExpiresAt), s.clock()) {
		return store.Item{}, s.errorf("get", table, key, store.ErrNotFound)
	}
	return it, nil
}

// decodeRow builds an item from the row's fields as Redis returned them
// (string or nil). A row without a version is absent.
func decodeRow(key string, value, version, expires any) (store.Item, bool, error) {
	vs, ok := version.(string)
	if !ok {
		return store.Item{}, false, nil
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return store.Item{}, false, fmt.Errorf("row has a malformed version %q", vs)
	}
	exp := int64(math.MaxInt64)
	if es, ok := expires.(string); ok {
		if exp, err = strconv.ParseInt(es, 10, 64); err != nil {
			return store.Item{}, false, fmt.Errorf("row has a malformed expires_at %q", es)
		}
	}
	val, _ := value.(string)
	return store.Item{Key: key, Value: []byte(val), Version: v, ExpiresAt: store.ExpiryTime(exp)}, true, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, table string, item store.Item, c store.Cond) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckTable(table); err != nil {
		return 0, err
	}
	if err := store.CheckItem(item); err != nil {
		return 0, err
	}
	now := s.clock()
	exp, px := expiryArgs(item, now)
	code, cv := condArgs(c)
	res, err := putScript.Run(ctx, s.client,
		[]string{s.RowKey(table, item.Key), s.IndexKey(table), s.CounterKey(table)},
		item.Key, value(item), exp, px, code, cv, now.UnixMilli()).Result()
	if err != nil {
		return 0, s.errorf("put", table, item.Key, err)
	}
	switch r := res.(type) {
	case int64:
		if r == 0 {
			return 0, s.errorf("put", table, item.Key, conflict(c))
		}
	case string:
		if v, err := strconv.ParseInt(r, 10, 64); err == nil && v > 0 {
			return v, nil
		}
	}
	return 0, s.errorf("put", table, item.Key, fmt.Errorf("unexpected script reply %v", res))
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, table, key string, c store.Cond) error {
	if err := store.CheckRow(ctx, table, key); err != nil {
		return err
	}
	code, cv := condArgs(c)
	n, err := deleteScript.Run(ctx, s.client,
		[]string{s.RowKey(table, key), s.IndexKey(table)},
		key, code, cv, s.clock().UnixMilli()).Int64()
	switch {
	case err != nil:
		return s.errorf("delete", table, key, err)
	case n == 0:
		return s.errorf("delete", table, key, conflict(c))
	}
	return nil
}

// chunk is one batch script call: writes[idx[i]] for each i.
type chunk struct {
	idx  []int
	size int
}

// split groups the valid writes (no failure yet), in order, into script calls of at most
// maxChunkRows rows and about maxChunkBytes.
func split(writes []store.Write, failed []error) []chunk {
	var chunks []chunk
	var cur chunk
	for i, w := range writes {
		if failed[i] != nil {
			continue
		}
		n := 2*len(w.Item.Key) + rowOverhead
		if !w.Delete {
			n += len(w.Item.Value)
		}
		if len(cur.idx) == maxChunkRows || (len(cur.idx) > 0 && cur.size+n > maxChunkBytes) {
			chunks = append(chunks, cur)
			cur = chunk{}
		}
		cur.idx = append(cur.idx, i)
		cur.size += n
	}
	if len(cur.idx) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// Batch implements store.Store. Writes go in order, in scripts of up to
// maxChunkRows rows sent in pipelines of up to maxPipelineBytes; each
// write's condition is checked and the write applied atomically on its
// own, so a failed condition or a failed row leaves the others applied.
func (s *Store) Batch(ctx context.Context, table string, writes []store.Write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.CheckTable(table); err != nil {
		return err
	}
	failed := store.CheckWrites(writes)
	chunks := split(writes, failed)
	for start := 0; start < len(chunks); {
		end, size := start, 0
		for end < len(chunks) && (end == start || size+chunks[end].size <= maxPipelineBytes) {
			size += chunks[end].size
			end++
		}
		s.batchPipeline(ctx, table, writes, chunks[start:end], failed)
		start = end
	}
	if be := store.BatchErrorOf(writes, failed); be != nil {
		return fmt.Errorf("redisstore: batch %s: %w", s.TableName(table), be)
	}
	return nil
}

// batchPipeline sends chunks in one pipeline and records each row's
// outcome in failed.
func (s *Store) batchPipeline(ctx context.Context, table string, writes []store.Write, chunks []chunk, failed []error) {
	pipe := s.client.Pipeline()
	now := s.clock()
	cmds := make([]*redis.Cmd, len(chunks))
	for j, ch := range chunks {
		keys := make([]string, 0, len(ch.idx)+2)
		keys = append(keys, s.IndexKey(table), s.CounterKey(table))
		args := make([]any, 0, 1+7*len(ch.idx))
		args = append(args, now.UnixMilli())
		for _, i := range ch.idx {
			w := writes[i]
			keys = append(keys, s.RowKey(table, w.Item.Key))
			code, cv := condArgs(w.Cond)
			if w.Delete {
				args = append(args, "d", code, cv, w.Item.Key, "", "", "")
				continue
			}
			exp, px := expiryArgs(w.Item, now)
			args = append(args, "p", code, cv, w.Item.Key, value(w.Item), exp, px)
		}
		// EVAL rather than EVALSHA: a pipeline cannot fall back on
		// NOSCRIPT, and the script text is small beside the rows.
		cmds[j] = batchScript.Eval(ctx, pipe, keys, args...)
	}
	_, _ = pipe.Exec(ctx) // errors are per command, read below
	for j, ch := range chunks {
		res, err := cmds[j].Slice()
		if err == nil && len(res) != len(ch.idx) {
			err = fmt.Errorf("batch script answered %d results for %d writes", len(res), len(ch.idx))
		}
		if err != nil {
			for _, i := range ch.idx {
				failed[i] = err
			}
			continue
		}
		for k, i := range ch.idx {
			switch r := res[k].(type) {
			case int64:
				if r == 0 {
					failed[i] = conflict(writes[i].Cond)
				}
			case string:
				failed[i] = errors.New("redis: " + r)
			default:
				failed[i] = fmt.Errorf("batch script answered %v", r)
			}
		}
	}
}

// lexBounds turns the half-open interval [lo, hi) into ZRANGEBYLEX bounds.
func lexBounds(lo, hi string) (from, to string) {
	from, to = "-", "+"
	if lo != "" {
		from = "[" + lo
	}
	if hi != "" {
		to = "(" + hi
	}
	return from, to
}

// Scan implements store.Store with one script call per page, which reads
// the next Limit+1 keys of the index and their rows in one atomic step.
// Expired rows and index entries whose row Redis removed make pages short;
// the cursor is the first key of the next page.
func (s *Store) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	limit, lo, hi, empty, err := store.CheckScan(ctx, table, r)
	if err != nil || empty {
		return store.Page{}, err
	}
	now := s.clock()
	from, to := lexBounds(lo, hi)
	res, err := scanScript.Run(ctx, s.client, []string{s.IndexKey(table)},
		s.rowPrefix(table), from, to, limit, now.UnixMilli(), store.MaxPageBytes).Slice()
	if err != nil {
		return store.Page{}, fmt.Errorf("redisstore: scan %s: %w", s.TableName(table), err)
	}
	p, err := fillPage(res, limit, hi, now)
	if err != nil {
		return store.Page{}, fmt.Errorf("redisstore: scan %s: %w", s.TableName(table), err)
	}
	return p, nil
}

// fillPage builds the page from scanScript's entries with store.PageFill.
func fillPage(fields []any, limit int, hi string, now time.Time) (store.Page, error) {
	if len(fields)%5 != 0 {
		return store.Page{}, fmt.Errorf("scan script answered %d fields, not a multiple of 5", len(fields))
	}
	f := store.NewPageFill(limit, hi, now)
	var bad error
	for i := 0; i < len(fields); i += 5 {
		var e [5]string
		for j := range e {
			e[j], _ = fields[i+j].(string)
		}
		key, state := e[0], e[1]
		switch state {
		case "s":
			continue
		case "n":
			f.Page.Next = key
			return f.Page, nil
		}
		var val any = ""
		size := len(e[4])
		switch state {
		case "l":
			val = e[4]
		case "b":
			size, _ = strconv.Atoi(e[4])
		}
		it, _, err := decodeRow(key, val, e[2], e[3])
		if err != nil {
			return store.Page{}, fmt.Errorf("key %q: %w", key, err)
		}
		more := f.Add(key, store.ExpiryMillis(it.ExpiresAt), size, func() store.Item {
			if state != "l" {
				bad = fmt.Errorf("key %q: the page needs a value the scan script left out", key)
			}
			return it
		})
		if bad != nil {
			return store.Page{}, bad
		}
		if !more {
			return f.Page, nil
		}
	}
	return f.Page, nil
}

// Purge implements store.Purger: it walks the index in steps of
// purgeChunk keys, each one script that deletes the rows expired by the
// store's clock and drops index entries whose row Redis already removed.
// A row renewed before its step runs is kept. Only rows Purge deleted are
// counted.
func (s *Store) Purge(ctx context.Context, table string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := store.CheckTable(table); err != nil {
		return 0, err
	}
	purged, lo := 0, "-"
	for {
		res, err := purgeScript.Run(ctx, s.client, []string{s.IndexKey(table)},
			s.rowPrefix(table), lo, purgeChunk, s.clock().UnixMilli()).Slice()
		if err != nil {
			return purged, fmt.Errorf("redisstore: purge %s: %w", s.TableName(table), err)
		}
		if len(res) != 3 {
			return purged, fmt.Errorf("redisstore: purge %s: unexpected script reply %v", s.TableName(table), res)
		}
		n, _ := res[0].(int64)
		read, _ := res[1].(int64)
		last, _ := res[2].(string)
		purged += int(n)
		if read < purgeChunk {
			return purged, nil
		}
		lo = "(" + last
	}
}
