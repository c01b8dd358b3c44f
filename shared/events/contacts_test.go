package events_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/clocktest"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/directory/directorytest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// TestContactStormWithConcurrentSync: the fake DingTalk's organisation
// changes 150 times (users join, are renamed, move, leave; departments
// appear, are renamed and removed) while full directory walks run one
// after the other at the same time; every change pushes its contact event through the real
// callback into the event log, whose built-in handler writes the mirror
// through the directory's guarded path. Once the events are done, the
// mirror equals the fake's organisation exactly, on every store backend.
func TestContactStormWithConcurrentSync(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		cb := &lateHandler{}
		// The fake's clock moves a millisecond per change, so that no two
		// events about one user share a timestamp (they would be one event
		// to a log that derives ids from it, see EventID).
		fclock := clocktest.New(time.Now())
		fake := dingtalktest.NewServer(
			dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 120}),
			dingtalktest.WithClock(fclock.Now),
			dingtalktest.WithAutoEvents("https://callback.example/callback"),
			dingtalktest.WithPushClient(&http.Client{Transport: dingtalktest.HandlerTransport(cb)}),
		)
		t.Cleanup(fake.Close)
		client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL),
			dingtalk.WithHTTPClient(&http.Client{Transport: fake.Transport()}), dingtalk.WithRateLimit(rate.Inf, 0))
		if err != nil {
			t.Fatal(err)
		}
		st := b.Open(t, time.Now)
		w, err := directory.NewWriter(st, client)
		if err != nil {
			t.Fatal(err)
		}
		walker, err := directory.NewSyncer(w, directory.WithInterval(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := walker.Run(ctx, directory.RunOptions{}); err != nil {
			t.Fatalf("first walk: %v", err)
		}
		mux := events.NewMux()
		events.RegisterContacts(mux, w)
		svc, err := events.New(st, mux)
		if err != nil {
			t.Fatal(err)
		}
		token, key := fake.EventSubscription()
		crypto, _ := dingcrypto.New(token, key, fake.AppKey())
		cb.set(newCallback(t, crypto, svc, callback.WithLogger(slogDiscard())))

		org := fake.Org()
		var leafs []int64 // departments without children, for new users
		parents := map[int64]bool{}
		for _, d := range org.Departments {
			parents[d.ParentID] = true
		}
		for _, d := range org.Departments {
			if !parents[d.ID] && d.ID != 1 {
				leafs = append(leafs, d.ID)
			}
		}
		// One walk at a time, as the sync tick's lease ensures: a second
		// starts when the first ends, both during the changes.
		var walks sync.WaitGroup
		walks.Go(func() {
			for range 2 {
				if _, err := walker.Run(ctx, directory.RunOptions{}); err != nil {
					t.Errorf("concurrent walk: %v", err)
				}
			}
		})
		var added []string
		var newDepts []int64
		for i := range 150 {
			fclock.Advance(time.Millisecond)
			u := org.Users[i%len(org.Users)].UserID
			var err error
			switch i % 6 {
			case 0:
				var nu dingtalktest.User
				nu, err = fake.AddUser(dingtalktest.User{Name: fmt.Sprintf("新人%d", i), Mobile: fmt.Sprintf("139%08d", i), DeptIDs: []int64{leafs[i%len(leafs)]}})
				added = append(added, nu.UserID)
			case 1:
				err = fake.RenameUser(u, fmt.Sprintf("改名%d", i))
			case 2:
				err = fake.MoveUser(u, leafs[(i/6)%len(leafs)], leafs[(i/6+1)%len(leafs)])
			case 3:
				if len(added) > 0 {
					err = fake.RemoveUser(added[0])
					added = added[1:]
				}
			case 4:
				var d dingtalktest.Department
				d, err = fake.AddDepartment(dingtalktest.Department{Name: fmt.Sprintf("新部门%d", i), ParentID: 1})
				newDepts = append(newDepts, d.ID)
			case 5:
				if len(newDepts) > 1 {
					err = fake.RemoveDepartment(newDepts[0])
					newDepts = newDepts[1:]
				} else {
					err = fake.RenameDepartment(leafs[i%len(leafs)], fmt.Sprintf("部门%d", i))
				}
			}
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
		}
		walks.Wait()
		if errs, err := fake.FlushEvents(ctx); err != nil || len(errs) > 0 {
			t.Fatalf("pushing the events: %v %v", err, errs)
		}
		for round := 0; ; round++ {
			if _, err := svc.Drain(ctx, time.Now().Add(events.DefaultGrace+time.Hour), time.Time{}); err != nil {
				t.Fatal(err)
			}
			open := 0
			for e, err := range svc.List(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				if !e.Status.Final() {
					open++
				}
			}
			if open == 0 {
				break
			}
			if round > 10 {
				t.Fatalf("%d events unfinished", open)
			}
		}
		dead := 0
		for e, err := range svc.List(ctx, events.StatusDead) {
			if err == nil {
				dead++
				t.Errorf("dead event %s %s: %s", e.ID, e.Type, e.LastError)
			}
		}
		diff, err := directorytest.Diff(ctx, st, fake.Org())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diff {
			t.Error(d)
		}
	})
}
