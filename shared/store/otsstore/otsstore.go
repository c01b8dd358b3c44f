// Package otsstore is the store.Store on Alibaba Cloud Tablestore (OTS),
// dingfn's production backend: every function of every environment reads
// and writes one consistent state.
//
// # Schema
//
// Each logical table is a Tablestore table named prefix+table (for example
// dingfn_tokens), created on first write without any console step:
//
//	primary key  pk          STRING   the item key
//	attribute    value       BINARY   the item value (dingfn writes JSON)
//	attribute    version     INTEGER  compare-and-swap version
//	attribute    expires_at  INTEGER  Unix milliseconds; 9223372036854775807 = never
//
// Tables keep one cell version and no table TTL (Tablestore's TTL is at
// least a day and counts from the write): expiry is the expires_at column,
// compared on every read and in every write condition. A row whose
// expires_at is not greater than the current time in milliseconds is
// absent. Readers in other languages apply the same rule.
//
// # Conditional writes
//
// Each condition is one Tablestore row condition, evaluated atomically by
// the service:
//
//	Always      IGNORE       + version < new
//	IfAbsent    IGNORE       + expires_at <= now AND version < new
//	IfVersion   EXPECT_EXIST + version == v AND expires_at > now
//
// "never" is math.MaxInt64 rather than a missing column so that
// absent-or-expired is a single comparison. Columns missing from the row
// pass the conditions of Always and IfAbsent (a missing row is absent) but
// fail those of IfVersion: the SDK's FilterIfMissing defaults to false,
// which would let a version check pass on a row without a version, so it
// is set explicitly on every condition.
//
// # Versions
//
// A new version is drawn from the wall clock: the high bits are the
// writer's time in units of 1024 ns, strictly after the version it
// replaces, and the low 10 bits are random. The condition
// "version < new" keeps versions strictly increasing per key; a writer
// whose clock is behind re-reads the row and writes above it. Because
// versions follow time, a key that is deleted and written again gets a
// version above any it had before, as long as writers' clocks do not lag
// by more than the time between the delete and the re-create. The random
// low bits make a version identify one write, so when a response is lost
// and the SDK's retry then fails its own condition, the store reads the
// row back and recognises its write instead of reporting a conflict.
package otsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/wait"
)

// Column names of every dingfn table; see the package documentation.
const (
	ColKey       = "pk"
	ColValue     = "value"
	ColVersion   = "version"
	ColExpiresAt = "expires_at"
)

// Tablestore's limits that shape batches.
const (
	maxBatchRows  = 200
	maxBatchBytes = 4<<20 - 64<<10 // 4 MB request limit, less a margin for framing
	rowOverhead   = 128            // column names, types, condition of one row
	batchWorkers  = 4
	maxAttempts   = 10
)

// Tablestore error codes the store reacts to.
const (
	codeConditionFail = "OTSConditionCheckFail"
	codeNotExist      = "OTSObjectNotExist"
	codeAlreadyExist  = "OTSObjectAlreadyExist"
	codeTableNotReady = "OTSTableNotReady"
)

// Option configures a Store. An invalid option makes New fail.
type Option func(*Store) error

// WithClock makes expiry follow clock instead of time.Now. Versions always
// follow the wall clock.
func WithClock(clock store.Clock) Option {
	return func(s *Store) error {
		if clock == nil {
			return fmt.Errorf("%w: WithClock: nil clock", store.ErrInvalid)
		}
		s.clock = clock
		return nil
	}
}

// WithTablePrefix sets the prefix of table names (default
// store.DefaultTablePrefix, from DINGFN_TABLE_PREFIX).
func WithTablePrefix(prefix string) Option {
	return func(s *Store) error {
		if err := store.CheckPrefix(prefix); err != nil {
			return err
		}
		s.prefix = prefix
		return nil
	}
}

// WithSharedTables names logical tables that keep store.DefaultTablePrefix
// whatever WithTablePrefix says. dingfn shares its token table this way:
// deployments of one app that use different prefixes on one instance (say
// production and staging) must still read one access token and one jsapi
// ticket, or each refresh would overwrite the other's ticket (error 52013).
func WithSharedTables(tables ...string) Option {
	return func(s *Store) error {
		if s.shared == nil {
			s.shared = map[string]bool{}
		}
		for _, t := range tables {
			if err := store.CheckTable(t); err != nil {
				return fmt.Errorf("WithSharedTables: %w", err)
			}
			s.shared[t] = true
		}
		return nil
	}
}

// WithLogger sets where table creation is logged; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", store.ErrInvalid)
		}
		s.log = l
		return nil
	}
}

// WithTableReadyTimeout bounds how long a write waits, d > 0, for a table
// it just created to start serving (default 30s; the service needs a few
// seconds).
func WithTableReadyTimeout(d time.Duration) Option {
	return func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithTableReadyTimeout: %v is not a positive duration", store.ErrInvalid, d)
		}
		s.readyTimeout = d
		return nil
	}
}

// Store is a store.Store on one Tablestore instance.
type Store struct {
	client       *tablestore.TableStoreClient
	clock        store.Clock
	wall         func() time.Time
	prefix       string
	shared       map[string]bool
	log          *slog.Logger
	readyTimeout time.Duration
	creating     singleflight.Group
}

var _ store.Store = (*Store)(nil)

// New returns a Store that uses client, which the caller configures
// (endpoint, instance, credentials, retry policy).
func New(client *tablestore.TableStoreClient, opts ...Option) (*Store, error) {
	s := &Store{
		client:       client,
		clock:        time.Now,
		wall:         time.Now,
		prefix:       store.DefaultTablePrefix,
		log:          slog.New(slog.DiscardHandler),
		readyTimeout: 30 * time.Second,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("otsstore: %w", err)
		}
	}
	if client == nil {
		return nil, fmt.Errorf("otsstore: %w: nil client", store.ErrInvalid)
	}
	return s, nil
}

// Close implements store.Store. The SDK client holds no resources beyond
// idle HTTP connections, so Close does nothing.
func (s *Store) Close() error { return nil }

// TableName returns the Tablestore table behind logical table.
func (s *Store) TableName(table string) string {
	if s.shared[table] {
		return store.DefaultTablePrefix + table
	}
	return s.prefix + table
}

// call runs an SDK call, which takes no context, so that ctx still bounds
// the caller's wait; an abandoned call finishes in the background within
// the client's own timeouts.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func code(err error) string {
	var oe *tablestore.OtsError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ""
}

func isCode(err error, c string) bool { return err != nil && code(err) == c }

func pk(key string) *tablestore.PrimaryKey {
	p := &tablestore.PrimaryKey{}
	p.AddPrimaryKeyColumn(ColKey, key)
	return p
}

// cond builds one column comparison. Missing columns pass only when
// passIfMissing, whatever the SDK's default.
func cond(col string, cmp tablestore.ComparatorType, v int64, passIfMissing bool) *tablestore.SingleColumnCondition {
	c := tablestore.NewSingleColumnCondition(col, cmp, v)
	c.FilterIfMissing = !passIfMissing
	c.LatestVersionOnly = true
	return c
}

func and(cs ...tablestore.ColumnFilter) tablestore.ColumnFilter {
	f := tablestore.NewCompositeColumnCondition(tablestore.LO_AND)
	for _, c := range cs {
		f.AddFilter(c)
	}
	return f
}

// rowCondition translates c for a write of version newVersion at now.
func rowCondition(c store.Cond, newVersion, nowMs int64) *tablestore.RowCondition {
	if v, ok := c.Version(); ok {
		return &tablestore.RowCondition{
			RowExistenceExpectation: tablestore.RowExistenceExpectation_EXPECT_EXIST,
			ColumnCondition: and(
				cond(ColVersion, tablestore.CT_EQUAL, v, false),
				cond(ColExpiresAt, tablestore.CT_GREATER_THAN, nowMs, false),
			),
		}
	}
	rc := &tablestore.RowCondition{RowExistenceExpectation: tablestore.RowExistenceExpectation_IGNORE}
	var vc tablestore.ColumnFilter
	if newVersion > 0 {
		vc = cond(ColVersion, tablestore.CT_LESS_THAN, newVersion, true)
	}
	switch {
	case c.IsIfAbsent() && vc != nil:
		rc.ColumnCondition = and(cond(ColExpiresAt, tablestore.CT_LESS_EQUAL, nowMs, true), vc)
	case c.IsIfAbsent():
		rc.ColumnCondition = cond(ColExpiresAt, tablestore.CT_LESS_EQUAL, nowMs, true)
	default:
		rc.ColumnCondition = vc
	}
	return rc
}

// nextVersion returns a version greater than floor; see the package
// documentation.
func (s *Store) nextVersion(floor int64) int64 {
	const shift = 10
	base := max(s.wall().UnixNano()>>shift, floor>>shift+1)
	return base<<shift | rand.Int64N(1<<shift)
}

// row is a decoded Tablestore row.
type row struct {
	found   bool
	value   []byte
	version int64
	expires int64
}

func decodeColumns(cols []*tablestore.AttributeColumn) row {
	r := row{found: true, expires: math.MaxInt64, value: []byte{}}
	for _, c := range cols {
		switch c.ColumnName {
		case ColValue:
			switch v := c.Value.(type) {
			case []byte:
				r.value = v
			case string: // written by hand or by another language
				r.value = []byte(v)
			}
		case ColVersion:
			r.version, _ = c.Value.(int64)
		case ColExpiresAt:
			if v, ok := c.Value.(int64); ok {
				r.expires = v
			}
		}
	}
	return r
}

func (r row) item(key string) store.Item {
	return store.Item{Key: key, Value: r.value, Version: r.version, ExpiresAt: store.ExpiryTime(r.expires)}
}

// read returns the row of key, expired or not.
func (s *Store) read(ctx context.Context, table, key string) (row, error) {
	req := &tablestore.GetRowRequest{SingleRowQueryCriteria: &tablestore.SingleRowQueryCriteria{
		TableName:    s.TableName(table),
		PrimaryKey:   pk(key),
		MaxVersion:   1,
		ColumnsToGet: []string{ColValue, ColVersion, ColExpiresAt},
	}}
	resp, err := call(ctx, func() (*tablestore.GetRowResponse, error) { return s.client.GetRow(req) })
	if isCode(err, codeNotExist) {
		return row{}, nil // a table never written is empty
	}
	if err != nil {
		return row{}, err
	}
	// The SDK answers a missing row with an empty response, not an error.
	if len(resp.PrimaryKey.PrimaryKeys) == 0 && len(resp.Columns) == 0 {
		return row{}, nil
	}
	return decodeColumns(resp.Columns), nil
}

func (s *Store) errorf(op, table, key string, err error) error {
	return fmt.Errorf("otsstore: %s %s %q: %w", op, s.TableName(table), key, err)
}

func conflict(c store.Cond) error { return fmt.Errorf("%v: %w", c, store.ErrConflict) }

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, table, key string) (store.Item, error) {
	if err := check(table, key); err != nil {
		return store.Item{}, err
	}
	r, err := s.read(ctx, table, key)
	if err != nil {
		return store.Item{}, s.errorf("get", table, key, err)
	}
	if !r.found || !store.Live(r.expires, s.clock()) {
		return store.Item{}, s.errorf("get", table, key, store.ErrNotFound)
	}
	return r.item(key), nil
}

func check(table, key string) error {
	if err := store.CheckTable(table); err != nil {
		return err
	}
	return store.CheckKey(key)
}

func (s *Store) putChange(table string, item store.Item, version int64) *tablestore.PutRowChange {
	c := &tablestore.PutRowChange{TableName: s.TableName(table), PrimaryKey: pk(item.Key)}
	value := item.Value
	if value == nil {
		value = []byte{}
	}
	c.AddColumn(ColValue, value)
	c.AddColumn(ColVersion, version)
	c.AddColumn(ColExpiresAt, store.ExpiryMillis(item.ExpiresAt))
	return c
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, table string, item store.Item, c store.Cond) (int64, error) {
	if err := store.CheckTable(table); err != nil {
		return 0, err
	}
	if err := store.CheckItem(item); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	floor, _ := c.Version() // 0 unless IfVersion
	version := s.nextVersion(floor)
	return s.putFrom(ctx, table, item, c, version, s.putRow(ctx, table, item, c, version))
}

// putRow makes one PutRow attempt of item at version.
func (s *Store) putRow(ctx context.Context, table string, item store.Item, c store.Cond, version int64) error {
	change := s.putChange(table, item, version)
	change.Condition = rowCondition(c, version, s.clock().UnixMilli())
	return s.write(ctx, table, !c.IsAlways() && !c.IsIfAbsent(), func() error {
		_, err := s.client.PutRow(&tablestore.PutRowRequest{PutRowChange: change})
		return err
	})
}

// putFrom finishes a put whose write of version ended in err (nil for
// success): it reads the row back to tell a landed write or a real
// conflict from a writer clock behind the stored version, and writes
// above that version again.
func (s *Store) putFrom(ctx context.Context, table string, item store.Item, c store.Cond, version int64, err error) (int64, error) {
	floor, _ := c.Version()
	for attempt := 1; ; attempt++ {
		if err == nil {
			return version, nil
		}
		if ctx.Err() != nil {
			return 0, s.errorf("put", table, item.Key, err)
		}
		condFailed := isCode(err, codeConditionFail)
		if _, ok := c.Version(); ok && isCode(err, codeNotExist) {
			condFailed = true
		}
		// Find out whether the write landed after all (a lost response
		// followed by a retry that failed its own condition), and why
		// the condition failed.
		r, rerr := s.read(ctx, table, item.Key)
		if rerr == nil && r.found && r.version == version && bytes.Equal(r.value, item.Value) && r.expires == store.ExpiryMillis(item.ExpiresAt) {
			return version, nil
		}
		if !condFailed {
			return 0, s.errorf("put", table, item.Key, err)
		}
		if rerr != nil {
			return 0, s.errorf("put", table, item.Key, rerr)
		}
		live := r.found && store.Live(r.expires, s.clock())
		if !c.IsAlways() && !c.Allows(live, r.version) {
			return 0, s.errorf("put", table, item.Key, conflict(c))
		}
		if _, ok := c.Version(); ok {
			// The condition failed on the service but holds on the row
			// read since: another writer changed it in between and back
			// is impossible (versions grow), so this is a conflict too.
			return 0, s.errorf("put", table, item.Key, conflict(c))
		}
		if attempt == maxAttempts {
			return 0, s.errorf("put", table, item.Key, fmt.Errorf("gave up after %d attempts: the key is written faster than this writer can follow", maxAttempts))
		}
		// Always or IfAbsent lost only on "version < new": the stored
		// version is ahead of this writer's clock. Write above it.
		floor = max(floor, r.version)
		version = s.nextVersion(floor)
		err = s.putRow(ctx, table, item, c, version)
	}
}

// write runs a write of table, creating the table when it is missing
// (unless conditional on an existing row, which cannot hold in a new
// table) and waiting for a new table to serve.
func (s *Store) write(ctx context.Context, table string, needsRow bool, f func() error) error {
	_, err := call(ctx, func() (struct{}, error) { return struct{}{}, f() })
	if !isCode(err, codeNotExist) || needsRow {
		return err
	}
	if err := s.CreateTables(ctx, table); err != nil {
		return err
	}
	deadline := s.wall().Add(s.readyTimeout)
	pause := 10 * time.Millisecond
	for {
		_, err = call(ctx, func() (struct{}, error) { return struct{}{}, f() })
		if !isCode(err, codeNotExist) && !isCode(err, codeTableNotReady) {
			return err
		}
		if s.wall().After(deadline) {
			return fmt.Errorf("table %s created but not serving after %v: %w", s.TableName(table), s.readyTimeout, err)
		}
		if err := wait.Sleep(ctx, pause); err != nil {
			return err
		}
		pause = min(2*pause, time.Second)
	}
}

// CreateTables creates the Tablestore tables behind the given logical
// tables when they are missing. Writes do this on their own; call it to
// provision ahead of the first write, e.g. at deploy time.
func (s *Store) CreateTables(ctx context.Context, tables ...string) error {
	for _, table := range tables {
		if err := store.CheckTable(table); err != nil {
			return err
		}
		name := s.TableName(table)
		_, err, _ := s.creating.Do(name, func() (any, error) {
			meta := &tablestore.TableMeta{TableName: name}
			meta.AddPrimaryKeyColumn(ColKey, tablestore.PrimaryKeyType_STRING)
			req := &tablestore.CreateTableRequest{
				TableMeta:          meta,
				TableOption:        &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1},
				ReservedThroughput: &tablestore.ReservedThroughput{},
			}
			_, err := call(ctx, func() (*tablestore.CreateTableResponse, error) { return s.client.CreateTable(req) })
			switch {
			case err == nil:
				s.log.InfoContext(ctx, "created Tablestore table", "table", name)
				return nil, nil
			case isCode(err, codeAlreadyExist):
				return nil, nil
			default:
				return nil, err
			}
		})
		if err != nil {
			return fmt.Errorf("otsstore: create table %s: %w", name, err)
		}
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, table, key string, c store.Cond) error {
	if err := check(table, key); err != nil {
		return err
	}
	change := &tablestore.DeleteRowChange{TableName: s.TableName(table), PrimaryKey: pk(key)}
	change.Condition = rowCondition(c, 0, s.clock().UnixMilli())
	_, err := call(ctx, func() (*tablestore.DeleteRowResponse, error) {
		return s.client.DeleteRow(&tablestore.DeleteRowRequest{DeleteRowChange: change})
	})
	_, isVersion := c.Version()
	switch {
	case err == nil:
		return nil
	case isCode(err, codeNotExist) && !isVersion:
		return nil // nothing to delete in a table never written
	case isCode(err, codeNotExist), isCode(err, codeConditionFail):
		return s.errorf("delete", table, key, conflict(c))
	default:
		return s.errorf("delete", table, key, err)
	}
}

// chunk is one BatchWriteRow request: writes[idx[i]] for each i.
type chunk struct{ idx []int }

// split groups the valid writes (no failure yet) into requests within Tablestore's limits.
// A key may appear once per request, so a repeated key starts a new
// request and ordered reports that requests must run in order.
func split(writes []store.Write, failed []error) (chunks []chunk, ordered bool) {
	var cur chunk
	size := 0
	inCur := map[string]bool{}
	seen := map[string]bool{}
	for i, w := range writes {
		if failed[i] != nil {
			continue
		}
		n := len(w.Item.Key) + rowOverhead
		if !w.Delete {
			n += len(w.Item.Value)
		}
		if len(cur.idx) == maxBatchRows || (len(cur.idx) > 0 && size+n > maxBatchBytes) || inCur[w.Item.Key] {
			chunks = append(chunks, cur)
			cur, size, inCur = chunk{}, 0, map[string]bool{}
		}
		if seen[w.Item.Key] {
			ordered = true
		}
		seen[w.Item.Key], inCur[w.Item.Key] = true, true
		cur.idx = append(cur.idx, i)
		size += n
	}
	if len(cur.idx) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks, ordered
}

// Batch implements store.Store with BatchWriteRow requests of at most 200
// rows and 4 MB, each row carrying its condition as its own row condition
// (the same translation as Put and Delete). Requests run concurrently unless
// a key repeats, in which case they run in order so the last write of a key
// wins and a later condition sees the earlier write. A put row that fails
// its condition goes through Put's recovery: the row is read back, so a
// landed retry counts as success and a writer clock behind the stored
// version writes above it.
func (s *Store) Batch(ctx context.Context, table string, writes []store.Write) error {
	if err := store.CheckTable(table); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	failed := store.CheckWrites(writes)
	chunks, ordered := split(writes, failed)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchWorkers)
	if ordered {
		g.SetLimit(1)
	}
	for _, ch := range chunks {
		g.Go(func() error {
			// Each chunk records its own rows' failures; other chunks go
			// on, and nothing is returned so gctx stays live.
			s.batchChunk(gctx, table, writes, ch, failed)
			return nil
		})
	}
	_ = g.Wait()
	if be := store.BatchErrorOf(writes, failed); be != nil {
		return fmt.Errorf("otsstore: batch %s: %w", s.TableName(table), be)
	}
	return nil
}

func (s *Store) batchChunk(ctx context.Context, table string, writes []store.Write, ch chunk, failed []error) {
	req := &tablestore.BatchWriteRowRequest{}
	nowMs := s.clock().UnixMilli()
	versions := make([]int64, len(ch.idx))
	// A chunk whose every row needs an existing row cannot succeed in a
	// missing table: no reason to create it.
	needsRow := true
	for j, i := range ch.idx {
		w := writes[i]
		_, isVersion := w.Cond.Version()
		needsRow = needsRow && isVersion
		if w.Delete {
			d := &tablestore.DeleteRowChange{TableName: s.TableName(table), PrimaryKey: pk(w.Item.Key)}
			d.Condition = rowCondition(w.Cond, 0, nowMs)
			req.AddRowChange(d)
			continue
		}
		floor, _ := w.Cond.Version() // 0 unless IfVersion
		version := s.nextVersion(floor)
		versions[j] = version
		p := s.putChange(table, w.Item, version)
		p.Condition = rowCondition(w.Cond, version, nowMs)
		req.AddRowChange(p)
	}
	var resp *tablestore.BatchWriteRowResponse
	err := s.write(ctx, table, needsRow, func() error {
		var err error
		resp, err = s.client.BatchWriteRow(req)
		if err != nil {
			return err
		}
		// The service reports a missing table on every row rather than
		// failing the request; turn that into the request error that
		// makes write create the table and try again.
		rows := resp.TableToRowsResult[s.TableName(table)]
		for _, r := range rows {
			if r.IsSucceed || r.Error.Code != codeNotExist {
				return nil
			}
		}
		if len(rows) > 0 {
			return &tablestore.OtsError{Code: codeNotExist, Message: rows[0].Error.Message}
		}
		return nil
	})
	if err != nil {
		recovering := ctx.Err() == nil
		for j, i := range ch.idx {
			w := writes[i]
			switch {
			case needsRow && isCode(err, codeNotExist):
				// IfVersion in a table never written: the row is absent.
				failed[i] = s.errorf("batch", table, w.Item.Key, conflict(w.Cond))
			case recovering && !w.Delete && !w.Cond.IsAlways():
				// The request may have been applied with its response lost;
				// a caller retrying a conditional put would then conflict
				// with its own write. Read the rows back while they turn
				// out to have landed; the first that did not ends it.
				if _, perr := s.putFrom(ctx, table, w.Item, w.Cond, versions[j], err); perr != nil {
					failed[i], recovering = perr, false
				}
			default:
				failed[i] = err
			}
		}
		return
	}
	results := resp.TableToRowsResult[s.TableName(table)]
	done := make([]bool, len(ch.idx))
	for _, r := range results {
		if r.Index < 0 || int(r.Index) >= len(ch.idx) {
			continue
		}
		i := ch.idx[r.Index]
		w := writes[i]
		done[r.Index] = true
		switch {
		case r.IsSucceed:
		case r.Error.Code == codeConditionFail && !w.Delete:
			// The condition failed, or the stored version is ahead of this
			// writer's clock, or a retried request found its own write: the
			// single-row path reads the row and tells which, reporting a
			// conflict, writing above the stored version, or succeeding.
			rowErr := &tablestore.OtsError{Code: r.Error.Code, Message: r.Error.Message}
			if _, err := s.putFrom(ctx, table, w.Item, w.Cond, versions[r.Index], rowErr); err != nil {
				failed[i] = err
			}
		case r.Error.Code == codeConditionFail:
			// A delete's row condition is the caller's condition alone.
			failed[i] = s.errorf("batch", table, w.Item.Key, conflict(w.Cond))
		default:
			failed[i] = &tablestore.OtsError{Code: r.Error.Code, Message: r.Error.Message}
		}
	}
	for j, ok := range done {
		if !ok {
			failed[ch.idx[j]] = errors.New("otsstore: BatchWriteRow returned no result for this row")
		}
	}
}

// Scan implements store.Store with one GetRange request per page. The
// service may stop a page early (row count or 4 MB of data) and expired
// rows are dropped after reading, so pages can be short or empty; the
// cursor is the service's NextStartPrimaryKey, "" when it has none.
func (s *Store) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	limit, lo, hi, empty, err := store.CheckScan(ctx, table, r)
	if err != nil || empty {
		return store.Page{}, err
	}
	start, end := &tablestore.PrimaryKey{}, &tablestore.PrimaryKey{}
	if lo == "" {
		start.AddPrimaryKeyColumnWithMinValue(ColKey)
	} else {
		start.AddPrimaryKeyColumn(ColKey, lo)
	}
	// A bound that is not UTF-8 (a prefix ending inside a multi-byte
	// character) cannot be sent as a string key; scan to the end and stop
	// at hi here.
	clientEnd := hi != "" && !utf8.ValidString(hi)
	if hi == "" || clientEnd {
		end.AddPrimaryKeyColumnWithMaxValue(ColKey)
	} else {
		end.AddPrimaryKeyColumn(ColKey, hi)
	}
	req := &tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
		TableName:       s.TableName(table),
		StartPrimaryKey: start,
		EndPrimaryKey:   end,
		ColumnsToGet:    []string{ColValue, ColVersion, ColExpiresAt},
		MaxVersion:      1,
		Direction:       tablestore.FORWARD,
		Limit:           int32(limit),
	}}
	resp, err := call(ctx, func() (*tablestore.GetRangeResponse, error) { return s.client.GetRange(req) })
	if isCode(err, codeNotExist) {
		return store.Page{}, nil
	}
	if err != nil {
		return store.Page{}, fmt.Errorf("otsstore: scan %s from %q: %w", s.TableName(table), lo, err)
	}
	now := s.clock()
	var p store.Page
	for _, rw := range resp.Rows {
		key, ok := keyOf(rw.PrimaryKey)
		if !ok {
			return store.Page{}, fmt.Errorf("otsstore: scan %s: row without a string %s primary key", s.TableName(table), ColKey)
		}
		if clientEnd && key >= hi {
			return p, nil
		}
		if d := decodeColumns(rw.Columns); store.Live(d.expires, now) {
			p.Items = append(p.Items, d.item(key))
		}
	}
	if resp.NextStartPrimaryKey != nil {
		next, ok := keyOf(resp.NextStartPrimaryKey)
		if !ok {
			return store.Page{}, fmt.Errorf("otsstore: scan %s: NextStartPrimaryKey without a string %s", s.TableName(table), ColKey)
		}
		if !clientEnd || next < hi {
			p.Next = next
		}
	}
	return p, nil
}

func keyOf(p *tablestore.PrimaryKey) (string, bool) {
	if p == nil || len(p.PrimaryKeys) == 0 {
		return "", false
	}
	k, ok := p.PrimaryKeys[0].Value.(string)
	return k, ok
}
