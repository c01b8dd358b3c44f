package dingtalktest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Department and user management from tests. Each method changes the
// organisation as the matching API call would, without recording a call.

// AddDepartment adds a department under d.ParentID; a zero ID is assigned.
func (s *Server) AddDepartment(d Department) (Department, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.dir.addDept(d)
	if err != nil {
		return Department{}, fmt.Errorf("dingtalktest: add department: %w", err)
	}
	s.emitDept("org_dept_create", p.ID)
	return *p, nil
}

// RenameDepartment renames a department.
func (s *Server) RenameDepartment(id int64, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dir.depts[id]
	if !ok {
		return fmt.Errorf("dingtalktest: rename department %d: %w", id, errNotFound)
	}
	d.Name = name
	s.emitDept("org_dept_modify", id)
	return nil
}

// MoveDepartment moves a department under another parent.
func (s *Server) MoveDepartment(id, parentID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dir.moveDept(id, parentID); err != nil {
		return fmt.Errorf("dingtalktest: move department: %w", err)
	}
	s.emitDept("org_dept_modify", id)
	return nil
}

// RemoveDepartment deletes an empty department and its empty
// sub-departments.
func (s *Server) RemoveDepartment(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := s.dir.subtree(id)
	if err := s.dir.removeDept(id); err != nil {
		return fmt.Errorf("dingtalktest: remove department: %w", err)
	}
	s.emitDept("org_dept_remove", gone...)
	return nil
}

// SetDepartmentManagers makes exactly userids the managers (主管) of a
// department: its dept_manager_userid_list, and the leader flag of each
// member in user listings and leader_in_dept, change together as on
// DingTalk. Every manager must be a member of the department.
func (s *Server) SetDepartmentManagers(id int64, userids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, found := s.dir.depts[id]
	if !found {
		return fmt.Errorf("dingtalktest: set managers of department %d: %w", id, errNotFound)
	}
	for _, u := range userids {
		if x := s.dir.users[u]; x == nil || !slices.Contains(x.DeptIDs, id) {
			return fmt.Errorf("dingtalktest: set managers of department %d: %q is not a member", id, u)
		}
	}
	var changed []string
	for _, u := range s.dir.members[id] {
		x := s.dir.users[u]
		want := slices.Contains(userids, u)
		if slices.Contains(x.LeaderIn, id) == want {
			continue
		}
		if want {
			x.LeaderIn = append(x.LeaderIn, id)
		} else {
			x.LeaderIn = slices.DeleteFunc(x.LeaderIn, func(d int64) bool { return d == id })
		}
		changed = append(changed, u)
	}
	d.ManagerUserIDs = slices.Clone(userids)
	s.emitDept("org_dept_modify", id)
	if len(changed) > 0 {
		s.emitUser("user_modify_org", changed...)
	}
	return nil
}

// AddUser adds a user; an empty UserID or UnionID is generated.
func (s *Server) AddUser(u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.dir.addUser(u)
	if err != nil {
		return User{}, fmt.Errorf("dingtalktest: add user: %w", err)
	}
	s.emitUser("user_add_org", p.UserID)
	return cloneUser(p), nil
}

// RenameUser changes a user's name.
func (s *Server) RenameUser(userid, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.dir.users[userid]
	if !ok {
		return fmt.Errorf("dingtalktest: rename user %q: %w", userid, errNotFound)
	}
	u.Name = name
	s.emitUser("user_modify_org", userid)
	return nil
}

// MoveUser puts a user in exactly the given departments.
func (s *Server) MoveUser(userid string, deptIDs ...int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.dir.users[userid]
	if !ok {
		return fmt.Errorf("dingtalktest: move user %q: %w", userid, errNotFound)
	}
	if err := s.dir.setUserDepts(u, deptIDs); err != nil {
		return fmt.Errorf("dingtalktest: move user %q: %w", userid, err)
	}
	s.emitUser("user_modify_org", userid)
	return nil
}

// RemoveUser deletes a user (离职).
func (s *Server) RemoveUser(userid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dir.removeUser(userid); err != nil {
		return fmt.Errorf("dingtalktest: remove user: %w", err)
	}
	s.emitUser("user_leave_org", userid)
	return nil
}

// User returns a copy of a user.
func (s *Server) User(userid string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.dir.users[userid]
	if !ok {
		return User{}, false
	}
	return cloneUser(u), true
}

// Department returns a copy of a department.
func (s *Server) Department(id int64) (Department, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dir.depts[id]
	if !ok {
		return Department{}, false
	}
	c := *d
	c.ManagerUserIDs = slices.Clone(d.ManagerUserIDs)
	return c, true
}

// UserCount returns the number of users.
func (s *Server) UserCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dir.users)
}

// Org returns a snapshot of the organisation, departments and users in
// insertion order, in the JSON shape LoadOrg reads.
func (s *Server) Org() *Org {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir.snapshot()
}

// SetContactScope limits what the app may read to the given departments
// and everything below them (通讯录权限范围), as an administrator does in the
// developer console; no ids give back the whole organisation. Department
// details, listsub and the user listings of other departments answer 50004,
// and so does user/get for someone in none of them; listsubid ignores the
// scope, as on DingTalk.
func (s *Server) SetContactScope(deptIDs ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(deptIDs) == 0 {
		s.scope = nil
		return
	}
	s.scope = map[int64]bool{}
	for _, id := range deptIDs {
		s.scope[id] = true
	}
}

// visible reports whether department id is in the app's contact scope.
// The caller holds s.mu.
func (s *Server) visible(id int64) bool {
	if s.scope == nil {
		return true
	}
	for d := id; d != 0; {
		if s.scope[d] {
			return true
		}
		dp, ok := s.dir.depts[d]
		if !ok {
			return false
		}
		d = dp.ParentID
	}
	return false
}

func outOfScope() reply { return fail(50004, "部门不在权限范围内") }

// badParam answers a malformed parameter.
func badParam(err error) reply { return fail(40035, "不合法的参数: "+err.Error()) }

func missing(name string) reply { return fail(40035, "缺少参数 "+name) }

// POST topapi/v2/department/listsub
func (s *Server) deptListSub(rq *request) reply {
	id, has, err := rq.params.int64("dept_id")
	if err != nil {
		return badParam(err)
	}
	if !has {
		id = RootDeptID
	}
	if _, ok := s.dir.depts[id]; !ok {
		return fail(60003, "部门不存在")
	}
	if !s.visible(id) {
		return outOfScope()
	}
	out := make([]map[string]any, 0, len(s.dir.children[id]))
	for _, c := range s.sortedChildren(id) {
		d := s.dir.depts[c]
		out = append(out, map[string]any{
			"dept_id": d.ID, "name": d.Name, "parent_id": d.ParentID,
			"create_dept_group": d.CreateDeptGroup, "auto_add_user": d.AutoAddUser,
		})
	}
	return ok(map[string]any{"result": out})
}

// sortedChildren orders sub-departments as DingTalk does: by order, then
// creation.
func (s *Server) sortedChildren(id int64) []int64 {
	c := slices.Clone(s.dir.children[id])
	slices.SortStableFunc(c, func(a, b int64) int { return cmp.Compare(s.dir.depts[a].Order, s.dir.depts[b].Order) })
	return c
}

// POST topapi/v2/department/listsubid
func (s *Server) deptListSubID(rq *request) reply {
	id, rep, bad := s.deptArg(rq)
	if bad {
		return rep
	}
	ids := s.sortedChildren(id)
	if ids == nil {
		ids = []int64{}
	}
	return ok(map[string]any{"result": map[string]any{"dept_id_list": ids}})
}

// POST topapi/v2/department/get
func (s *Server) deptGet(rq *request) reply {
	id, rep, bad := s.deptArg(rq)
	if bad {
		return rep
	}
	if !s.visible(id) {
		return outOfScope()
	}
	d := s.dir.depts[id]
	// member_count counts people, not memberships: a user in two
	// sub-departments counts once.
	distinct := map[string]struct{}{}
	for _, x := range s.dir.subtree(id) {
		for _, u := range s.dir.members[x] {
			distinct[u] = struct{}{}
		}
	}
	count := len(distinct)
	managers := d.ManagerUserIDs
	if managers == nil {
		managers = []string{}
	}
	return ok(map[string]any{"result": map[string]any{
		"dept_id": d.ID, "name": d.Name, "parent_id": d.ParentID, "order": d.Order,
		"source_identifier": d.SourceID, "create_dept_group": d.CreateDeptGroup, "auto_add_user": d.AutoAddUser,
		"group_contain_sub_dept": false, "org_dept_owner": "", "dept_manager_userid_list": managers,
		"outer_dept": false, "hide_dept": false, "auto_approve_apply": false, "from_union_org": false,
		"member_count": count, "owning_member_count": len(s.dir.members[id]),
	}})
}

func validDeptName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > 64 || strings.ContainsAny(name, "-,") {
		return errors.New("name must be 1-64 characters without '-' or ','")
	}
	return nil
}

// POST topapi/v2/department/create
func (s *Server) deptCreate(rq *request) reply {
	name, _ := rq.params.str("name")
	if name == "" {
		return missing("name")
	}
	if err := validDeptName(name); err != nil {
		return fail(60001, "部门名称不合法: "+err.Error())
	}
	parent, rep, bad := rq.params.needInt64("parent_id")
	if bad {
		return rep
	}
	if _, ok := s.dir.depts[parent]; !ok {
		return fail(60004, "父部门不存在")
	}
	order, _, err := rq.params.int64("order")
	if err != nil {
		return fail(40011, "不合法的排序值")
	}
	d := Department{ParentID: parent, Name: name, Order: order}
	if v, _, err := rq.params.bool("create_dept_group"); err == nil {
		d.CreateDeptGroup = v
	}
	d.SourceID, _ = rq.params.str("source_identifier")
	p, err := s.dir.addDept(d)
	if errors.Is(err, errExists) {
		return fail(60008, "父部门下该部门名称已存在")
	} else if err != nil {
		return fail(400002, "无效的参数: "+err.Error())
	}
	s.emitDept("org_dept_create", p.ID)
	return ok(map[string]any{"result": map[string]any{"dept_id": p.ID}})
}

// POST topapi/v2/department/update
func (s *Server) deptUpdate(rq *request) reply {
	id, has, err := rq.params.int64("dept_id")
	if err != nil {
		return fail(40009, "不合法的部门id")
	}
	if !has {
		return missing("dept_id")
	}
	d, found := s.dir.depts[id]
	if !found {
		return fail(60003, "部门不存在")
	}
	if id == RootDeptID {
		return fail(60018, "根部门不能修改")
	}
	upd := *d
	if name, has := rq.params.str("name"); has {
		if err := validDeptName(name); err != nil {
			return fail(60001, "部门名称不合法: "+err.Error())
		}
		for _, c := range s.dir.children[d.ParentID] {
			if c != id && s.dir.depts[c].Name == name {
				return fail(60008, "父部门下该部门名称已存在")
			}
		}
		upd.Name = name
	}
	if o, has, err := rq.params.int64("order"); err != nil {
		return fail(40011, "不合法的排序值")
	} else if has {
		upd.Order = o
	}
	if v, has, err := rq.params.bool("create_dept_group"); err != nil {
		return badParam(err)
	} else if has {
		upd.CreateDeptGroup = v
	}
	if v, has, err := rq.params.bool("auto_add_user"); err != nil {
		return badParam(err)
	} else if has {
		upd.AutoAddUser = v
	}
	if v, has := rq.params.str("source_identifier"); has {
		upd.SourceID = v
	}
	if mgr, has, err := rq.params.strList("dept_manager_userid_list"); err != nil {
		return badParam(err)
	} else if has {
		for _, m := range mgr {
			u := s.dir.users[m]
			if u == nil || !slices.Contains(u.DeptIDs, id) {
				return fail(400002, fmt.Sprintf("无效的参数: 主管 %s 不在该部门", m))
			}
		}
		upd.ManagerUserIDs = mgr
	}
	parent, hasParent, err := rq.params.int64("parent_id")
	if err != nil {
		return badParam(err)
	}
	if hasParent && parent != d.ParentID {
		if _, ok := s.dir.depts[parent]; !ok {
			return fail(60004, "父部门不存在")
		}
		if err := s.dir.moveDept(id, parent); err != nil {
			return fail(60010, "部门不能移动到自己或子部门下")
		}
		upd.ParentID = parent
	}
	*d = upd
	s.emitDept("org_dept_modify", id)
	return ok(nil)
}

// POST topapi/v2/department/delete
func (s *Server) deptDelete(rq *request) reply {
	id, has, err := rq.params.int64("dept_id")
	if err != nil {
		return fail(40009, "不合法的部门id")
	}
	if !has {
		return missing("dept_id")
	}
	if id == RootDeptID {
		return fail(60018, "根部门不能删除")
	}
	if _, ok := s.dir.depts[id]; !ok {
		return fail(60003, "部门不存在")
	}
	if s.dir.hasMembers(id) {
		return fail(60005, "部门或子部门下存在员工，不能删除")
	}
	gone := s.dir.subtree(id)
	if err := s.dir.removeDept(id); err != nil {
		return fail(400002, err.Error())
	}
	s.emitDept("org_dept_remove", gone...)
	return ok(nil)
}

// deptArg reads the dept_id of a call that needs an existing department.
func (s *Server) deptArg(rq *request) (int64, reply, bool) {
	id, rep, bad := rq.params.needInt64("dept_id")
	if bad {
		return 0, rep, true
	}
	if _, ok := s.dir.depts[id]; !ok {
		return 0, fail(60003, "部门不存在"), true
	}
	return id, reply{}, false
}

// pageArgs reads the dept_id/cursor/size triple of the user list calls.
func (s *Server) pageArgs(rq *request, maxSize int64) (dept int64, cursor, size int, rep reply, bad bool) {
	id, rep, bad := s.deptArg(rq)
	if bad {
		return 0, 0, 0, rep, true
	}
	c, has, err := rq.params.int64("cursor")
	if err != nil || (has && (c < 0 || c > 100000)) {
		return 0, 0, 0, fail(40068, "不合法的偏移量"), true
	}
	if !has {
		return 0, 0, 0, missing("cursor"), true
	}
	n, has, err := rq.params.int64("size")
	if err != nil || (has && (n < 1 || n > maxSize)) {
		return 0, 0, 0, fail(40069, fmt.Sprintf("不合法的分页大小(1-%d)", maxSize)), true
	}
	if !has {
		return 0, 0, 0, missing("size"), true
	}
	return id, int(c), int(n), reply{}, false
}

// members returns the direct members of dept in the requested order.
func (s *Server) orderedMembers(rq *request, dept int64) ([]string, reply, bool) {
	m := s.dir.members[dept]
	of, _ := rq.params.str("order_field")
	switch of {
	case "", "custom", "modify_asc":
		return m, reply{}, false
	case "modify_desc":
		r := slices.Clone(m)
		slices.Reverse(r)
		return r, reply{}, false
	case "entry_asc", "entry_desc":
		r := slices.Clone(m)
		slices.SortStableFunc(r, func(a, b string) int {
			c := cmp.Compare(s.dir.users[a].HiredDate, s.dir.users[b].HiredDate)
			if of == "entry_desc" {
				c = -c
			}
			return c
		})
		return r, reply{}, false
	}
	return nil, fail(400002, "无效的参数 order_field"), true
}

// POST topapi/v2/user/list
func (s *Server) userList(rq *request) reply {
	return s.memberPage(rq, func(dept int64, u *User) map[string]any {
		x := s.userFields(u)
		x["dept_order"] = 0
		x["leader"] = slices.Contains(u.LeaderIn, dept)
		return x
	})
}

// POST topapi/user/listsimple
func (s *Server) userListSimple(rq *request) reply {
	return s.memberPage(rq, func(_ int64, u *User) map[string]any {
		return map[string]any{"userid": u.UserID, "name": u.Name}
	})
}

// memberPage answers one page of a department's direct members, each as
// item renders it; next_cursor is present only while has_more.
func (s *Server) memberPage(rq *request, item func(dept int64, u *User) map[string]any) reply {
	dept, cursor, size, rep, bad := s.pageArgs(rq, 100)
	if bad {
		return rep
	}
	if !s.visible(dept) {
		return outOfScope()
	}
	m, rep, bad := s.orderedMembers(rq, dept)
	if bad {
		return rep
	}
	list := []map[string]any{}
	end := min(cursor+size, len(m))
	for i := min(cursor, len(m)); i < end; i++ {
		list = append(list, item(dept, s.dir.users[m[i]]))
	}
	res := map[string]any{"has_more": end < len(m), "list": list}
	if end < len(m) {
		res["next_cursor"] = end
	}
	return ok(map[string]any{"result": res})
}

// POST topapi/user/listid
func (s *Server) userListID(rq *request) reply {
	id, rep, bad := s.deptArg(rq)
	if bad {
		return rep
	}
	if !s.visible(id) {
		return outOfScope()
	}
	ids := slices.Clone(s.dir.members[id])
	if ids == nil {
		ids = []string{}
	}
	return ok(map[string]any{"result": map[string]any{"userid_list": ids}})
}

// userFields are the fields shared by v2/user/get and v2/user/list.
// Optional fields appear only when set, as on DingTalk.
func (s *Server) userFields(u *User) map[string]any {
	m := map[string]any{
		"userid": u.UserID, "unionid": u.UnionID, "name": u.Name, "avatar": "",
		"state_code": "86", "mobile": u.Mobile, "hide_mobile": false,
		"dept_id_list": slices.Clone(u.DeptIDs), "extension": "{}",
		"exclusive_account": false, "active": !u.Inactive, "real_authed": true,
		"senior": false, "admin": u.Admin, "boss": u.Boss,
	}
	for k, v := range map[string]string{
		"telephone": u.Telephone, "job_number": u.JobNumber, "title": u.Title, "email": u.Email,
		"work_place": u.WorkPlace, "remark": u.Remark, "manager_userid": u.ManagerUserID,
	} {
		if v != "" {
			m[k] = v
		}
	}
	if u.HiredDate != 0 {
		m["hired_date"] = u.HiredDate
	}
	return m
}

// POST topapi/v2/user/get
func (s *Server) userGet(rq *request) reply {
	id, _ := rq.params.str("userid")
	if id == "" {
		return missing("userid")
	}
	u, found := s.dir.users[id]
	if !found {
		return fail(60121, "找不到该用户")
	}
	if !slices.ContainsFunc(u.DeptIDs, s.visible) {
		return outOfScope()
	}
	x := s.userFields(u)
	orders := make([]map[string]any, 0, len(u.DeptIDs))
	leaders := make([]map[string]any, 0, len(u.DeptIDs))
	for _, d := range u.DeptIDs {
		orders = append(orders, map[string]any{"dept_id": d, "order": 0})
		leaders = append(leaders, map[string]any{"dept_id": d, "leader": slices.Contains(u.LeaderIn, d)})
	}
	x["dept_order_list"] = orders
	x["leader_in_dept"] = leaders
	x["role_list"] = rolesOf(u)
	return ok(map[string]any{"result": x})
}

func userCreateError(err error) reply {
	switch {
	case errors.Is(err, errNotFound):
		return fail(60003, "部门不存在: "+err.Error())
	case strings.Contains(err.Error(), "mobile"):
		return fail(60104, "手机号码在公司中已注册")
	case strings.Contains(err.Error(), "userid"):
		return fail(60102, "用户在公司中已存在")
	}
	return fail(400002, "无效的参数: "+err.Error())
}

// POST topapi/v2/user/create
func (s *Server) userCreate(rq *request) reply {
	var u User
	u.Name, _ = rq.params.str("name")
	if u.Name == "" {
		return missing("name")
	}
	if utf8.RuneCountInString(u.Name) > 80 {
		return fail(40035, "不合法的参数: name 超过80个字符")
	}
	u.Mobile, _ = rq.params.str("mobile")
	if u.Mobile == "" {
		return missing("mobile")
	}
	depts, has, err := rq.params.intList("dept_id_list")
	if err != nil {
		return badParam(err)
	}
	if !has || len(depts) == 0 {
		return missing("dept_id_list")
	}
	if len(depts) > 100 {
		return fail(40035, "不合法的参数: dept_id_list 最多100个")
	}
	u.DeptIDs = depts
	u.UserID, _ = rq.params.str("userid")
	if n := len(u.UserID); n > 64 {
		return fail(40035, "不合法的参数: userid 长度1-64")
	}
	limits := []struct {
		key string
		dst *string
		max int
	}{
		{"title", &u.Title, 200}, {"email", &u.Email, 50}, {"job_number", &u.JobNumber, 50},
		{"telephone", &u.Telephone, 50}, {"work_place", &u.WorkPlace, 100}, {"remark", &u.Remark, 2000},
		{"manager_userid", &u.ManagerUserID, 64},
	}
	for _, l := range limits {
		v, _ := rq.params.str(l.key)
		if utf8.RuneCountInString(v) > l.max {
			return fail(40035, fmt.Sprintf("不合法的参数: %s 超过%d个字符", l.key, l.max))
		}
		*l.dst = v
	}
	if u.Email != "" {
		for _, x := range s.dir.users {
			if x.Email == u.Email {
				return fail(60106, "邮箱在公司中已存在")
			}
		}
	}
	if hd, _, err := rq.params.int64("hired_date"); err != nil {
		return badParam(err)
	} else {
		u.HiredDate = hd
	}
	p, err := s.dir.addUser(u)
	if err != nil {
		return userCreateError(err)
	}
	s.emitUser("user_add_org", p.UserID)
	return ok(map[string]any{"result": map[string]any{"userid": p.UserID, "unionId": p.UnionID}})
}

// POST topapi/v2/user/update
func (s *Server) userUpdate(rq *request) reply {
	id, _ := rq.params.str("userid")
	if id == "" {
		return missing("userid")
	}
	u, found := s.dir.users[id]
	if !found {
		return fail(60121, "找不到该用户")
	}
	upd := cloneUser(u)
	if name, has := rq.params.str("name"); has {
		if name == "" || utf8.RuneCountInString(name) > 80 {
			return fail(40035, "不合法的参数: name")
		}
		upd.Name = name
	}
	fields := []struct {
		key string
		dst *string
	}{
		{"title", &upd.Title}, {"email", &upd.Email}, {"job_number", &upd.JobNumber}, {"telephone", &upd.Telephone},
		{"work_place", &upd.WorkPlace}, {"remark", &upd.Remark}, {"manager_userid", &upd.ManagerUserID},
	}
	for _, f := range fields {
		if v, has := rq.params.str(f.key); has {
			*f.dst = v
		}
	}
	if hd, has, err := rq.params.int64("hired_date"); err != nil {
		return badParam(err)
	} else if has {
		upd.HiredDate = hd
	}
	depts, hasDepts, err := rq.params.intList("dept_id_list")
	if err != nil {
		return badParam(err)
	}
	if hasDepts {
		for _, d := range depts {
			if _, ok := s.dir.depts[d]; !ok {
				return fail(60003, "部门不存在")
			}
		}
		if err := s.dir.setUserDepts(u, depts); err != nil {
			return badParam(err)
		}
		upd.DeptIDs, upd.LeaderIn = u.DeptIDs, u.LeaderIn
	}
	*u = upd
	s.emitUser("user_modify_org", id)
	return ok(nil)
}

// POST topapi/v2/user/delete
func (s *Server) userDelete(rq *request) reply {
	id, _ := rq.params.str("userid")
	if id == "" {
		return missing("userid")
	}
	if err := s.dir.removeUser(id); err != nil {
		return fail(60121, "找不到该用户")
	}
	s.emitUser("user_leave_org", id)
	return ok(nil)
}

// POST topapi/user/getbyunionid
func (s *Server) userGetByUnionID(rq *request) reply {
	union, _ := rq.params.str("unionid")
	if union == "" {
		return missing("unionid")
	}
	id, found := s.dir.byUnion[union]
	if !found {
		return fail(60121, "找不到该用户")
	}
	return ok(map[string]any{"result": map[string]any{"contact_type": 0, "userid": id}})
}

// roleGroup is a fixed role group (角色组) of the fake organisation.
type roleGroup struct {
	id    int64
	name  string
	roles []role
}

type role struct {
	id   int64
	name string
}

var roleGroups = []roleGroup{
	{1, "默认", []role{{1001, "主管理员"}, {1002, "子管理员"}, {1003, "负责人"}, {1004, "主管"}}},
	{2, "职务", []role{{2001, "财务"}, {2002, "人事"}, {2003, "行政"}}},
	{3, "岗位", []role{{3001, "研发"}, {3002, "销售"}}},
}

func rolesOf(u *User) []map[string]any {
	out := []map[string]any{}
	if u.Admin {
		out = append(out, map[string]any{"id": 1001, "name": "主管理员", "group_name": "默认"})
	}
	if len(u.LeaderIn) > 0 {
		out = append(out, map[string]any{"id": 1003, "name": "负责人", "group_name": "默认"})
	}
	return out
}

// POST topapi/role/list
func (s *Server) roleList(rq *request) reply {
	offset, hasOff, err := rq.params.int64("offset")
	if err != nil || offset < 0 {
		return fail(40068, "不合法的偏移量")
	}
	size, hasSize, err := rq.params.int64("size")
	if err != nil || (hasSize && (size < 1 || size > 200)) {
		return fail(40069, "不合法的分页大小(1-200)")
	}
	if !hasOff || !hasSize {
		offset, size = 0, int64(len(roleGroups))
	}
	list := []map[string]any{}
	end := min(int(offset+size), len(roleGroups))
	for i := min(int(offset), len(roleGroups)); i < end; i++ {
		g := roleGroups[i]
		roles := make([]map[string]any, 0, len(g.roles))
		for _, r := range g.roles {
			roles = append(roles, map[string]any{"id": r.id, "name": r.name})
		}
		list = append(list, map[string]any{"groupId": g.id, "name": g.name, "roles": roles})
	}
	return ok(map[string]any{"result": map[string]any{"hasMore": end < len(roleGroups), "list": list}})
}

// POST topapi/role/getrolegroup
func (s *Server) roleGetGroup(rq *request) reply {
	id, rep, bad := rq.params.needInt64("group_id")
	if bad {
		return rep
	}
	for _, g := range roleGroups {
		if g.id == id {
			roles := make([]map[string]any, 0, len(g.roles))
			for _, r := range g.roles {
				roles = append(roles, map[string]any{"role_id": r.id, "role_name": r.name})
			}
			return ok(map[string]any{"role_group": map[string]any{"group_name": g.name, "roles": roles}})
		}
	}
	return fail(400002, "角色组不存在")
}
