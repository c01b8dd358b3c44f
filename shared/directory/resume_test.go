package directory_test

import (
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// The deadline comes mid-walk (the clock jumps past it while a listing is
// in flight): the run saves its place, and the next completes the walk
// with the same mirror, listing no page twice.
func TestDeadlineMidWalkThenCompletion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.hook(func(api string, n int) {
			if api == directory.APIUserList && n == 4 {
				e.clock.Advance(2 * time.Hour)
			}
		})
		e.clock.Advance(time.Minute)
		e.st.Reset()
		rep, err := e.s.Run(e.ctx, directory.RunOptions{Deadline: e.clock.Now().Add(time.Hour)})
		if err != nil || !rep.OK || !rep.Partial || rep.Complete {
			t.Fatalf("first run = %+v, %v; want ok and partial", rep, err)
		}
		if rep.DepartmentsSeen != 4 {
			t.Errorf("departments seen before the deadline = %d, want 4", rep.DepartmentsSeen)
		}
		st, err := directory.NewReader(e.st).Status(e.ctx)
		if err != nil || st.Walk == nil || st.LastComplete != nil {
			t.Fatalf("status = %+v, %v; want a checkpoint and no complete walk", st, err)
		}

		rep = e.mustSync()
		if !rep.Resumed || rep.Ticks != 2 {
			t.Errorf("second run: resumed %v after %d ticks, want resumed after 2", rep.Resumed, rep.Ticks)
		}
		org := e.fake.Org()
		if rep.UsersSeen != len(org.Users) || rep.Created != len(org.Users)+len(org.Departments) {
			t.Errorf("walk totals: %d users seen, %d created; want %d and %d", rep.UsersSeen, rep.Created, len(org.Users), len(org.Users)+len(org.Departments))
		}
		e.wantMirrorsFake()
		if got := e.fake.CallCount(directory.APIUserList); got != len(org.Departments) {
			t.Errorf("user/list requests over both runs = %d, want %d (none repeated)", got, len(org.Departments))
		}
		if st, _ := directory.NewReader(e.st).Status(e.ctx); st.Walk != nil || st.LastComplete == nil || st.LastComplete.Ticks != 2 {
			t.Errorf("status after completion = %+v", st)
		}
	})
}

// A department with several pages of members resumes at the page where
// the deadline stopped it.
func TestDeadlineBetweenPagesResumesAtTheCursor(t *testing.T) {
	// 750 people in the root and two departments: three pages each.
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 750, DeptSize: 375, MultiDeptEvery: -1}))
	e.hook(func(api string, n int) {
		if api == directory.APIUserList && n == 2 {
			e.clock.Advance(2 * time.Hour)
		}
	})
	e.clock.Advance(time.Minute)
	rep, err := e.s.Run(e.ctx, directory.RunOptions{Deadline: e.clock.Now().Add(time.Hour)})
	if err != nil || !rep.Partial {
		t.Fatalf("first run = %+v, %v; want partial", rep, err)
	}
	st, err := directory.NewReader(e.st).Status(e.ctx)
	if err != nil || st.Walk == nil || st.Walk.Cursor != 200 || len(st.Walk.Members) != 200 {
		t.Fatalf("checkpoint = %+v, %v; want the root's third page next", st.Walk, err)
	}
	e.mustSync()
	e.wantMirrorsFake()
	if got := e.fake.CallCount(directory.APIUserList); got != 9 {
		t.Errorf("user/list requests = %d, want 9 (3 pages × 3 departments, none repeated)", got)
	}
}

// Between the runs of one walk the organisation changes; the walk still
// ends with the mirror equal to it, and a person removed after the walk
// listed them is kept until the next walk (never removed by mistake).
func TestChangesDuringAWalkSpanningTicks(t *testing.T) {
	e := newEnv(t, storetest.Bolt(), dingtalktest.WithGeneratedOrg(orgSpec))
	e.mustSync()
	e.hook(func(api string, n int) {
		if api == directory.APIUserList && n == 6 {
			e.clock.Advance(2 * time.Hour)
		}
	})
	e.clock.Advance(time.Minute)
	if rep, err := e.s.Run(e.ctx, directory.RunOptions{Deadline: e.clock.Now().Add(time.Hour)}); err != nil || !rep.Partial {
		t.Fatalf("first run = %+v, %v", rep, err)
	}
	org := e.fake.Org()
	last := org.Users[len(org.Users)-1]
	if err := e.fake.RenameUser(last.UserID, "中途改名"); err != nil {
		t.Fatal(err)
	}
	e.mustSync()
	e.wantMirrorsFake()
}
