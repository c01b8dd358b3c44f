package directory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

func TestFaultsTheClientRetriesDoNotStopTheWalk(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(orgSpec))
	e.fake.InjectFault(directory.APIDeptGet, dingtalktest.Fault{Kind: dingtalktest.FaultBusy, Times: 2})
	e.fake.InjectFault(directory.APIDeptSubIDs, dingtalktest.Fault{Kind: dingtalktest.FaultBadGateway, Times: 2})
	e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultDrop, Times: 2})
	rep := e.mustSync()
	e.wantMirrorsFake()
	if rep.RateLimitWaits != 0 {
		t.Errorf("rate-limit waits = %d, want 0", rep.RateLimitWaits)
	}
	// The client retried each fault; the walk itself made each call once.
	depts := len(e.fake.Org().Departments)
	if got := rep.APICallsByAPI[directory.APIUserList]; got != depts {
		t.Errorf("walk's user/list calls = %d, want %d (retries belong to the client)", got, depts)
	}
	if got := e.fake.CallCount(directory.APIUserList); got != depts+2 {
		t.Errorf("user/list requests = %d, want %d", got, depts+2)
	}
}

func TestRateLimitStormsBackOffAndContinue(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(orgSpec))
	// Eight 90018s in a row: the client gives up twice (1 + 3 retries
	// each), the walk waits and continues.
	e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited, Times: 8})
	e.fake.InjectFault(directory.APIDeptGet, dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited, Times: 5})
	rep := e.mustSync()
	e.wantMirrorsFake()
	if rep.RateLimitWaits != 3 {
		t.Errorf("rate-limit waits = %d, want 3", rep.RateLimitWaits)
	}
}

func TestRateLimitPastTheDeadlineEndsThePartOfTheWalk(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(orgSpec))
	e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultRateLimited})
	e.clock.Advance(time.Minute)
	// The walk's first pause (1 ms here) does not fit before the deadline.
	rep, err := e.s.Run(e.ctx, directory.RunOptions{Deadline: e.clock.Now().Add(time.Microsecond)})
	if err != nil || !rep.Partial || rep.Complete {
		t.Fatalf("run = %+v, %v; want partial without error", rep, err)
	}
	e.fake.ClearFaults()
	rep = e.mustSync()
	if !rep.Resumed {
		t.Errorf("second run did not resume: %+v", rep)
	}
	e.wantMirrorsFake()
}

func TestAFailedWalkDeletesNothingAndResumes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		org := e.fake.Org()
		gone := []string{org.Users[40].UserID, org.Users[41].UserID, org.Users[42].UserID}
		for _, id := range gone {
			if err := e.fake.RemoveUser(id); err != nil {
				t.Fatal(err)
			}
		}
		// After five departments, DingTalk fails every listing.
		e.hook(func(api string, n int) {
			if api == directory.APIUserList && n == 6 {
				e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultBadGateway})
			}
		})
		rep, err := e.sync(directory.RunOptions{})
		if err == nil || rep.OK || rep.Complete || !rep.Partial {
			t.Fatalf("run = %+v, %v; want a failed, partial walk", rep, err)
		}
		if rep.Deleted != 0 {
			t.Errorf("a failed walk deleted %d records", rep.Deleted)
		}
		r := directory.NewReader(e.st)
		for _, id := range gone {
			if u, err := r.User(e.ctx, id); err != nil || !u.LeftAt.IsZero() {
				t.Errorf("user %s after an incomplete walk = %+v, %v; want untouched", id, u, err)
			}
		}
		if st, err := r.Status(e.ctx); err != nil || st.Walk == nil {
			t.Fatalf("status = %+v, %v; want a checkpoint", st, err)
		}

		e.fake.ClearFaults()
		rep = e.mustSync()
		if !rep.Resumed || rep.Users.Deleted != len(gone) {
			t.Errorf("resumed run: %+v; want it to resume and remove %d users", rep, len(gone))
		}
		e.wantMirrorsFake()
	})
}

func TestEmptyListingsTripTheGuard(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		org := e.fake.Org()
		e.fake.InjectFault(directory.APIDeptSubIDs, dingtalktest.Fault{Kind: dingtalktest.FaultEmptyList})
		e.fake.InjectFault(directory.APIUserList, dingtalktest.Fault{Kind: dingtalktest.FaultEmptyList})

		rep, err := e.sync(directory.RunOptions{})
		var ge *directory.GuardError
		if !errors.Is(err, directory.ErrGuardTripped) || !errors.As(err, &ge) {
			t.Fatalf("err = %v, want the guard to trip", err)
		}
		users, depts := len(org.Users), len(org.Departments)-1 // the root is always seen
		if g := ge.Guard; !g.Tripped || g.Users != users || g.Departments != depts || g.Limit != 20 || g.Mirror != users+depts+1 {
			t.Errorf("guard = %+v, want tripped on %d users and %d departments with limit 20", g, users, depts)
		}
		if rep.OK || !rep.Complete || rep.Guard == nil || !rep.Guard.Tripped || rep.Deleted != 0 {
			t.Errorf("report = %+v", rep)
		}
		if w := e.st.RecordWrites(); len(w) != 1 || len(w[directory.MembersTable]) != 1 {
			// Only the root's members row, listed empty, changed.
			t.Errorf("record writes = %v, want only the root's members row", w)
		}
		if diffs := diffCount(t, e, org); diffs != 1 {
			t.Errorf("%d differences from the organisation, want only the root's members", diffs)
		}

		// Confirmed: the same walk with --allow-mass-delete removes them.
		rep, err = e.sync(directory.RunOptions{AllowMassDelete: true})
		if err != nil || rep.Users.Deleted != users || rep.Departments.Deleted != depts || !rep.Guard.Allowed {
			t.Fatalf("allowed run = %+v, %v", rep, err)
		}
	})
}

func TestDeleteLimit(t *testing.T) {
	tests := []struct {
		in     string
		mirror int
		want   int
		bad    bool
	}{
		{"10%", 1000, 100, false},
		{"10%", 50, 20, false}, // never below 20
		{"2.5%", 10000, 250, false},
		{"500", 10, 500, false},
		{"5", 1000, 20, false},
		{"0", 1000, 20, false},
		{"100%", 40, 40, false},
		{"", 0, 0, true},
		{"-1", 0, 0, true},
		{"0%", 0, 0, true},
		{"101%", 0, 0, true},
		{"ten", 0, 0, true},
		{"10 %", 1000, 100, false},
	}
	for _, tt := range tests {
		l, err := directory.ParseDeleteLimit(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseDeleteLimit(%q) = %+v, want an error", tt.in, l)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDeleteLimit(%q): %v", tt.in, err)
			continue
		}
		if got := l.Max(tt.mirror); got != tt.want {
			t.Errorf("%q.Max(%d) = %d, want %d", tt.in, tt.mirror, got, tt.want)
		}
		if back, err := directory.ParseDeleteLimit(l.String()); err != nil || back != l {
			t.Errorf("%q round trip: %q → %+v, %v", tt.in, l.String(), back, err)
		}
	}
}

// An app whose contact scope covers part of the organisation mirrors that
// part: departments outside it (50004) are skipped, the ones below them
// still walked (listsubid ignores the scope).
func TestContactScopeMirrorsWhatTheAppMaySee(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithDemoOrg())
	e.fake.SetContactScope(2) // 研发中心 and its two groups
	rep := e.mustSync()
	if rep.OutOfScope != 4 || rep.DepartmentsSeen != 3 || rep.UsersSeen != 5 {
		t.Errorf("report: %d out of scope, %d departments, %d users; want 4, 3, 5", rep.OutOfScope, rep.DepartmentsSeen, rep.UsersSeen)
	}
	r := directory.NewReader(e.st)
	for _, id := range []int64{2, 3, 4} {
		if _, err := r.Department(e.ctx, id); err != nil {
			t.Errorf("department %d: %v", id, err)
		}
	}
	for _, id := range []int64{1, 5, 6, 7} {
		if _, err := r.Department(e.ctx, id); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("department %d outside the scope: %v, want not found", id, err)
		}
	}
	if m, err := r.Members(e.ctx, 2, true); err != nil || len(m) != 5 {
		t.Errorf("members below 研发中心 = %v, %v", m, err)
	}
	if u, err := r.User(e.ctx, "chenjing"); err != nil || len(u.DeptIDs) != 2 {
		t.Errorf("chenjing = %+v, %v", u, err)
	}
}

// A scope narrowed after the mirror was made looks like a mass departure:
// the guard keeps the mirror.
func TestNarrowedContactScopeTripsTheGuard(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithGeneratedOrg(orgSpec))
	e.mustSync()
	org := e.fake.Org()
	e.fake.SetContactScope(org.Departments[len(org.Departments)-1].ID)
	_, err := e.sync(directory.RunOptions{})
	if !errors.Is(err, directory.ErrGuardTripped) {
		t.Fatalf("err = %v, want the guard to trip", err)
	}
	if w := e.st.RecordWrites(); len(w[directory.UsersTable]) != 0 || len(w[directory.DepartmentsTable]) != 0 {
		t.Errorf("a tripped walk wrote %v", w)
	}
	e.fake.SetContactScope()
	e.mustSync()
	e.wantMirrorsFake()
}
