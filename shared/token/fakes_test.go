package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dingfn/dingfn/shared/store"
)

// clock is a manual clock shared by the store, the fake DingTalk and the
// providers of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeUpstream behaves like DingTalk's token endpoints: a refetch during
// validity returns the same value with a renewed lifetime, a ticket dies 24 h
// after it was issued, and an invalidated token is replaced on the next
// fetch.
type fakeUpstream struct {
	now      func() time.Time
	lifetime time.Duration

	mu          sync.Mutex
	token       string
	tokenExp    time.Time
	ticket      string
	ticketExp   time.Time
	ticketIssue time.Time
	serial      int
	err         error // returned by every fetch while set
	gate        chan struct{}
	// entered, when set, receives a signal as each fetch starts.
	entered chan struct{}

	tokenCalls  atomic.Int64
	ticketCalls atomic.Int64
}

func newFakeUpstream(now func() time.Time) *fakeUpstream {
	return &fakeUpstream{now: now, lifetime: 2 * time.Hour}
}

func (f *fakeUpstream) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// invalidate makes DingTalk forget the current token, as a forced
// invalidation does.
func (f *fakeUpstream) invalidate() {
	f.mu.Lock()
	f.token = ""
	f.mu.Unlock()
}

// valid reports whether DingTalk would accept tok now.
func (f *fakeUpstream) valid(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return tok != "" && tok == f.token && f.now().Before(f.tokenExp)
}

func (f *fakeUpstream) validTicket(t string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return t != "" && t == f.ticket && f.now().Before(f.ticketExp)
}

func (f *fakeUpstream) wait(ctx context.Context) error {
	f.mu.Lock()
	g, e := f.gate, f.entered
	f.mu.Unlock()
	if e != nil {
		select {
		case e <- struct{}{}:
		default:
		}
	}
	if g == nil {
		return nil
	}
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeUpstream) FetchAccessToken(ctx context.Context) (Fetched, error) {
	f.tokenCalls.Add(1)
	if err := f.wait(ctx); err != nil {
		return Fetched{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Fetched{}, f.err
	}
	now := f.now()
	if f.token == "" || !now.Before(f.tokenExp) {
		f.serial++
		f.token = fmt.Sprintf("token-%d", f.serial)
	}
	f.tokenExp = now.Add(f.lifetime)
	return Fetched{Value: f.token, ExpiresIn: f.lifetime}, nil
}

func (f *fakeUpstream) FetchJSAPITicket(ctx context.Context, accessToken string) (Fetched, error) {
	f.ticketCalls.Add(1)
	if err := f.wait(ctx); err != nil {
		return Fetched{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Fetched{}, f.err
	}
	now := f.now()
	if accessToken != f.token || !now.Before(f.tokenExp) {
		return Fetched{}, fmt.Errorf("fake: 40014: %w", ErrTokenRejected)
	}
	if f.ticket == "" || !now.Before(f.ticketExp) {
		f.serial++
		f.ticket = fmt.Sprintf("ticket-%d", f.serial)
		f.ticketIssue = now
	}
	f.ticketExp = now.Add(f.lifetime)
	if hard := f.ticketIssue.Add(TicketHardLimit); f.ticketExp.After(hard) {
		f.ticketExp = hard
	}
	return Fetched{Value: f.ticket, ExpiresIn: f.lifetime}, nil
}

// testStore is a minimal in-memory Store honouring the store package's
// semantics (versions, conditions, expiry by an injected clock).
type testStore struct {
	now  func() time.Time
	mu   sync.Mutex
	rows map[string]store.Item
	ver  int64
	// fail, when set, is returned by every call.
	fail error
}

func newTestStore(now func() time.Time) *testStore {
	return &testStore{now: now, rows: map[string]store.Item{}}
}

func (s *testStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *testStore) live(table, key string) (store.Item, bool) {
	it, ok := s.rows[table+"\x00"+key]
	if !ok || (!it.ExpiresAt.IsZero() && !s.now().Before(it.ExpiresAt)) {
		return store.Item{}, false
	}
	return it, true
}

func (s *testStore) check(cond store.Cond, it store.Item, ok bool) error {
	if cond.IsIfAbsent() && ok {
		return store.ErrConflict
	}
	if v, isV := cond.Version(); isV && (!ok || it.Version != v) {
		return store.ErrConflict
	}
	return nil
}

func (s *testStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return store.Item{}, s.fail
	}
	it, ok := s.live(table, key)
	if !ok {
		return store.Item{}, store.ErrNotFound
	}
	it.Value = append([]byte(nil), it.Value...)
	return it, nil
}

func (s *testStore) Put(ctx context.Context, table string, item store.Item, cond store.Cond) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	it, ok := s.live(table, item.Key)
	if err := s.check(cond, it, ok); err != nil {
		return 0, err
	}
	s.ver++
	item.Version = s.ver
	item.Value = append([]byte(nil), item.Value...)
	s.rows[table+"\x00"+item.Key] = item
	return s.ver, nil
}

func (s *testStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	it, ok := s.live(table, key)
	if err := s.check(cond, it, ok); err != nil {
		return err
	}
	delete(s.rows, table+"\x00"+key)
	return nil
}

func (s *testStore) Batch(ctx context.Context, table string, writes []store.Write) error {
	return errors.New("testStore: Batch not used by package token")
}

func (s *testStore) Scan(ctx context.Context, table string, r store.Range) (store.Page, error) {
	return store.Page{}, errors.New("testStore: Scan not used by package token")
}

func (s *testStore) Close() error { return nil }

var _ store.Store = (*testStore)(nil)
