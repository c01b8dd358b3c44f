package callback_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalktest"
)

// Made-up subscription secrets shared by the fake DingTalk and the handler.
const (
	pushToken = "pushTokenForTests"
	pushKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

type events struct {
	mu   sync.Mutex
	seen []*callback.Event
	err  error
}

func (e *events) Dispatch(_ context.Context, ev *callback.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, ev)
	return e.err
}

func (e *events) list() []*callback.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*callback.Event(nil), e.seen...)
}

// TestPushedByFakeDingTalk has the fake DingTalk server push events to the
// handler over loopback HTTP, checking the reply as DingTalk would.
func TestPushedByFakeDingTalk(t *testing.T) {
	t.Parallel()
	ding := dingtalktest.NewServer(dingtalktest.WithEventSubscription(pushToken, pushKey))
	defer ding.Close()
	quiet := callback.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

	start := func(t *testing.T, owner string, d callback.Dispatcher) string {
		c, err := dingcrypto.New(pushToken, pushKey, owner)
		if err != nil {
			t.Fatal(err)
		}
		h, err := callback.NewHandler(c, d, quiet)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/callback"
	}
	ctx := context.Background()

	t.Run("events", func(t *testing.T) {
		rec := &events{}
		url := start(t, ding.AppKey(), rec)
		if err := ding.PushEvent(ctx, url, map[string]any{"EventType": "check_url"}); err != nil {
			t.Fatalf("check_url: %v", err)
		}
		ev := map[string]any{"EventType": "user_add_org", "CorpId": ding.CorpID(), "UserId": []string{"u1"}, "TimeStamp": "1700000000000"}
		if err := ding.PushEvent(ctx, url, ev); err != nil {
			t.Fatalf("user_add_org: %v", err)
		}
		got := rec.list()
		if len(got) != 1 || got[0].Type != "user_add_org" || got[0].CorpID != ding.CorpID() {
			t.Fatalf("dispatched %+v, want one user_add_org for %s", got, ding.CorpID())
		}
	})

	t.Run("dispatch failure makes DingTalk retry", func(t *testing.T) {
		rec := &events{err: errors.New("store down")}
		url := start(t, ding.AppKey(), rec)
		err := ding.PushEvent(ctx, url, map[string]any{"EventType": "org_change", "CorpId": ding.CorpID()})
		if !errors.Is(err, dingtalktest.ErrBadCallbackReply) {
			t.Fatalf("PushEvent = %v, want ErrBadCallbackReply", err)
		}
	})

	t.Run("wrong owner key", func(t *testing.T) {
		rec := &events{}
		url := start(t, "dingSomeOtherApp", rec)
		err := ding.PushEvent(ctx, url, map[string]any{"EventType": "org_change", "CorpId": ding.CorpID()})
		if !errors.Is(err, dingtalktest.ErrBadCallbackReply) || len(rec.list()) != 0 {
			t.Fatalf("PushEvent = %v with %d dispatched, want ErrBadCallbackReply and none", err, len(rec.list()))
		}
	})
}
