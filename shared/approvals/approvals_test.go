package approvals_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/approvals"
	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// writes counts conditional writes.
type writes struct {
	store.Store
	n atomic.Int64
}

func (w *writes) Put(ctx context.Context, table string, it store.Item, c store.Cond) (int64, error) {
	w.n.Add(1)
	return w.Store.Put(ctx, table, it, c)
}

func TestSyncStoresTheInstance(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
		t.Cleanup(fake.Close)
		c, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
			dingtalk.WithHTTPClient(&http.Client{Transport: fake.Transport()}))
		if err != nil {
			t.Fatal(err)
		}
		clock := clocktest.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		st := &writes{Store: b.Open(t, clock.Now)}
		w, err := approvals.NewWriter(st, c.Process, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		org := fake.Org()
		id, err := c.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{
			OriginatorUserID: org.Users[0].UserID, ProcessCode: "PROC-TRIP", DeptID: -1,
			FormComponentValues: []dingtalk.FormComponentValue{{Name: "目的地", Value: "杭州"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if ch, err := w.Sync(ctx, id, "PROC-TRIP"); err != nil || ch != approvals.Created {
			t.Fatalf("Sync = %s, %v", ch, err)
		}
		a, err := approvals.Get(ctx, st, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.ProcessInstanceID != id || a.Status != "RUNNING" || a.OriginatorUserID != org.Users[0].UserID || a.ProcessCode != "PROC-TRIP" ||
			len(a.FormValues) != 1 || a.FormValues[0].Value != "杭州" || a.Tasks == nil || a.Hash == "" {
			t.Errorf("stored %+v", a)
		}
		st.n.Store(0)
		clock.Advance(time.Minute)
		if ch, err := w.Sync(ctx, id, ""); err != nil || ch != approvals.Unchanged || st.n.Load() != 0 {
			t.Errorf("unchanged Sync = %s, %v, %d writes", ch, err, st.n.Load())
		}
		if err := fake.FinishProcessInstance(id, "agree"); err != nil {
			t.Fatal(err)
		}
		if ch, err := w.Sync(ctx, id, ""); err != nil || ch != approvals.Updated {
			t.Fatalf("Sync after finish = %s, %v", ch, err)
		}
		if a, _ := approvals.Get(ctx, st, id); a.Status != "COMPLETED" || a.Result != "agree" || a.ProcessCode != "PROC-TRIP" {
			t.Errorf("after finish: %+v", a)
		}
		if _, err := approvals.Get(ctx, st, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(missing) = %v", err)
		}
	})
}

// heldAPI fetches through the real client, then holds the answer until
// released: a reply delayed on its way back.
type heldAPI struct {
	approvals.API
	fetched chan struct{}
	release chan struct{}
}

func (h heldAPI) GetInstance(ctx context.Context, id string) (*dingtalk.ProcessInstance, error) {
	p, err := h.API.GetInstance(ctx, id)
	h.fetched <- struct{}{}
	<-h.release
	return p, err
}

// TestOlderFetchNeverWins: a fetch that read the instance while it was
// running, and answers after a later fetch stored it finished, leaves the
// newer row alone.
func TestOlderFetchNeverWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	t.Cleanup(fake.Close)
	c, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
		dingtalk.WithHTTPClient(&http.Client{Transport: fake.Transport()}))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := memstore.New()
	clock := clocktest.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	id, err := c.Process.CreateInstance(ctx, &dingtalk.CreateProcessInstanceRequest{
		OriginatorUserID: fake.Org().Users[0].UserID, ProcessCode: "PROC-TRIP", DeptID: -1,
		FormComponentValues: []dingtalk.FormComponentValue{{Name: "目的地", Value: "杭州"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	held := heldAPI{API: c.Process, fetched: make(chan struct{}), release: make(chan struct{})}
	slowW, _ := approvals.NewWriter(st, held, clock.Now)
	fastW, _ := approvals.NewWriter(st, c.Process, clock.Now)
	slow := make(chan approvals.Change, 1)
	go func() {
		ch, err := slowW.Sync(ctx, id, "")
		if err != nil {
			t.Error(err)
		}
		slow <- ch
	}()
	<-held.fetched // it read RUNNING
	clock.Advance(time.Second)
	if err := fake.FinishProcessInstance(id, "refuse"); err != nil {
		t.Fatal(err)
	}
	if ch, err := fastW.Sync(ctx, id, ""); err != nil || ch != approvals.Created {
		t.Fatalf("fresh Sync = %s, %v", ch, err)
	}
	close(held.release)
	if ch := <-slow; ch != approvals.Stale {
		t.Errorf("the older fetch reported %s, want stale", ch)
	}
	if a, _ := approvals.Get(ctx, st, id); a.Status != "COMPLETED" || a.Result != "refuse" {
		t.Errorf("an older fetch overwrote the newer row: %+v", a)
	}
}
