package directory_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// storedRow is one row as a full scan returns it.
type storedRow struct {
	Value   string
	Version int64
	Expires time.Time
}

// snapshot scans every table the store was ever asked about (every call
// goes through e.st, which records them) and the mirror's own.
func (e *env) snapshot() map[string]map[string]storedRow {
	e.t.Helper()
	tables := e.st.Tables()
	for _, t := range []string{directory.UsersTable, directory.DepartmentsTable, directory.MembersTable, directory.UnionIDsTable, directory.StateTable} {
		tables[t] = true
	}
	out := map[string]map[string]storedRow{}
	for table := range tables {
		rows := map[string]storedRow{}
		for it, err := range store.All(e.ctx, e.st.Store, table, store.Range{}) {
			if err != nil {
				e.t.Fatalf("scan %s: %v", table, err)
			}
			rows[it.Key] = storedRow{Value: string(it.Value), Version: it.Version, Expires: it.ExpiresAt}
		}
		out[table] = rows
	}
	return out
}

// wantUntouched fails unless the store holds exactly before, row for row
// (values, versions, expiry), and nothing was written since the last reset.
func (e *env) wantUntouched(before map[string]map[string]storedRow) {
	e.t.Helper()
	writes := e.st.Writes()
	if len(writes) != 0 {
		e.t.Errorf("the dry run wrote %v", writes)
	}
	after := e.snapshot()
	for table := range after {
		if _, ok := before[table]; !ok {
			before[table] = map[string]storedRow{}
		}
	}
	for table, rows := range before {
		if !maps.Equal(rows, after[table]) {
			e.t.Errorf("table %s changed under a dry run: %d rows before, %d after", table, len(rows), len(after[table]))
		}
	}
}

// diff runs a dry run on the env's clock, a minute after the last run.
func (e *env) diff(opts directory.DiffOptions) (*directory.Plan, error) {
	e.clock.Advance(time.Minute)
	e.st.Reset()
	return e.s.Diff(e.ctx, opts)
}

// changesOf renders a plan's changes as "kind id change [fields]".
func changesOf(p *directory.Plan) []string {
	out := make([]string, len(p.Changes))
	for i, c := range p.Changes {
		out[i] = fmt.Sprintf("%s %s %s %v", c.Kind, c.ID, c.Change, c.Fields)
	}
	return out
}

// A dry run plans what the next walk does — the same records, fields,
// counts, rows and DingTalk calls — and leaves the store as it was.
func TestDiffPlansWhatTheWalkDoes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		org := e.fake.Org()

		// An empty mirror: everything would be created.
		before := e.snapshot()
		plan, err := e.diff(directory.DiffOptions{})
		if err != nil || !plan.OK || !plan.Complete || !plan.DryRun {
			t.Fatalf("dry run of an empty mirror = %+v, %v", plan.Report, err)
		}
		if len(plan.Changes) != len(org.Users)+len(org.Departments) || plan.Created != len(plan.Changes) {
			t.Errorf("empty mirror: %d changes, %d created; want %d", len(plan.Changes), plan.Created, len(org.Users)+len(org.Departments))
		}
		for _, c := range plan.Changes {
			if c.Change != directory.Created {
				t.Fatalf("empty mirror: %+v", c)
			}
		}
		if plan.StoreWrites != 0 || plan.StateWrites != 0 {
			t.Errorf("dry run reports %d store writes", plan.StoreWrites)
		}
		e.wantUntouched(before)
		first := e.mustSync()
		if plan.WouldWrite != first.StoreWrites-first.StateWrites {
			t.Errorf("planned %d row writes, the walk made %d", plan.WouldWrite, first.StoreWrites-first.StateWrites)
		}

		// An unchanged organisation: nothing to do.
		before = e.snapshot()
		if plan, err = e.diff(directory.DiffOptions{}); err != nil || len(plan.Changes) != 0 || plan.WouldWrite != 0 {
			t.Fatalf("unchanged organisation: %v, %v, %d writes", changesOf(plan), err, plan.WouldWrite)
		}
		e.wantUntouched(before)

		// Change the organisation: add, move, rename, remove, a second
		// department, a new department, a leader change.
		leafA, leafB := org.Departments[len(org.Departments)-1], org.Departments[len(org.Departments)-2]
		leaderDept := org.Departments[1]
		var picked []dingtalktest.User
		for _, u := range org.Users {
			if len(u.DeptIDs) == 1 && len(u.LeaderIn) == 0 && u.DeptIDs[0] != leafA.ID && u.DeptIDs[0] != leafB.ID && u.DeptIDs[0] != leaderDept.ID && len(picked) < 4 {
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
		added, err := e.fake.AddUser(dingtalktest.User{UserID: "newcomer", Name: "新人", DeptIDs: []int64{leafA.ID}})
		must(err)
		newDept, err := e.fake.AddDepartment(dingtalktest.Department{ParentID: 1, Name: "新部门", Order: 99})
		must(err)
		must(e.fake.RenameDepartment(leafB.ID, "重命名部"))
		var members []string
		for _, u := range org.Users {
			if slices.Contains(u.DeptIDs, leaderDept.ID) {
				members = append(members, u.UserID)
			}
		}
		oldLeader, newLeader := leaderDept.ManagerUserIDs[0], members[len(members)-1]
		if oldLeader == newLeader {
			newLeader = members[0]
		}
		must(e.fake.SetDepartmentManagers(leaderDept.ID, newLeader))

		before = e.snapshot()
		plan, err = e.diff(directory.DiffOptions{})
		if err != nil || !plan.Complete {
			t.Fatalf("dry run = %+v, %v", plan.Report, err)
		}
		e.wantUntouched(before)

		dept := func(id int64) string { return directory.DeptKey(id) }
		want := []directory.RecordChange{
			{Kind: directory.KindDepartment, ID: dept(newDept.ID), Change: directory.Created},
			{Kind: directory.KindDepartment, ID: dept(leaderDept.ID), Change: directory.Updated, Fields: []string{"manager_userids"}},
			{Kind: directory.KindDepartment, ID: dept(leafB.ID), Change: directory.Updated, Fields: []string{"name"}},
			{Kind: directory.KindUser, ID: added.UserID, Change: directory.Created},
			{Kind: directory.KindUser, ID: renamed.UserID, Change: directory.Updated, Fields: []string{"name"}},
			{Kind: directory.KindUser, ID: moved.UserID, Change: directory.Updated, Fields: []string{"dept_ids", "dept_orders"}},
			{Kind: directory.KindUser, ID: doubled.UserID, Change: directory.Updated, Fields: []string{"dept_ids", "dept_orders"}},
			{Kind: directory.KindUser, ID: oldLeader, Change: directory.Updated, Fields: []string{"leader_in"}},
			{Kind: directory.KindUser, ID: newLeader, Change: directory.Updated, Fields: []string{"leader_in"}},
			{Kind: directory.KindUser, ID: removed.UserID, Change: directory.Deleted},
		}
		slices.SortFunc(want[1:3], func(a, b directory.RecordChange) int { return cmpDept(a.ID, b.ID) })
		slices.SortFunc(want[4:9], func(a, b directory.RecordChange) int { return cmpString(a.ID, b.ID) })
		wantText := changesOf(&directory.Plan{Changes: want})
		if got := changesOf(plan); !slices.Equal(got, wantText) {
			t.Errorf("plan:\n  %v\nwant:\n  %v", got, wantText)
		}

		// The walk then does what the plan said.
		rep := e.mustSync()
		e.wantMirrorsFake()
		if plan.Users != rep.Users || plan.Departments != rep.Departments {
			t.Errorf("planned users %+v departments %+v; the walk: %+v %+v", plan.Users, plan.Departments, rep.Users, rep.Departments)
		}
		if plan.WouldWrite != rep.StoreWrites-rep.StateWrites {
			t.Errorf("planned %d row writes, the walk made %d", plan.WouldWrite, rep.StoreWrites-rep.StateWrites)
		}
		if !maps.Equal(plan.APICallsByAPI, rep.APICallsByAPI) {
			t.Errorf("dry run called %v, the walk %v", plan.APICallsByAPI, rep.APICallsByAPI)
		}
		writes := e.st.RecordWrites()
		for kind, table := range map[directory.Kind]string{directory.KindUser: directory.UsersTable, directory.KindDepartment: directory.DepartmentsTable} {
			var planned []string
			for _, c := range plan.Changes {
				if c.Kind == kind {
					planned = append(planned, c.ID)
				}
			}
			got := slices.Compact(slices.Sorted(slices.Values(writes[table])))
			if slices.Sort(planned); !slices.Equal(got, planned) {
				t.Errorf("%s: the walk wrote %v, the plan listed %v", table, got, planned)
			}
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpDept(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return cmpString(a, b)
}

// A walk the deletion guard would stop: the dry run succeeds, lists every
// record it would remove, gives the verdict, and counts no deletion;
// previewing --allow-mass-delete counts them.
func TestDiffDeletionGuard(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		var gone []string
		for _, u := range e.fake.Org().Users[:30] {
			if err := e.fake.RemoveUser(u.UserID); err != nil {
				t.Fatal(err)
			}
			gone = append(gone, u.UserID)
		}
		slices.Sort(gone)

		before := e.snapshot()
		plan, err := e.diff(directory.DiffOptions{})
		if err != nil || !plan.OK || !plan.Complete {
			t.Fatalf("dry run = %+v, %v; a tripped guard is the plan's verdict, not an error", plan.Report, err)
		}
		e.wantUntouched(before)
		if g := plan.Guard; g == nil || !g.Tripped || g.Users != 30 || g.Allowed {
			t.Fatalf("guard = %+v, want tripped over 30 users", plan.Guard)
		}
		if plan.Deleted != 0 {
			t.Errorf("a tripped guard removes nothing, the plan counts %d deletions", plan.Deleted)
		}
		var listed []string
		for _, c := range plan.Changes {
			if c.Change == directory.Deleted && c.Kind == directory.KindUser {
				listed = append(listed, c.ID)
			}
		}
		if !slices.Equal(listed, gone) {
			t.Errorf("plan lists deletions %v, want %v", listed, gone)
		}

		plan, err = e.diff(directory.DiffOptions{AllowMassDelete: true})
		if err != nil || plan.Guard == nil || !plan.Guard.Allowed || plan.Guard.Tripped || plan.Users.Deleted != 30 {
			t.Fatalf("with AllowMassDelete: %+v (guard %+v), %v", plan.Report, plan.Guard, err)
		}
		e.wantUntouched(before)

		// The verdict is the walk's.
		if _, err := e.sync(directory.RunOptions{}); !errors.Is(err, directory.ErrGuardTripped) {
			t.Errorf("the walk after the dry run: %v, want the guard tripped", err)
		}
	})
}

// A dry run that ctx ends says so, returns what it found until then (no
// deletions: it did not see everything) and leaves no checkpoint.
func TestDiffStoppedByItsContext(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		if err := e.fake.RenameUser(e.fake.Org().Users[0].UserID, "改名"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		e.hook(func(api string, n int) {
			if api == directory.APIUserList && n == 3 {
				cancel()
			}
		})
		before := e.snapshot()
		e.st.Reset()
		plan, err := e.s.Diff(ctx, directory.DiffOptions{})
		if !errors.Is(err, context.Canceled) || plan == nil || plan.Complete || plan.OK || plan.Guard != nil {
			t.Fatalf("cancelled dry run = %+v, %v; want incomplete with context.Canceled", plan, err)
		}
		if plan.DepartmentsSeen >= len(e.fake.Org().Departments) {
			t.Errorf("saw %d departments before the cancellation", plan.DepartmentsSeen)
		}
		for _, c := range plan.Changes {
			if c.Change == directory.Deleted {
				t.Errorf("an incomplete dry run lists a deletion: %+v", c)
			}
		}
		e.wantUntouched(before)
	})
}

// An unfinished walk's checkpoint and seen-set are left as they were: the
// dry run walks from the root on its own, and the walk then resumes.
func TestDiffLeavesAnUnfinishedWalkAlone(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b, dingtalktest.WithGeneratedOrg(orgSpec))
		e.mustSync()
		stop := 0
		e.hook(func(api string, n int) {
			if api == directory.APIUserList && n == stop {
				e.clock.Advance(2 * time.Hour)
			}
		})
		stop = 5
		e.clock.Advance(time.Minute)
		rep, err := e.s.Run(e.ctx, directory.RunOptions{Deadline: e.clock.Now().Add(time.Hour)})
		if err != nil || !rep.Partial {
			t.Fatalf("first run = %+v, %v; want partial", rep, err)
		}
		stop = -1
		before := e.snapshot()
		plan, err := e.diff(directory.DiffOptions{})
		if err != nil || !plan.Complete || plan.Resumed || plan.DepartmentsSeen != len(e.fake.Org().Departments) {
			t.Fatalf("dry run during a walk = %+v, %v; want a whole walk of its own", plan.Report, err)
		}
		e.wantUntouched(before)
		if rep := e.mustSync(); !rep.Resumed {
			t.Errorf("the walk did not resume after the dry run: %+v", rep)
		}
	})
}

func TestChangedFields(t *testing.T) {
	for _, tc := range []struct {
		name      string
		old, next string
		want      []string
	}{
		{"same", `{"name":"a","hash":"1"}`, `{"name":"a","hash":"2"}`, nil},
		{"bookkeeping only", `{"name":"a","changed_at":"x","left_at":"y"}`, `{"name":"a","changed_at":"z"}`, nil},
		{"raw follows the fields", `{"name":"a","raw":{"name":"a"}}`, `{"name":"b","raw":{"name":"b"}}`, []string{"name"}},
		{"raw alone", `{"name":"a","raw":{"x":1}}`, `{"name":"a","raw":{"x":2}}`, []string{"raw"}},
		{"added and dropped", `{"title":"t","dept_ids":[1]}`, `{"dept_ids":[1, 2],"mobile":"1"}`, []string{"dept_ids", "mobile", "title"}},
		{"whitespace is not a change", `{"dept_ids":[1,2]}`, `{"dept_ids":[1, 2]}`, nil},
		{"a broken row", `not json`, `{"name":"a"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := directory.ChangedFields([]byte(tc.old), []byte(tc.next)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
