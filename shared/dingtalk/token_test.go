package dingtalk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func counterFetch(n *atomic.Int32, life time.Duration) TokenFetcher {
	return func(context.Context) (*Token, error) {
		return &Token{Value: fmt.Sprintf("t%d", n.Add(1)), ExpiresIn: life}, nil
	}
}

func TestMemoryTokenSourceCachesUntilMargin(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	s := NewMemoryTokenSource(counterFetch(&n, 7200*time.Second))
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s.now = clk.now
	ctx := context.Background()
	for range 3 {
		if v, _ := s.AccessToken(ctx); v != "t1" {
			t.Fatalf("token = %q, want t1", v)
		}
	}
	clk.add(7200*time.Second - DefaultRefreshMargin - time.Second)
	if v, _ := s.AccessToken(ctx); v != "t1" {
		t.Errorf("just before the margin: %q, want t1", v)
	}
	clk.add(2 * time.Second)
	if v, _ := s.AccessToken(ctx); v != "t2" {
		t.Errorf("inside the margin: %q, want a fresh t2", v)
	}
	if n.Load() != 2 {
		t.Errorf("fetches = %d, want 2", n.Load())
	}
}

func TestMemoryTokenSourceShortLife(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	s := NewMemoryTokenSource(counterFetch(&n, 10*time.Minute))
	clk := &fakeClock{t: time.Unix(0, 0)}
	s.now = clk.now
	s.AccessToken(context.Background())
	clk.add(4 * time.Minute)
	if v, _ := s.AccessToken(context.Background()); v != "t1" {
		t.Errorf("a 10-minute token was dropped after 4 minutes: %q", v)
	}
	clk.add(2 * time.Minute)
	if v, _ := s.AccessToken(context.Background()); v != "t2" {
		t.Errorf("a 10-minute token was kept past half its life: %q", v)
	}
}

func TestMemoryTokenSourceInvalidateCompares(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	s := NewMemoryTokenSource(counterFetch(&n, time.Hour*2))
	ctx := context.Background()
	s.AccessToken(ctx) // t1
	// A caller that failed with an old token must not drop the current one.
	s.Invalidate(ctx, "t0")
	if v, _ := s.AccessToken(ctx); v != "t1" {
		t.Errorf("after invalidating a stale token: %q, want t1", v)
	}
	s.Invalidate(ctx, "t1")
	if v, _ := s.AccessToken(ctx); v != "t2" {
		t.Errorf("after invalidating the current token: %q, want t2", v)
	}
}

func TestMemoryTokenSourceSingleFetch(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s := NewMemoryTokenSource(func(ctx context.Context) (*Token, error) {
		started <- struct{}{}
		<-release
		return &Token{Value: fmt.Sprintf("t%d", n.Add(1)), ExpiresIn: 2 * time.Hour}, nil
	})
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			v, err := s.AccessToken(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	<-started
	close(release)
	wg.Wait()
	for i, v := range got {
		if v != "t1" {
			t.Errorf("caller %d got %q, want t1", i, v)
		}
	}
	if n.Load() != 1 {
		t.Errorf("fetches = %d, want 1", n.Load())
	}
}

func TestMemoryTokenSourceWaitHonoursContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	s := NewMemoryTokenSource(func(ctx context.Context) (*Token, error) {
		close(started)
		<-release
		return &Token{Value: "t", ExpiresIn: time.Hour}, nil
	})
	go s.AccessToken(context.Background())
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.AccessToken(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled while another fetch runs", err)
	}
	close(release)
}

func TestMemoryTokenSourceErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	s := NewMemoryTokenSource(func(context.Context) (*Token, error) { return nil, boom })
	if _, err := s.AccessToken(context.Background()); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	s = NewMemoryTokenSource(func(context.Context) (*Token, error) { return &Token{}, nil })
	if _, err := s.AccessToken(context.Background()); err == nil {
		t.Error("empty token accepted")
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	tok := Token{Value: "SECRET-v", ExpiresIn: time.Hour}
	ut := UserToken{AccessToken: "SECRET-a", RefreshToken: "SECRET-r"}
	wh := Webhook{AccessToken: "SECRET-w", Secret: "SECxyz"}
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil))
	l.Info("x", "token", tok, "user", ut, "hook", wh)
	cb := CallbackConfig{URL: "https://x", Token: "SECRET-cb", AESKey: "SECRET-aes"}
	l.Info("y", "cb", cb)
	c, _ := NewClient("key", "SECRET-app")
	ms := NewMemoryTokenSource(func(context.Context) (*Token, error) {
		return &Token{Value: "SECRET-cached", ExpiresIn: time.Hour}, nil
	})
	ms.AccessToken(context.Background())
	st := StaticTokenSource("SECRET-static")
	l.Info("z", "client", c, "static", st)
	out := fmt.Sprintf("%v %+v %#v %v %+v %#v %v %#v %s ", c, c, c, ms, ms, ms, st, st, st) + fmt.Sprintf("%v %+v %s %v %#v %#v %#v %v %#v", tok, ut, wh, &tok, tok, ut, wh, cb, cb) + buf.String()
	for _, s := range []string{"SECRET", "SECxyz"} {
		if bytes.Contains([]byte(out), []byte(s)) {
			t.Errorf("output leaks %s: %s", s, out)
		}
	}
}

func TestStaticTokenSource(t *testing.T) {
	t.Parallel()
	s := StaticTokenSource("abc")
	if v, err := s.AccessToken(context.Background()); v != "abc" || err != nil {
		t.Errorf("AccessToken = %q, %v", v, err)
	}
	if err := s.Invalidate(context.Background(), "abc"); err != nil {
		t.Error(err)
	}
	if _, err := StaticTokenSource("").AccessToken(context.Background()); err == nil {
		t.Error("empty static token accepted")
	}
}
