package directory_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/dingfn/dingfn/shared/directory"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// orgSpec is the organisation most tests mirror: departments of a dozen
// people three levels deep, every fifth person in a second department.
var orgSpec = dingtalktest.OrgSpec{Users: 120, DeptSize: 12, Fanout: 3, MultiDeptEvery: 5, Seed: 7}

func TestWalkMirrorsTheOrganisation(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		org := e.fake.Org()
		rep := e.mustSync()
		e.wantMirrorsFake()

		users, depts := len(org.Users), len(org.Departments)
		if rep.UsersSeen != users || rep.DepartmentsSeen != depts {
			t.Errorf("seen %d users and %d departments, want %d and %d", rep.UsersSeen, rep.DepartmentsSeen, users, depts)
		}
		if rep.Created != users+depts || rep.Updated != 0 || rep.Deleted != 0 || rep.Unchanged != 0 {
			t.Errorf("first walk: created %d updated %d deleted %d unchanged %d, want %d/0/0/0", rep.Created, rep.Updated, rep.Deleted, rep.Unchanged, users+depts)
		}
		// One department/get and one listsubid per department, and one
		// user page per department (none has more than 100 members).
		for api, want := range map[string]int{directory.APIDeptGet: depts, directory.APIDeptSubIDs: depts, directory.APIUserList: depts} {
			if got := rep.APICallsByAPI[api]; got != want {
				t.Errorf("%s calls = %d, want %d", api, got, want)
			}
		}
		if got := e.fake.CallCount(directory.APIUserGet); got != 0 {
			t.Errorf("the walk called user/get %d times; listings carry everything", got)
		}
		st, err := directory.NewReader(e.st).Status(e.ctx)
		if err != nil || st.LastComplete == nil || st.Walk != nil {
			t.Fatalf("status after a complete walk = %+v, %v", st, err)
		}
		if st.LastComplete.Users != users || st.LastComplete.Departments != depts {
			t.Errorf("status counts %d users %d departments, want %d and %d", st.LastComplete.Users, st.LastComplete.Departments, users, depts)
		}

		// An unchanged organisation: nothing but the sync's own state is
		// written.
		rep = e.mustSync()
		if w := e.st.RecordWrites(); len(w) != 0 {
			t.Errorf("unchanged re-sync wrote records: %v", w)
		}
		if rep.Unchanged != users+depts || rep.Created+rep.Updated+rep.Deleted != 0 {
			t.Errorf("unchanged re-sync: %+v", rep)
		}
		if rep.StoreWrites != rep.StateWrites || rep.StateWrites != 1 {
			t.Errorf("unchanged re-sync: %d store writes, %d of them state; want only the status row", rep.StoreWrites, rep.StateWrites)
		}
		e.wantMirrorsFake()
	})
}

func TestResyncWritesOnlyWhatChanged(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		org := e.fake.Org()
		leafA, leafB := org.Departments[len(org.Departments)-1], org.Departments[len(org.Departments)-2]
		// Four different people in one department each, not leaders, and
		// not in the two leaf departments.
		var picked []dingtalktest.User
		for _, u := range org.Users {
			if len(u.DeptIDs) == 1 && len(u.LeaderIn) == 0 && u.DeptIDs[0] != leafA.ID && u.DeptIDs[0] != leafB.ID && len(picked) < 4 {
				picked = append(picked, u)
			}
		}
		renamed, moved, removed, doubled := picked[0], picked[1], picked[2], picked[3]

		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(e.fake.RenameUser(renamed.UserID, "改名"))
		must(e.fake.MoveUser(moved.UserID, leafA.ID))
		must(e.fake.RemoveUser(removed.UserID))
		must(e.fake.MoveUser(doubled.UserID, doubled.DeptIDs[0], leafB.ID))
		added, err := e.fake.AddUser(dingtalktest.User{UserID: "newcomer", Name: "新人", Mobile: "13900000001", DeptIDs: []int64{leafA.ID}})
		must(err)
		newDept, err := e.fake.AddDepartment(dingtalktest.Department{ParentID: 1, Name: "新部门", Order: 99})
		must(err)
		must(e.fake.RenameDepartment(leafB.ID, "重命名部"))
		// A leader change: the department's managers and its members'
		// leader flags move together.
		leaderDept := org.Departments[1]
		var members []string
		for _, u := range org.Users {
			if slices.Contains(u.DeptIDs, leaderDept.ID) && u.UserID != removed.UserID && u.UserID != moved.UserID {
				members = append(members, u.UserID)
			}
		}
		oldLeader, newLeader := leaderDept.ManagerUserIDs[0], members[len(members)-1]
		must(e.fake.SetDepartmentManagers(leaderDept.ID, newLeader))

		rep := e.mustSync()
		e.wantMirrorsFake()

		wantUsers := []string{renamed.UserID, moved.UserID, removed.UserID, doubled.UserID, added.UserID, oldLeader, newLeader}
		wantDepts := []string{directory.DeptKey(newDept.ID), directory.DeptKey(leafB.ID), directory.DeptKey(leaderDept.ID)}
		wantMembers := []string{directory.DeptKey(moved.DeptIDs[0]), directory.DeptKey(leafA.ID), directory.DeptKey(removed.DeptIDs[0]),
			directory.DeptKey(leafB.ID), directory.DeptKey(newDept.ID)}
		writes := e.st.RecordWrites()
		for table, want := range map[string][]string{directory.UsersTable: wantUsers, directory.DepartmentsTable: wantDepts, directory.MembersTable: wantMembers} {
			got := slices.Clone(writes[table])
			slices.Sort(got)
			got = slices.Compact(got)
			slices.Sort(want)
			want = slices.Compact(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s writes = %v, want %v", table, got, want)
			}
		}
		if got := writes[directory.UnionIDsTable]; len(got) != 2 { // the newcomer's, and the departed user's removed
			t.Errorf("unionid writes = %v, want the newcomer's and the departed user's", got)
		}
		if rep.Users.Created != 1 || rep.Users.Updated != 5 || rep.Users.Deleted != 1 {
			t.Errorf("users created/updated/deleted = %d/%d/%d, want 1/5/1", rep.Users.Created, rep.Users.Updated, rep.Users.Deleted)
		}
		if rep.Departments.Created != 1 || rep.Departments.Updated != 2 || rep.Departments.Deleted != 0 {
			t.Errorf("departments created/updated/deleted = %d/%d/%d, want 1/2/0", rep.Departments.Created, rep.Departments.Updated, rep.Departments.Deleted)
		}

		// The departed user is a tombstone: "who was this userid" still
		// answers, the unionid no longer logs anyone in.
		r := directory.NewReader(e.st)
		u, err := r.User(e.ctx, removed.UserID)
		if err != nil || u.LeftAt.IsZero() || u.Name != removed.Name {
			t.Errorf("departed user = %+v, %v; want a tombstone with left_at", u, err)
		}
		if _, err := r.UserByUnionID(e.ctx, removed.UnionID); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("departed user's unionid: err = %v, want directory.ErrNotFound", err)
		}

		// Removing a department (emptied first) removes it and its members row.
		for _, u := range e.fake.Org().Users {
			if slices.Contains(u.DeptIDs, newDept.ID) {
				t.Fatalf("new department has a member %s", u.UserID)
			}
		}
		must(e.fake.RemoveDepartment(newDept.ID))
		rep = e.mustSync()
		e.wantMirrorsFake()
		if rep.Departments.Deleted != 1 {
			t.Errorf("departments deleted = %d, want 1", rep.Departments.Deleted)
		}
		if _, err := r.Department(e.ctx, newDept.ID); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("removed department: err = %v, want directory.ErrNotFound", err)
		}
	})
}
