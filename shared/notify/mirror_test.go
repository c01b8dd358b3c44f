package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// TestMirror: notify reads the directory mirror the sync wrote, on every
// store, and says when it was synced.
func TestMirror(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 60, DeptSize: 10})))
			w, err := directory.NewWriter(e.st, e.client(), directory.WithClock(e.clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			sy, err := directory.NewSyncer(w)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sy.Run(context.Background(), directory.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			h := e.handler(e.instance(notify.WithDirectory(notify.MirrorDirectory(directory.NewReader(e.st)))))
			u0 := e.fake.Org().Users[0]
			var u notify.UserAnswer
			res := call(t, h, "GET", "/v1/users/"+u0.UserID, nil, &u)
			if res.StatusCode != 200 || u.Source != notify.SourceMirror || u.Name != u0.Name {
				t.Fatalf("user: %d %+v", res.StatusCode, u)
			}
			if got := res.Header.Get(notify.MirrorSyncedAtHeader); got != e.clk.Now().UTC().Format(time.RFC3339) {
				t.Errorf("%s = %q, want the walk's end %s", notify.MirrorSyncedAtHeader, got, e.clk.Now().UTC().Format(time.RFC3339))
			}
			var p notify.MembersPage
			if res := call(t, h, "GET", "/v1/departments/1/users?recursive=true&limit=500", nil, &p); res.StatusCode != 200 || p.Total != 60 || p.Source != notify.SourceMirror {
				t.Errorf("recursive members: %d total %d source %s", res.StatusCode, p.Total, p.Source)
			}
			// Someone the mirror does not know yet comes from DingTalk.
			added, err := e.fake.AddUser(dingtalktest.User{UserID: "newcomer", Name: "新同事", DeptIDs: []int64{1}})
			if err != nil {
				t.Fatal(err)
			}
			var nu notify.UserAnswer
			if res := call(t, h, "GET", "/v1/users/"+added.UserID, nil, &nu); res.StatusCode != 200 || nu.Source != notify.SourceDingTalk {
				t.Errorf("newcomer: %d %+v", res.StatusCode, nu)
			}
		})
	}
}

// TestStep: the sync tick's notices step sends what waited for the
// budget, under the tick's schedule.
func TestStep(t *testing.T) {
	e := newEnv(t, memory, withFake(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 6000})))
	s := e.instance()
	a, err := s.SendNotice(context.Background(), "svc", textNotice("via the tick", userIDs(t, e.fake, 6000)...))
	if err != nil || a.Status != notify.StatusScheduled {
		t.Fatalf("send: %+v %v", a.Status, err)
	}
	r, err := schedule.New(e.st, []schedule.Step{e.instance().Step()}, schedule.WithClock(e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	rep, err := r.Tick(context.Background())
	if err != nil || !rep.OK || len(rep.Steps) != 1 || rep.Steps[0].Status != schedule.StatusDone {
		t.Fatalf("tick: %+v %v", rep, err)
	}
	if st, _ := s.Notice(context.Background(), a.ID, notify.StatusOptions{NoDingTalk: true}); st.Status != notify.StatusSent || st.Progress.Sent != 60 {
		t.Errorf("after the tick: %s, %d parts sent", st.Status, st.Progress.Sent)
	}
}
