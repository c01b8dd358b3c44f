package dingtalk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
)

func TestListSubDepartments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/department/listsub", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"dept_id":1,"language":"en_US"}`)
	}, readTestdata(t, "department_listsub.json"))
	got, err := e.client.Contact.ListSubDepartments(context.Background(), RootDepartmentID, LanguageEnUS)
	if err != nil {
		t.Fatal(err)
	}
	want := []Department{
		{DeptID: 370195, Name: "市场部", ParentID: 1, CreateDeptGroup: true, AutoAddUser: true},
		{DeptID: 390220, Name: "研发部", ParentID: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("departments = %+v, want %+v", got, want)
	}
}

func TestListSubDepartmentIDs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/department/listsubid", func(r *http.Request) {
		testJSONBody(t, r, `{"dept_id":1}`)
	}, `{"errcode":0,"result":{"dept_id_list":[2,3]}}`)
	got, err := e.client.Contact.ListSubDepartmentIDs(context.Background(), 1)
	if err != nil || !reflect.DeepEqual(got, []int64{2, 3}) {
		t.Errorf("ids = %v, %v", got, err)
	}
}

// tree is a fake directory: parent → children.
var tree = map[int64][]int64{1: {2, 3}, 2: {4}, 3: {}, 4: {5}, 5: {2}} // 5 → 2 is a cycle in bad data

func treeHandler(t *testing.T, ids bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			DeptID int64 `json:"dept_id"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &in); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		kids := tree[in.DeptID]
		if ids {
			out, _ := json.Marshal(kids)
			fmt.Fprintf(w, `{"errcode":0,"result":{"dept_id_list":%s}}`, out)
			return
		}
		var ds []Department
		for _, k := range kids {
			ds = append(ds, Department{DeptID: k, Name: fmt.Sprint("d", k), ParentID: in.DeptID})
		}
		out, _ := json.Marshal(ds)
		fmt.Fprintf(w, `{"errcode":0,"result":%s}`, out)
	}
}

func TestWalkDepartments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.mux.HandleFunc("/topapi/v2/department/listsub", treeHandler(t, false))
	var got []int64
	for d, err := range e.client.Contact.WalkDepartments(context.Background(), 1, "") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.DeptID)
	}
	if want := []int64{2, 3, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("walk = %v, want %v", got, want)
	}
}

func TestWalkDepartmentIDs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.mux.HandleFunc("/topapi/v2/department/listsubid", treeHandler(t, true))
	var got []int64
	for id, err := range e.client.Contact.WalkDepartmentIDs(context.Background(), 1) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if want := []int64{2, 3, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("walk = %v, want %v", got, want)
	}
	// Stopping early makes no further calls.
	var calls atomic.Int32
	e2 := setup(t)
	e2.mux.HandleFunc("/topapi/v2/department/listsubid", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		treeHandler(t, true)(w, r)
	})
	for range e2.client.Contact.WalkDepartmentIDs(context.Background(), 1) {
		break
	}
	if calls.Load() != 1 {
		t.Errorf("calls after break = %d, want 1", calls.Load())
	}
}

func TestWalkDepartmentsError(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.mux.HandleFunc("/topapi/v2/department/listsub", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"errcode":60003,"errmsg":"部门不存在"}`)
	})
	n := 0
	for _, err := range e.client.Contact.WalkDepartments(context.Background(), 1, "") {
		n++
		if de, ok := asError(err); !ok || de.ErrCode != 60003 {
			t.Errorf("err = %v, want 60003", err)
		}
	}
	if n != 1 {
		t.Errorf("yielded %d times, want one error", n)
	}
}

func TestGetDepartment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/department/get", func(r *http.Request) {
		testJSONBody(t, r, `{"dept_id":390220}`)
	}, readTestdata(t, "department_get.json"))
	d, err := e.client.Contact.GetDepartment(context.Background(), 390220, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "研发部" || d.Order != 10 || d.MemberCount != 42 || !d.OuterDept || !reflect.DeepEqual(d.OuterPermitDepts, []int64{500, 600}) ||
		!reflect.DeepEqual(d.DeptManagerUserIDList, []string{"manager4220", "u2"}) || d.UnionDeptExt == nil || d.UnionDeptExt.DeptID != 9 || d.Code != "RD" {
		t.Errorf("department = %+v", d)
	}
}

func TestCreateDepartment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/department/create", func(r *http.Request) {
		testJSONBody(t, r, `{"name":"研发","parent_id":1,"hide_dept":true,"dept_permits":"3,4","user_permits":"a,b","order":5}`)
	}, `{"errcode":0,"errmsg":"ok","result":{"dept_id":77}}`)
	id, err := e.client.Contact.CreateDepartment(context.Background(), &CreateDepartmentRequest{
		Name: "研发", ParentID: 1, HideDept: Bool(true), DeptPermits: CommaInts{3, 4}, UserPermits: CommaStrings{"a", "b"}, Order: Int64(5),
	})
	if err != nil || id != 77 {
		t.Errorf("CreateDepartment = %d, %v", id, err)
	}
	if _, err := e.client.Contact.CreateDepartment(context.Background(), &CreateDepartmentRequest{Name: "x"}); err == nil {
		t.Error("missing ParentID accepted")
	}
}

func TestUpdateDepartment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/department/update", func(r *http.Request) {
		testJSONBody(t, r, `{"dept_id":7,"name":"新名","auto_add_user":false,"dept_manager_userid_list":"u1,u2","force_update_fields":"dept_manager_userid_list"}`)
	}, `{"errcode":0,"errmsg":"ok"}`)
	err := e.client.Contact.UpdateDepartment(context.Background(), &UpdateDepartmentRequest{
		DeptID: 7, Name: "新名", AutoAddUser: Bool(false), DeptManagerUserIDList: CommaStrings{"u1", "u2"},
		ForceUpdateFields: CommaStrings{"dept_manager_userid_list"},
	})
	if err != nil {
		t.Error(err)
	}
	if err := e.client.Contact.UpdateDepartment(context.Background(), &UpdateDepartmentRequest{}); err == nil {
		t.Error("missing DeptID accepted")
	}
}

func TestDeleteDepartment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/department/delete", func(r *http.Request) {
		testJSONBody(t, r, `{"dept_id":7}`)
	}, `{"errcode":0,"errmsg":"ok"}`)
	if err := e.client.Contact.DeleteDepartment(context.Background(), 7); err != nil {
		t.Error(err)
	}
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/user/get", func(r *http.Request) {
		testOAPIToken(t, r)
		testJSONBody(t, r, `{"userid":"zhangsan","language":"zh_CN"}`)
	}, readTestdata(t, "user_get.json"))
	u, err := e.client.Contact.GetUser(context.Background(), "zhangsan", LanguageZhCN)
	if err != nil {
		t.Fatal(err)
	}
	if u.UserID != "zhangsan" || u.UnionID != "union-zs" || u.HiredDate != 1597573616828 || !u.Admin || !u.Active ||
		!reflect.DeepEqual(u.DeptIDList, []int64{2, 3}) || len(u.LeaderInDept) != 1 || !u.LeaderInDept[0].Leader ||
		len(u.RoleList) != 1 || u.RoleList[0].GroupName != "职务" || u.Extension != `{"爱好":"旅游"}` ||
		u.UnionEmpExt == nil || u.UnionEmpExt.UnionEmpMapList[0].CorpID != "ding-sub" {
		t.Errorf("user = %+v", u)
	}
}

func TestListUsersAndAllUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var cursors []int64
	e.mux.HandleFunc("/topapi/v2/user/list", func(w http.ResponseWriter, r *http.Request) {
		var in ListUsersRequest
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &in)
		if in.DeptID != 2 || in.Size != 100 || in.OrderField != OrderEntryAsc {
			t.Errorf("request = %s", b)
		}
		cursors = append(cursors, in.Cursor)
		if in.Cursor == 0 {
			fmt.Fprint(w, readTestdata(t, "user_list_page1.json"))
		} else {
			fmt.Fprint(w, readTestdata(t, "user_list_page2.json"))
		}
	})
	var names []string
	for u, err := range e.client.Contact.AllUsers(context.Background(), ListUsersRequest{DeptID: 2, OrderField: OrderEntryAsc}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, u.UserID)
	}
	if want := []string{"u1", "u2", "u3"}; !reflect.DeepEqual(names, want) {
		t.Errorf("users = %v, want %v", names, want)
	}
	if want := []int64{0, 2}; !reflect.DeepEqual(cursors, want) {
		t.Errorf("cursors = %v, want %v", cursors, want)
	}
	p, err := e.client.Contact.ListUsers(context.Background(), ListUsersRequest{DeptID: 2, OrderField: OrderEntryAsc})
	if err != nil || !p.HasMore || p.NextCursor != 2 || p.List[0].DeptOrder != 3 || !p.List[1].Leader {
		t.Errorf("page = %+v, %v", p, err)
	}
	if _, err := e.client.Contact.ListUsers(context.Background(), ListUsersRequest{DeptID: 2, Size: 101}); err == nil {
		t.Error("size 101 accepted")
	}
}

func TestAllSimpleUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.mux.HandleFunc("/topapi/user/listsimple", func(w http.ResponseWriter, r *http.Request) {
		var in ListUsersRequest
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &in)
		if in.Cursor == 0 {
			fmt.Fprint(w, `{"errcode":0,"result":{"has_more":true,"next_cursor":10,"list":[{"userid":"a","name":"A"}]}}`)
			return
		}
		// next_cursor is absent on the last page.
		fmt.Fprint(w, `{"errcode":0,"result":{"has_more":false,"list":[{"userid":"b","name":"B"}]}}`)
	})
	var got []SimpleUser
	for u, err := range e.client.Contact.AllSimpleUsers(context.Background(), ListUsersRequest{DeptID: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u)
	}
	if want := []SimpleUser{{"a", "A"}, {"b", "B"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("users = %v", got)
	}
}

func TestListUserIDs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/user/listid", func(r *http.Request) {
		testJSONBody(t, r, `{"dept_id":2}`)
	}, `{"errcode":0,"result":{"userid_list":["u1","u2"]}}`)
	ids, err := e.client.Contact.ListUserIDs(context.Background(), 2)
	if err != nil || !reflect.DeepEqual(ids, []string{"u1", "u2"}) {
		t.Errorf("ids = %v, %v", ids, err)
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/user/create", func(r *http.Request) {
		testJSONBody(t, r, `{"name":"张三","mobile":"18600000000","dept_id_list":"2,3","title":"工程师","dept_order_list":[{"dept_id":2,"order":1}],"extension":{"爱好":"旅游"},"hired_date":1597573616828}`)
	}, `{"errcode":0,"result":{"userid":"zhangsan","unionId":"union-zs"}}`)
	u, err := e.client.Contact.CreateUser(context.Background(), &CreateUserRequest{
		Name: "张三", Mobile: "18600000000", DeptIDList: CommaInts{2, 3}, Title: "工程师",
		DeptOrderList: []DeptOrder{{2, 1}}, Extension: map[string]string{"爱好": "旅游"}, HiredDate: 1597573616828,
	})
	if err != nil || u.UserID != "zhangsan" || u.UnionID != "union-zs" {
		t.Errorf("CreateUser = %+v, %v", u, err)
	}
	if _, err := e.client.Contact.CreateUser(context.Background(), &CreateUserRequest{Name: "x"}); err == nil {
		t.Error("missing mobile accepted")
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/user/update", func(r *http.Request) {
		testJSONBody(t, r, `{"userid":"u1","title":"","manager_userid":"m1","force_update_fields":"manager_userid"}`)
	}, `{"errcode":0}`)
	err := e.client.Contact.UpdateUser(context.Background(), &UpdateUserRequest{
		UserID: "u1", Title: String(""), ManagerUserID: String("m1"), ForceUpdateFields: CommaStrings{"manager_userid"},
	})
	if err != nil {
		t.Error(err)
	}
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/v2/user/delete", func(r *http.Request) {
		testJSONBody(t, r, `{"userid":"u1"}`)
	}, `{"errcode":0}`)
	if err := e.client.Contact.DeleteUser(context.Background(), "u1"); err != nil {
		t.Error(err)
	}
	if err := e.client.Contact.DeleteUser(context.Background(), ""); err == nil {
		t.Error("empty userid accepted")
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodPost, "/topapi/role/list", func(r *http.Request) {
		testJSONBody(t, r, `{"offset":0,"size":200}`)
	}, readTestdata(t, "role_list.json"))
	e.handle(t, http.MethodPost, "/topapi/role/getrolegroup", func(r *http.Request) {
		testJSONBody(t, r, `{"group_id":1507}`)
	}, readTestdata(t, "role_getrolegroup.json"))
	var groups []RoleGroupSummary
	for g, err := range e.client.Contact.AllRoleGroups(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	want := []RoleGroupSummary{{GroupID: 1507, Name: "职务", Roles: []Role{{1508, "主管"}, {1509, "财务"}}}}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("groups = %+v", groups)
	}
	g, err := e.client.Contact.GetRoleGroup(context.Background(), 1507)
	if err != nil || g.GroupName != "职务" || g.Roles[0] != (RoleGroupRole{1508, "主管"}) {
		t.Errorf("GetRoleGroup = %+v, %v", g, err)
	}
	if _, err := e.client.Contact.ListRoles(context.Background(), 0, 201); err == nil {
		t.Error("size 201 accepted")
	}
}

func TestRoleGroupsPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var offsets []int
	e.mux.HandleFunc("/topapi/role/list", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Offset, Size int }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &in)
		offsets = append(offsets, in.Offset)
		more := in.Offset == 0
		fmt.Fprintf(w, `{"errcode":0,"result":{"hasMore":%v,"list":[{"groupId":%d,"name":"g"}]}}`, more, in.Offset+1)
	})
	n := 0
	for _, err := range e.client.Contact.AllRoleGroups(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || !reflect.DeepEqual(offsets, []int{0, 1}) {
		t.Errorf("groups = %d, offsets = %v", n, offsets)
	}
}
