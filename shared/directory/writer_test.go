package directory_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// Contact events re-fetch single records and write them through the
// guarded path; after a storm of changes handled that way the mirror
// equals the organisation without a walk.
func TestSyncUserAndDepartmentFollowChanges(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		org := e.fake.Org()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		leaf := org.Departments[len(org.Departments)-1]
		renamed, moved, removed, doubled := org.Users[13], org.Users[14], org.Users[15], org.Users[16]
		must(e.fake.RenameUser(renamed.UserID, "改名"))
		must(e.fake.MoveUser(moved.UserID, leaf.ID))
		must(e.fake.RemoveUser(removed.UserID))
		must(e.fake.MoveUser(doubled.UserID, doubled.DeptIDs[0], leaf.ID))
		added, err := e.fake.AddUser(dingtalktest.User{Name: "新人", Mobile: "13900000002", DeptIDs: []int64{leaf.ID}})
		must(err)
		dept, err := e.fake.AddDepartment(dingtalktest.Department{ParentID: leaf.ID, Name: "新组"})
		must(err)
		must(e.fake.RenameDepartment(org.Departments[2].ID, "改名部"))
		empty, err := e.fake.AddDepartment(dingtalktest.Department{ParentID: 1, Name: "临时"})
		must(err)
		e.clock.Advance(1)

		w := e.w
		wantChange := func(what string, got directory.Change, err error, want directory.Change) {
			t.Helper()
			if err != nil || got != want {
				t.Errorf("%s = %q, %v; want %q", what, got, err, want)
			}
		}
		for _, id := range []string{renamed.UserID, moved.UserID, doubled.UserID} {
			c, err := w.SyncUser(e.ctx, id)
			wantChange("SyncUser "+id, c, err, directory.Updated)
		}
		c, err := w.SyncUser(e.ctx, added.UserID)
		wantChange("SyncUser new", c, err, directory.Created)
		c, err = w.SyncUser(e.ctx, removed.UserID)
		wantChange("SyncUser removed", c, err, directory.Deleted)
		c, err = w.SyncUser(e.ctx, removed.UserID)
		wantChange("SyncUser removed again", c, err, directory.Absent)
		c, err = w.SyncUser(e.ctx, "never-existed")
		wantChange("SyncUser unknown", c, err, directory.Absent)
		c, err = w.SyncDepartment(e.ctx, dept.ID)
		wantChange("SyncDepartment new", c, err, directory.Created)
		c, err = w.SyncDepartment(e.ctx, org.Departments[2].ID)
		wantChange("SyncDepartment renamed", c, err, directory.Updated)
		c, err = w.SyncDepartment(e.ctx, empty.ID)
		wantChange("SyncDepartment added", c, err, directory.Created)
		must(e.fake.RemoveDepartment(empty.ID))
		c, err = w.SyncDepartment(e.ctx, empty.ID)
		wantChange("SyncDepartment removed", c, err, directory.Deleted)
		e.wantMirrorsFake()

		// A contact event and a walk agree on what a user looks like: the
		// walk finds nothing to write, and re-fetching an unchanged user
		// writes nothing.
		rep := e.mustSync()
		if w := e.st.RecordWrites(); len(w) != 0 {
			t.Errorf("walk after the events wrote %v", w)
		}
		if rep.Users.Unchanged != rep.Users.Seen {
			t.Errorf("walk after the events: %+v", rep.Users)
		}
		e.st.Reset()
		for _, u := range e.fake.Org().Users[:20] {
			c, err := w.SyncUser(e.ctx, u.UserID)
			wantChange("SyncUser unchanged "+u.UserID, c, err, directory.Unchanged)
		}
		if w := e.st.RecordWrites(); len(w) != 0 {
			t.Errorf("re-fetching unchanged users wrote %v", w)
		}
	})
}

func TestSyncUserRejectsBadInput(t *testing.T) {
	e := newEnv(t, storetest.Memory())
	if _, err := e.w.SyncUser(e.ctx, ""); err == nil {
		t.Error("SyncUser(\"\") succeeded")
	}
	if _, err := e.w.SyncDepartment(e.ctx, 0); err == nil {
		t.Error("SyncDepartment(0) succeeded")
	}
	// A DingTalk failure is an error, never a deletion.
	e.mustSync()
	id := e.fake.Org().Users[3].UserID
	e.fake.InjectFault(directory.APIUserGet, dingtalktest.Fault{Kind: dingtalktest.FaultError, Errcode: 50004, Message: "部门不在权限范围内"})
	if c, err := e.w.SyncUser(e.ctx, id); err == nil || c != "" {
		t.Errorf("SyncUser on an out-of-scope answer = %q, %v; want an error", c, err)
	}
	if u, err := directory.NewReader(e.st).User(e.ctx, id); err != nil || !u.LeftAt.IsZero() {
		t.Errorf("user after a failed SyncUser = %+v, %v", u, err)
	}
}

// A contact event writes a user while a walk runs: the walk's conditional
// write finds the newer row and keeps it.
func TestWalkKeepsARowAnEventWroteMeanwhile(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		org := e.fake.Org()
		target := org.Users[len(org.Users)-1] // listed late in the walk
		var writer *directory.Writer
		e.hook(func(api string, n int) {
			if api == directory.APIUserList && n == 1 {
				// After the walk read the mirror, before it lists the user.
				if err := e.fake.RenameUser(target.UserID, "事件改名"); err != nil {
					t.Error(err)
				}
				if c, err := writer.SyncUser(e.ctx, target.UserID); err != nil || c != directory.Updated {
					t.Errorf("event SyncUser = %q, %v", c, err)
				}
			}
		})
		writer = e.w
		rep := e.mustSync()
		if rep.Conflicts != 1 {
			t.Errorf("conflicts = %d, want 1", rep.Conflicts)
		}
		e.wantMirrorsFake()
		u, _ := directory.NewReader(e.st).User(e.ctx, target.UserID)
		if u.Name != "事件改名" {
			t.Errorf("name = %q, want the event's", u.Name)
		}
	})
}

func TestReader(t *testing.T) {
	e := newEnv(t, storetest.Memory(), dingtalktest.WithDemoOrg())
	e.mustSync()
	r := directory.NewReader(e.st)
	ctx := e.ctx
	org := e.fake.Org()

	u, err := r.User(ctx, "chenjing")
	if err != nil || u.Name != "陈静" || !slices.Equal(u.DeptIDs, []int64{3, 4}) {
		t.Errorf("User(chenjing) = %+v, %v", u, err)
	}
	var union string
	for _, x := range org.Users {
		if x.UserID == "lisi" {
			union = x.UnionID
		}
	}
	if u, err := r.UserByUnionID(ctx, union); err != nil || u.UserID != "lisi" || !slices.Equal(u.LeaderIn, []int64{2}) {
		t.Errorf("UserByUnionID = %+v, %v", u, err)
	}
	if _, err := r.User(ctx, "nobody"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("User(nobody) err = %v", err)
	}
	if _, err := r.UserByUnionID(ctx, "nobody"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("UserByUnionID(nobody) err = %v", err)
	}
	d, err := r.Department(ctx, 3)
	if err != nil || d.Name != "后端组" || d.ParentID != 2 || !slices.Equal(d.ManagerUserIDs, []string{"wangwu"}) {
		t.Errorf("Department(3) = %+v, %v", d, err)
	}
	kids, err := r.Children(ctx, 1)
	var names []string
	for _, k := range kids {
		names = append(names, k.Name)
	}
	if err != nil || !slices.Equal(names, []string{"研发中心", "市场部", "财务部", "人力资源部"}) {
		t.Errorf("Children(1) = %v, %v", names, err)
	}
	direct, err := r.Members(ctx, 2, false)
	if err != nil || !slices.Equal(direct, []string{"lisi"}) {
		t.Errorf("Members(2) = %v, %v", direct, err)
	}
	all, err := r.Members(ctx, 2, true)
	if err != nil || !slices.Equal(all, []string{"chenjing", "lisi", "wangwu", "zhaoliu", "zhengshi"}) {
		t.Errorf("Members(2, recursive) = %v, %v", all, err)
	}
	if _, err := r.Members(ctx, 99, true); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Members(99) err = %v", err)
	}
	n := 0
	for u, err := range r.Users(ctx) {
		if err != nil || u.UserID == "" {
			t.Fatalf("Users: %+v, %v", u, err)
		}
		n++
	}
	if n != len(org.Users) {
		t.Errorf("Users yielded %d, want %d", n, len(org.Users))
	}
	st, err := r.Status(ctx)
	if err != nil || st.LastComplete == nil || st.LastComplete.Users != len(org.Users) || st.LastComplete.Departments != len(org.Departments) {
		t.Errorf("Status = %+v, %v", st, err)
	}
}
