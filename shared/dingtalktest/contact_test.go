package dingtalktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
)

func loadTestOrg(t *testing.T) *Org {
	t.Helper()
	o, err := LoadOrgFile("testdata/org.json")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestLoadOrgRejectsUnknownFields(t *testing.T) {
	t.Parallel()
	if _, err := LoadOrgFile("testdata/org.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrg(stringsReader(`{"departments":[],"users":[],"extra":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
	child := `{"departments":[{"dept_id":3,"parent_id":2,"name":"子"},{"dept_id":2,"parent_id":1,"name":"父"}],"users":[]}`
	o, err := LoadOrg(stringsReader(child))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(WithOrg(o))
	defer s.Close()
	if d, ok := s.Department(3); !ok || d.ParentID != 2 {
		t.Fatal("child listed before its parent was not loaded")
	}
	orphan, _ := LoadOrg(stringsReader(`{"departments":[{"dept_id":3,"parent_id":2,"name":"孤"}],"users":[]}`))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("an orphan department was accepted")
			}
		}()
		NewServer(WithOrg(orphan)).Close()
	}()
}

func TestDepartmentReads(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()

	r := oapiJSON(t, s, "topapi/v2/department/listsub", tok, map[string]any{})
	wantErrcode(t, r, 0)
	subs := r.get("result").([]any)
	if len(subs) != 2 || subs[0].(map[string]any)["name"] != "销售部" {
		t.Fatalf("listsub of root (default) = %s, want 销售部 then 研发部 (by order)", r.raw)
	}
	// Form bodies are accepted too.
	r = oapiForm(t, s, "topapi/v2/department/listsubid", tok, url.Values{"dept_id": {"10"}})
	wantErrcode(t, r, 0)
	if got := r.get("result", "dept_id_list").([]any); len(got) != 1 || got[0].(float64) != 11 {
		t.Fatalf("listsubid(10) = %s", r.raw)
	}
	r = oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": "10"})
	wantErrcode(t, r, 0)
	if r.get("result", "member_count").(float64) != 3 || r.get("result", "owning_member_count").(float64) != 1 {
		t.Fatalf("department/get(10) counts: %s", r.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 999}), 60003)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/department/listsubid", tok, map[string]any{}), 40035)
}

func TestUserReadsAndPaging(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithGeneratedOrg(OrgSpec{Users: 1000}))
	tok := s.AccessToken()
	r := oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1})
	wantErrcode(t, r, 0)
	root := r.get("result", "userid_list").([]any)
	if len(root) == 0 {
		t.Fatal("root has no direct members")
	}
	// Page the root with size 7 and compare to listid.
	for _, path := range []string{"topapi/v2/user/list", "topapi/user/listsimple"} {
		var got []any
		cursor := 0
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("paging does not end")
			}
			r := oapiJSON(t, s, path, tok, map[string]any{"dept_id": 1, "cursor": cursor, "size": 7})
			wantErrcode(t, r, 0)
			for _, u := range r.get("result", "list").([]any) {
				got = append(got, u.(map[string]any)["userid"])
			}
			if r.get("result", "has_more") != true {
				if r.get("result", "next_cursor") != nil {
					t.Fatalf("%s: next_cursor present on the last page", path)
				}
				break
			}
			cursor = int(r.get("result", "next_cursor").(float64))
		}
		if !slices.Equal(got, root) {
			t.Fatalf("%s paged %d users, want the %d of listid", path, len(got), len(root))
		}
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 1, "cursor": 0, "size": 101}), 40069)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 1, "cursor": -1, "size": 10}), 40068)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 1, "size": 10}), 40035)

	r = oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000009"})
	wantErrcode(t, r, 0)
	u, _ := s.User("user000009")
	if len(u.DeptIDs) != 2 {
		t.Fatalf("user000009 is in %v, want two departments", u.DeptIDs)
	}
	if r.str("result", "unionid") != u.UnionID || len(r.get("result", "dept_id_list").([]any)) != 2 || len(r.get("result", "leader_in_dept").([]any)) != 2 {
		t.Fatalf("user/get: %s", r.raw)
	}
	r = oapiJSON(t, s, "topapi/user/getbyunionid", tok, map[string]any{"unionid": u.UnionID})
	wantErrcode(t, r, 0)
	if r.str("result", "userid") != u.UserID || r.get("result", "contact_type").(float64) != 0 {
		t.Fatalf("getbyunionid: %s", r.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "nobody"}), 60121)
}

func TestOrderField(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	r := oapiJSON(t, s, "topapi/v2/user/list", s.AccessToken(), map[string]any{"dept_id": 11, "cursor": 0, "size": 10, "order_field": "entry_asc"})
	wantErrcode(t, r, 0)
	list := r.get("result", "list").([]any)
	if list[0].(map[string]any)["userid"] != "carol" {
		t.Fatalf("entry_asc: %s, want carol (hired first) first", r.raw)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/list", s.AccessToken(), map[string]any{"dept_id": 11, "cursor": 0, "size": 10, "order_field": "bogus"}), 400002)
}

func TestDepartmentWrites(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	r := oapiJSON(t, s, "topapi/v2/department/create", tok, map[string]any{"name": "新部门", "parent_id": 10})
	wantErrcode(t, r, 0)
	id := int64(r.get("result", "dept_id").(float64))
	tests := []struct {
		name string
		path string
		body map[string]any
		want int
	}{
		{"duplicate sibling name", "topapi/v2/department/create", map[string]any{"name": "新部门", "parent_id": 10}, 60008},
		{"name with comma", "topapi/v2/department/create", map[string]any{"name": "a,b", "parent_id": 1}, 60001},
		{"missing parent", "topapi/v2/department/create", map[string]any{"name": "x", "parent_id": 12345}, 60004},
		{"no name", "topapi/v2/department/create", map[string]any{"parent_id": 1}, 40035},
		{"update root", "topapi/v2/department/update", map[string]any{"dept_id": 1, "name": "x"}, 60018},
		{"cycle", "topapi/v2/department/update", map[string]any{"dept_id": 10, "parent_id": 11}, 60010},
		{"manager not member", "topapi/v2/department/update", map[string]any{"dept_id": 10, "dept_manager_userid_list": "bob"}, 400002},
		{"delete with members", "topapi/v2/department/delete", map[string]any{"dept_id": 10}, 60005},
		{"delete root", "topapi/v2/department/delete", map[string]any{"dept_id": 1}, 60018},
		{"rename", "topapi/v2/department/update", map[string]any{"dept_id": id, "name": "改名部", "parent_id": 20}, 0},
		{"delete empty", "topapi/v2/department/delete", map[string]any{"dept_id": id}, 0},
		{"delete again", "topapi/v2/department/delete", map[string]any{"dept_id": id}, 60003},
	}
	for _, tt := range tests {
		wantErrcodeNamed(t, tt.name, oapiJSON(t, s, tt.path, tok, tt.body), tt.want)
	}
	if _, ok := s.Department(id); ok {
		t.Fatal("deleted department still present")
	}
}

func TestUserWrites(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	r := oapiForm(t, s, "topapi/v2/user/create", tok, url.Values{"name": {"戴夫"}, "mobile": {"13900000009"}, "dept_id_list": {"10,20"}, "title": {"工程师"}})
	wantErrcode(t, r, 0)
	id, union := r.str("result", "userid"), r.str("result", "unionId")
	if id == "" || union == "" {
		t.Fatalf("create result %s, want userid and camelCase unionId", r.raw)
	}
	tests := []struct {
		name string
		path string
		body map[string]any
		want int
	}{
		{"duplicate mobile", "topapi/v2/user/create", map[string]any{"name": "x", "mobile": "13900000009", "dept_id_list": "1"}, 60104},
		{"duplicate userid", "topapi/v2/user/create", map[string]any{"userid": "bob", "name": "x", "mobile": "1", "dept_id_list": "1"}, 60102},
		{"no mobile", "topapi/v2/user/create", map[string]any{"name": "x", "dept_id_list": "1"}, 40035},
		{"unknown dept", "topapi/v2/user/create", map[string]any{"name": "x", "mobile": "2", "dept_id_list": []int{404}}, 60003},
		{"move", "topapi/v2/user/update", map[string]any{"userid": id, "dept_id_list": "11", "name": "戴维"}, 0},
		{"update unknown", "topapi/v2/user/update", map[string]any{"userid": "ghost", "name": "x"}, 60121},
		{"delete", "topapi/v2/user/delete", map[string]any{"userid": id}, 0},
		{"delete again", "topapi/v2/user/delete", map[string]any{"userid": id}, 60121},
	}
	for _, tt := range tests {
		wantErrcodeNamed(t, tt.name, oapiJSON(t, s, tt.path, tok, tt.body), tt.want)
	}
	if _, ok := s.User(id); ok {
		t.Fatal("deleted user still present")
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/user/getbyunionid", tok, map[string]any{"unionid": union}), 60121)
}

func TestOrgMutationsFromTests(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	d, err := s.AddDepartment(Department{ParentID: 1, Name: "新团队"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(User{UserID: "dan", Name: "丹", Mobile: "13911111111", DeptIDs: []int64{d.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveUser("bob", d.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameUser("carol", "卡萝"); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveDepartment(11, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameDepartment(20, "市场销售部"); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveDepartment(20, 11); err == nil {
		t.Fatal("cycle accepted")
	}
	r := oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": d.ID})
	if got := fmt.Sprint(r.get("result", "userid_list")); got != "[dan bob]" {
		t.Fatalf("members of new dept = %s, want [dan bob]", got)
	}
	r = oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 11})
	if r.get("result", "parent_id").(float64) != 20 {
		t.Fatalf("moved dept parent: %s", r.raw)
	}
	if err := s.RemoveDepartment(d.ID); err == nil {
		t.Fatal("non-empty department removed")
	}
	for _, u := range []string{"dan", "bob"} {
		if err := s.RemoveUser(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveDepartment(d.ID); err != nil {
		t.Fatal(err)
	}
	o := s.Org()
	if len(o.Users) != 2 || len(o.Departments) != 4 {
		t.Fatalf("snapshot: %d users %d depts, want 2 and 4", len(o.Users), len(o.Departments))
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tok := s.AccessToken()
	r := oapiJSON(t, s, "topapi/role/list", tok, map[string]any{"offset": 0, "size": 2})
	wantErrcode(t, r, 0)
	if r.get("result", "hasMore") != true || len(r.get("result", "list").([]any)) != 2 {
		t.Fatalf("role/list page: %s", r.raw)
	}
	g := r.get("result", "list").([]any)[0].(map[string]any)
	if g["groupId"] == nil || g["roles"] == nil {
		t.Fatalf("role group keys are not camelCase: %v", g)
	}
	wantErrcode(t, oapiJSON(t, s, "topapi/role/list", tok, map[string]any{"offset": 0, "size": 201}), 40069)
	r = oapiJSON(t, s, "topapi/role/getrolegroup", tok, map[string]any{"group_id": 1})
	wantErrcode(t, r, 0)
	if r.str("role_group", "group_name") != "默认" || r.get("result") != nil {
		t.Fatalf("getrolegroup: %s, want top-level role_group", r.raw)
	}
}

// TestGenerateLargeOrg checks the invariants of a 100 000-user
// organisation and pages its biggest department to the end over HTTP.
func TestGenerateLargeOrg(t *testing.T) {
	t.Parallel()
	const users = 100_000
	s, _ := newTestServer(t, WithGeneratedOrg(OrgSpec{Users: users}))
	o := s.Org()
	if len(o.Users) != users {
		t.Fatalf("%d users, want %d", len(o.Users), users)
	}
	unions, mobiles := map[string]bool{}, map[string]bool{}
	multi := 0
	for _, u := range o.Users {
		if unions[u.UnionID] || mobiles[u.Mobile] {
			t.Fatalf("duplicate unionid or mobile: %+v", u)
		}
		unions[u.UnionID], mobiles[u.Mobile] = true, true
		if len(u.DeptIDs) > 1 {
			multi++
		}
	}
	if multi < users/20 {
		t.Fatalf("only %d users in several departments", multi)
	}
	depth := map[int64]int{RootDeptID: 0}
	maxDepth := 0
	for _, d := range o.Departments[1:] {
		p, ok := depth[d.ParentID]
		if !ok {
			t.Fatalf("department %d listed before its parent %d", d.ID, d.ParentID)
		}
		depth[d.ID] = p + 1
		maxDepth = max(maxDepth, p+1)
	}
	if len(o.Departments) < users/30 || maxDepth < 3 {
		t.Fatalf("%d departments, depth %d: not a realistic tree", len(o.Departments), maxDepth)
	}
	// Same spec, same organisation.
	if a, b := GenerateOrg(OrgSpec{Users: 1000, Seed: 9}), GenerateOrg(OrgSpec{Users: 1000, Seed: 9}); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("generation is not deterministic")
	}
	// The last page of the root, straight from a cursor.
	r := oapiJSON(t, s, "topapi/v2/user/list", s.AccessToken(), map[string]any{"dept_id": 1, "cursor": 20, "size": 100})
	wantErrcode(t, r, 0)
	if r.get("result", "has_more") != false || len(r.get("result", "list").([]any)) == 0 {
		t.Fatalf("root's last page: has_more %v", r.get("result", "has_more"))
	}
}

func BenchmarkGenerateOrg100k(b *testing.B) {
	for b.Loop() {
		s := NewServer(WithGeneratedOrg(OrgSpec{Users: 100_000}))
		s.Close()
	}
}

func BenchmarkUserListPage(b *testing.B) {
	s := NewServer(WithGeneratedOrg(OrgSpec{Users: 100_000}))
	defer s.Close()
	tok := s.AccessToken()
	t := &testing.T{}
	for b.Loop() {
		oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 1, "cursor": 0, "size": 100})
	}
}

// TestOrgJSONRoundTrip: the demo organisation and the testdata file survive
// Org → JSON → LoadOrg → Server.Org unchanged.
func TestOrgJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]*Org{"demo": DemoOrg(), "testdata": loadTestOrg(t), "generated": GenerateOrg(OrgSpec{Users: 200})} {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		back, err := LoadOrg(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := NewServer(WithOrg(back))
		got := s.Org()
		s.Close()
		want, _ := json.Marshal(o)
		have, _ := json.Marshal(got)
		if !bytes.Equal(want, have) {
			t.Errorf("%s: round trip changed the org:\n got %s\nwant %s", name, have, want)
		}
	}
}

// BenchmarkRemoveUsers removes 10 000 of 100 000 users one by one, as a
// mass-departure test does.
func BenchmarkRemoveUsers(b *testing.B) {
	o := GenerateOrg(OrgSpec{Users: 100_000})
	for b.Loop() {
		b.StopTimer()
		s := NewServer(WithOrg(o))
		b.StartTimer()
		for i := range 10_000 {
			if err := s.RemoveUser(fmt.Sprintf("user%06d", i*10)); err != nil {
				b.Fatal(err)
			}
		}
		s.Org()
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkSchedulePage pages one day's schedules of 100 000 users.
func BenchmarkSchedulePage(b *testing.B) {
	s := NewServer(WithGeneratedOrg(OrgSpec{Users: 100_000}))
	defer s.Close()
	tok := s.AccessToken()
	t := &testing.T{}
	off := 0
	for b.Loop() {
		oapiJSON(t, s, "topapi/attendance/listschedule", tok, map[string]any{"workDate": "2026-11-30", "offset": off, "size": 200})
		off = (off + 200) % 100_000
	}
}

func TestSetDepartmentManagers(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	if err := s.SetDepartmentManagers(11, "carol", "bob"); err != nil {
		t.Fatal(err)
	}
	r := oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 11})
	if got := fmt.Sprint(r.get("result", "dept_manager_userid_list")); got != "[carol bob]" {
		t.Fatalf("managers of 11 = %s", got)
	}
	// The leader flag of the listing and user/get's leader_in_dept follow.
	r = oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 11, "cursor": 0, "size": 10})
	for _, it := range r.get("result", "list").([]any) {
		if u := it.(map[string]any); u["leader"] != true {
			t.Errorf("%s listed in 11 without the leader flag", u["userid"])
		}
	}
	if err := s.SetDepartmentManagers(11, "carol"); err != nil {
		t.Fatal(err)
	}
	r = oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "bob"})
	for _, l := range r.get("result", "leader_in_dept").([]any) {
		if l := l.(map[string]any); l["dept_id"].(float64) == 11 && l["leader"] != false {
			t.Errorf("bob still leads 11: %s", r.raw)
		}
	}
	if u, _ := s.User("alice"); !slices.Equal(u.LeaderIn, []int64{10}) {
		t.Errorf("alice's leadership of another department changed: %v", u.LeaderIn)
	}
	if err := s.SetDepartmentManagers(11, "alice"); err == nil {
		t.Error("a manager who is not a member was accepted")
	}
	if err := s.SetDepartmentManagers(99, "alice"); err == nil {
		t.Error("an unknown department was accepted")
	}
}

func TestFaultEmptyList(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	s.InjectFault("", Fault{Kind: FaultEmptyList})
	for _, tt := range []struct {
		api  string
		body map[string]any
		path []string
	}{
		{"topapi/v2/department/listsub", map[string]any{"dept_id": 1}, []string{"result"}},
		{"topapi/v2/department/listsubid", map[string]any{"dept_id": 1}, []string{"result", "dept_id_list"}},
		{"topapi/v2/user/list", map[string]any{"dept_id": 11, "cursor": 0, "size": 10}, []string{"result", "list"}},
		{"topapi/user/listsimple", map[string]any{"dept_id": 11, "cursor": 0, "size": 10}, []string{"result", "list"}},
		{"topapi/user/listid", map[string]any{"dept_id": 11}, []string{"result", "userid_list"}},
	} {
		r := oapiJSON(t, s, tt.api, tok, tt.body)
		wantErrcode(t, r, 0)
		if got, ok := r.get(tt.path...).([]any); !ok || len(got) != 0 {
			t.Errorf("%s under FaultEmptyList = %s, want an empty list", tt.api, r.raw)
		}
	}
	// Other APIs answer as usual.
	r := oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 10})
	wantErrcode(t, r, 0)
	if r.get("result", "name") != "研发部" {
		t.Errorf("department/get under FaultEmptyList = %s", r.raw)
	}
	if FaultEmptyList.String() != "empty-list" {
		t.Errorf("FaultEmptyList.String() = %q", FaultEmptyList.String())
	}
}

func TestContactScope(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	s.SetContactScope(10) // 研发部 and 平台组 below it
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 1}), 50004)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 20}), 50004)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/department/get", tok, map[string]any{"dept_id": 11}), 0)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 20, "cursor": 0, "size": 10}), 50004)
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 50004)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/list", tok, map[string]any{"dept_id": 11, "cursor": 0, "size": 10}), 0)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/department/listsub", tok, map[string]any{"dept_id": 1}), 50004)
	// listsubid ignores the scope.
	r := oapiJSON(t, s, "topapi/v2/department/listsubid", tok, map[string]any{"dept_id": 1})
	if got := r.get("result", "dept_id_list").([]any); len(got) != 2 {
		t.Errorf("listsubid(1) under a scope = %s, want both children", r.raw)
	}
	// bob is in 11 and 20: visible through 11; nobody else outside is.
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "bob"}), 0)
	s.SetContactScope(20)
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "alice"}), 50004)
	s.SetContactScope()
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "alice"}), 0)
}
