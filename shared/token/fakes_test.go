package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// clock is the manual clock shared by the store, the fake DingTalk and the
// providers of a test; dingtalktest's has exactly the semantics needed.
type clock = dingtalktest.ManualClock

func newClock() *clock {
	return dingtalktest.NewManualClock(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC))
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

// fetch is how every fetch starts: it is counted in calls, held at the
// gate, then fails while an error is set; issue runs under the lock.
func (f *fakeUpstream) fetch(ctx context.Context, calls *atomic.Int64, issue func(now time.Time) (Fetched, error)) (Fetched, error) {
	calls.Add(1)
	if err := f.wait(ctx); err != nil {
		return Fetched{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Fetched{}, f.err
	}
	return issue(f.now())
}

func (f *fakeUpstream) FetchAccessToken(ctx context.Context) (Fetched, error) {
	return f.fetch(ctx, &f.tokenCalls, func(now time.Time) (Fetched, error) {
		if f.token == "" || !now.Before(f.tokenExp) {
			f.serial++
			f.token = fmt.Sprintf("token-%d", f.serial)
		}
		f.tokenExp = now.Add(f.lifetime)
		return Fetched{Value: f.token, ExpiresIn: f.lifetime}, nil
	})
}

func (f *fakeUpstream) FetchJSAPITicket(ctx context.Context, accessToken string) (Fetched, error) {
	return f.fetch(ctx, &f.ticketCalls, func(now time.Time) (Fetched, error) {
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
	})
}

// failStore wraps a real store and fails every call while fail is set, to
// stand for a store outage.
type failStore struct {
	store.Store
	mu   sync.Mutex
	fail error
	// failPutKey, when set, makes only puts of that key fail.
	failPutKey string
	// gets counts Get calls.
	gets atomic.Int64
	// beforePut, when set, runs ahead of each Put (single-goroutine tests
	// only), to let a competing writer in between a read and a write.
	beforePut func()
}

func (s *failStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *failStore) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail
}

func (s *failStore) Get(ctx context.Context, table, key string) (store.Item, error) {
	s.gets.Add(1)
	if err := s.err(); err != nil {
		return store.Item{}, err
	}
	return s.Store.Get(ctx, table, key)
}

func (s *failStore) Put(ctx context.Context, table string, item store.Item, cond store.Cond) (int64, error) {
	if err := s.err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	failKey := s.failPutKey
	s.mu.Unlock()
	if item.Key == failKey {
		return 0, errors.New("store: put refused (injected)")
	}
	if s.beforePut != nil {
		s.beforePut()
	}
	return s.Store.Put(ctx, table, item, cond)
}

func (s *failStore) Delete(ctx context.Context, table, key string, cond store.Cond) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, table, key, cond)
}

// newFakes returns a clock, and a store and a fake DingTalk that follow it.
func newFakes() (*clock, *failStore, *fakeUpstream) {
	clk := newClock()
	return clk, newTestStore(clk.Now), newFakeUpstream(clk.Now)
}

// newTestStore returns a memory store following clk, able to fail on demand.
func newTestStore(now func() time.Time) *failStore {
	m, err := memstore.New(memstore.WithClock(now))
	if err != nil {
		panic(err)
	}
	return &failStore{Store: m}
}
