package dingtalktest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// RootDeptID is the id of the organisation's root department (根部门).
const RootDeptID int64 = 1

// Org is an organisation: a department tree and its users. It is the JSON
// shape accepted by LoadOrg and produced by Server.Org.
type Org struct {
	// CorpName names the root department.
	CorpName string `json:"corp_name,omitempty"`
	// Departments lists every department, in any order; the root (id 1)
	// is added when absent.
	Departments []Department `json:"departments"`
	// Users lists every user; each belongs to one or more departments.
	Users []User `json:"users"`
}

// Department is one department (部门).
type Department struct {
	ID              int64    `json:"dept_id"`
	ParentID        int64    `json:"parent_id"`
	Name            string   `json:"name"`
	Order           int64    `json:"order,omitempty"`
	ManagerUserIDs  []string `json:"dept_manager_userid_list,omitempty"`
	CreateDeptGroup bool     `json:"create_dept_group,omitempty"`
	AutoAddUser     bool     `json:"auto_add_user,omitempty"`
	SourceID        string   `json:"source_identifier,omitempty"`
}

// User is one member of the organisation (成员).
type User struct {
	UserID        string  `json:"userid"`
	UnionID       string  `json:"unionid"`
	Name          string  `json:"name"`
	Mobile        string  `json:"mobile"`
	Title         string  `json:"title,omitempty"`
	Email         string  `json:"email,omitempty"`
	JobNumber     string  `json:"job_number,omitempty"`
	WorkPlace     string  `json:"work_place,omitempty"`
	Telephone     string  `json:"telephone,omitempty"`
	Remark        string  `json:"remark,omitempty"`
	ManagerUserID string  `json:"manager_userid,omitempty"`
	HiredDate     int64   `json:"hired_date,omitempty"`
	DeptIDs       []int64 `json:"dept_id_list"`
	// LeaderIn lists the departments the user leads (主管).
	LeaderIn []int64 `json:"leader_in_dept,omitempty"`
	Admin    bool    `json:"admin,omitempty"`
	Boss     bool    `json:"boss,omitempty"`
	// Inactive marks a user who has not activated DingTalk.
	Inactive bool `json:"inactive,omitempty"`
}

// LoadOrg decodes an Org from JSON.
func LoadOrg(r io.Reader) (*Org, error) {
	var o Org
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("dingtalktest: decode org: %w", err)
	}
	return &o, nil
}

// LoadOrgFile decodes an Org from a JSON file.
func LoadOrgFile(path string) (*Org, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: %w", err)
	}
	defer f.Close()
	return LoadOrg(f)
}

// OrgSpec describes a generated organisation.
type OrgSpec struct {
	// Users is the number of users (0 gives an empty organisation).
	Users int
	// DeptSize is the average number of direct members per department;
	// default 25.
	DeptSize int
	// Fanout is the number of sub-departments per department; default 6.
	Fanout int
	// MultiDeptEvery puts every n-th user in a second department; default
	// 10, negative disables.
	MultiDeptEvery int
	// Seed varies names and unionids; the same spec always gives the same
	// organisation.
	Seed uint64
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
		"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "欧阳", "司马"}
	givenNames = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞",
		"平", "刚", "桂英", "建华", "文", "华", "红", "建国", "志强", "晓东", "海燕", "宇", "欣怡", "子涵", "浩然", "梓萱", "思远", "雨桐", "嘉怡", "俊杰"}
	deptNames = []string{"研发", "产品", "销售", "市场", "财务", "人力资源", "行政", "法务", "客服", "运维", "测试", "设计", "采购", "供应链", "品牌"}
	titles    = []string{"工程师", "高级工程师", "产品经理", "销售代表", "会计", "人事专员", "行政助理", "设计师", "测试工程师", "运维工程师", "经理", "总监"}
)

// GenerateOrg builds a deterministic organisation: a department tree of
// about Users/DeptSize departments under the root, users spread over them
// round-robin, the first member of each department its leader, and every
// MultiDeptEvery-th user also in a second department.
func GenerateOrg(spec OrgSpec) *Org {
	if spec.DeptSize <= 0 {
		spec.DeptSize = 25
	}
	if spec.Fanout <= 0 {
		spec.Fanout = 6
	}
	if spec.MultiDeptEvery == 0 {
		spec.MultiDeptEvery = 10
	}
	nDept := spec.Users / spec.DeptSize
	o := &Org{CorpName: "示例科技有限公司"}
	o.Departments = make([]Department, 0, nDept+1)
	o.Departments = append(o.Departments, Department{ID: RootDeptID, Name: o.CorpName})
	ids := make([]int64, 0, nDept+1)
	ids = append(ids, RootDeptID)
	for k := 1; k <= nDept; k++ {
		id := int64(100000 + k)
		parent := ids[(k-1)/spec.Fanout]
		o.Departments = append(o.Departments, Department{
			ID: id, ParentID: parent,
			Name:  fmt.Sprintf("%s%d部", deptNames[k%len(deptNames)], k),
			Order: int64(k),
		})
		ids = append(ids, id)
	}
	o.Users = make([]User, spec.Users)
	leader := make(map[int64]string, len(ids))
	for i := range spec.Users {
		h := mix(spec.Seed, uint64(i))
		dept := ids[i%len(ids)]
		u := User{
			UserID:    "user" + pad(i, 6),
			UnionID:   unionIDFor(h, i),
			Name:      surnames[h%uint64(len(surnames))] + givenNames[(h>>16)%uint64(len(givenNames))],
			Mobile:    "13" + pad(i, 9),
			Title:     titles[(h>>32)%uint64(len(titles))],
			JobNumber: pad(i+1, 6),
			HiredDate: 1600000000000 + int64(i)*3600_000,
			DeptIDs:   []int64{dept},
		}
		if spec.MultiDeptEvery > 0 && i%spec.MultiDeptEvery == spec.MultiDeptEvery-1 && len(ids) > 1 {
			second := ids[(i*7+3)%len(ids)]
			if second != dept {
				u.DeptIDs = append(u.DeptIDs, second)
			}
		}
		if l, ok := leader[dept]; ok {
			u.ManagerUserID = l
		} else {
			leader[dept] = u.UserID
			u.LeaderIn = []int64{dept}
		}
		if i == 0 {
			u.Admin, u.Boss, u.Title = true, true, "总经理"
		}
		o.Users[i] = u
	}
	for k := range o.Departments {
		if l, ok := leader[o.Departments[k].ID]; ok {
			o.Departments[k].ManagerUserIDs = []string{l}
		}
	}
	return o
}

// DemoOrg is a small, realistic organisation for `dingfn dev`: a handful of
// departments and a dozen people with Chinese names, one of them in two
// departments.
func DemoOrg() *Org {
	o := &Org{CorpName: "钉峰科技有限公司"}
	o.Departments = []Department{
		{ID: RootDeptID, Name: o.CorpName},
		{ID: 2, ParentID: 1, Name: "研发中心", Order: 1, ManagerUserIDs: []string{"lisi"}},
		{ID: 3, ParentID: 2, Name: "后端组", Order: 1, ManagerUserIDs: []string{"wangwu"}},
		{ID: 4, ParentID: 2, Name: "前端组", Order: 2, ManagerUserIDs: []string{"zhaoliu"}},
		{ID: 5, ParentID: 1, Name: "市场部", Order: 2, ManagerUserIDs: []string{"sunqi"}},
		{ID: 6, ParentID: 1, Name: "财务部", Order: 3, ManagerUserIDs: []string{"zhouba"}},
		{ID: 7, ParentID: 1, Name: "人力资源部", Order: 4, ManagerUserIDs: []string{"wujiu"}},
	}
	type p struct {
		id, name, title string
		depts           []int64
		leader          bool
	}
	people := []p{
		{"zhangsan", "张三", "总经理", []int64{1}, true},
		{"lisi", "李四", "技术总监", []int64{2}, true},
		{"wangwu", "王五", "后端工程师", []int64{3}, true},
		{"zhaoliu", "赵六", "前端工程师", []int64{4}, true},
		{"sunqi", "孙七", "市场经理", []int64{5}, true},
		{"zhouba", "周八", "财务经理", []int64{6}, true},
		{"wujiu", "吴九", "人事经理", []int64{7}, true},
		{"zhengshi", "郑十", "后端工程师", []int64{3}, false},
		{"chenjing", "陈静", "测试工程师", []int64{3, 4}, false},
		{"liuyang", "刘洋", "市场专员", []int64{5}, false},
		{"huangli", "黄丽", "会计", []int64{6}, false},
		{"linfang", "林芳", "招聘专员", []int64{7}, false},
	}
	for i, x := range people {
		u := User{
			UserID: x.id, UnionID: unionIDFor(mix(42, uint64(i)), i), Name: x.name,
			Mobile: fmt.Sprintf("1380013%04d", i), Title: x.title, DeptIDs: x.depts,
			JobNumber: fmt.Sprintf("DF%03d", i+1), WorkPlace: "杭州",
			Email: x.id + "@example.com", HiredDate: 1577836800000 + int64(i)*86400_000*30,
		}
		if x.leader {
			u.LeaderIn = []int64{x.depts[0]}
		}
		if i == 0 {
			u.Admin, u.Boss = true, true
		}
		o.Users = append(o.Users, u)
	}
	return o
}

// pad formats n with leading zeros to width digits (fmt-free: generation
// of 100 000 users is on every large test's path).
func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// mix is a SplitMix64 step: cheap, deterministic variety without math/rand.
func mix(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// unionIDFor shapes a unionid like DingTalk's (opaque letters ending in
// "iE"); the index suffix keeps it unique.
func unionIDFor(h uint64, i int) string {
	var b strings.Builder
	for range 10 {
		b.WriteByte(idAlphabet[h%uint64(len(idAlphabet))])
		h /= uint64(len(idAlphabet))
	}
	b.WriteString(strconv.FormatInt(int64(i), 36))
	b.WriteString("iE")
	return b.String()
}

// opaqueID derives an unguessable-looking id from a label and a counter.
func opaqueID(label string, n uint64) string {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], n)
	sum := sha256.Sum256(append([]byte(label), buf[:]...))
	return fmt.Sprintf("%x", sum[:16])
}

// directory is the server's mutable organisation state. It is guarded by
// the server's mutex.
type directory struct {
	corpName  string
	depts     map[int64]*Department
	deptOrder []int64            // every department id in insertion order
	children  map[int64][]int64  // ordered by insertion
	members   map[int64][]string // direct members, ordered by insertion
	users     map[string]*User
	order     []string            // every userid in insertion order; read it with ids
	stale     map[string]struct{} // removed users still listed in order
	gen       uint64              // bumped when the set of users changes
	byUnion   map[string]string
	byMobile  map[string]string
	nextDept  int64
	nextUser  uint64
}

var (
	errNotFound = errors.New("not found")
	errExists   = errors.New("already exists")
)

func newDirectory(o *Org) (*directory, error) {
	d := &directory{
		corpName: o.CorpName,
		depts:    make(map[int64]*Department, len(o.Departments)+1),
		children: make(map[int64][]int64, len(o.Departments)+1),
		members:  make(map[int64][]string, len(o.Departments)+1),
		users:    make(map[string]*User, len(o.Users)),
		order:    make([]string, 0, len(o.Users)),
		byUnion:  make(map[string]string, len(o.Users)),
		byMobile: make(map[string]string, len(o.Users)),
		nextDept: 1000000,
	}
	if d.corpName == "" {
		d.corpName = "示例科技有限公司"
	}
	d.depts[RootDeptID] = &Department{ID: RootDeptID, Name: d.corpName}
	d.deptOrder = append(d.deptOrder, RootDeptID)
	// Departments may come in any order: add those whose parent exists,
	// pass after pass.
	pending := make([]Department, 0, len(o.Departments))
	for _, dp := range o.Departments {
		if dp.ID == RootDeptID {
			root := dp
			root.ParentID = 0
			if root.Name == "" {
				root.Name = d.corpName
			}
			d.depts[RootDeptID] = &root
			continue
		}
		pending = append(pending, dp)
	}
	for len(pending) > 0 {
		var later []Department
		for _, dp := range pending {
			if _, ok := d.depts[dp.ParentID]; !ok {
				later = append(later, dp)
				continue
			}
			if _, err := d.addDept(dp); err != nil {
				return nil, fmt.Errorf("dingtalktest: department %d: %w", dp.ID, err)
			}
		}
		if len(later) == len(pending) {
			return nil, fmt.Errorf("dingtalktest: department %d: parent %d: %w", later[0].ID, later[0].ParentID, errNotFound)
		}
		pending = later
	}
	for _, u := range o.Users {
		if _, err := d.addUser(u); err != nil {
			return nil, fmt.Errorf("dingtalktest: user %q: %w", u.UserID, err)
		}
	}
	return d, nil
}

func (d *directory) addDept(dp Department) (*Department, error) {
	if dp.Name == "" {
		return nil, errors.New("name is required")
	}
	if _, ok := d.depts[dp.ParentID]; !ok {
		return nil, fmt.Errorf("parent %d: %w", dp.ParentID, errNotFound)
	}
	if dp.ID == 0 {
		d.nextDept++
		for d.depts[d.nextDept] != nil {
			d.nextDept++
		}
		dp.ID = d.nextDept
	}
	if _, ok := d.depts[dp.ID]; ok {
		return nil, fmt.Errorf("dept %d: %w", dp.ID, errExists)
	}
	for _, c := range d.children[dp.ParentID] {
		if d.depts[c].Name == dp.Name {
			return nil, fmt.Errorf("name %q under %d: %w", dp.Name, dp.ParentID, errExists)
		}
	}
	p := &dp
	p.ManagerUserIDs = slices.Clone(dp.ManagerUserIDs)
	d.depts[dp.ID] = p
	d.children[dp.ParentID] = append(d.children[dp.ParentID], dp.ID)
	d.deptOrder = append(d.deptOrder, dp.ID)
	return p, nil
}

func (d *directory) addUser(u User) (*User, error) {
	if u.Name == "" {
		return nil, errors.New("name is required")
	}
	if len(u.DeptIDs) == 0 {
		return nil, errors.New("dept_id_list is required")
	}
	for _, id := range u.DeptIDs {
		if _, ok := d.depts[id]; !ok {
			return nil, fmt.Errorf("dept %d: %w", id, errNotFound)
		}
	}
	if u.UserID == "" {
		for {
			d.nextUser++
			u.UserID = fmt.Sprintf("%016d", 1000000000000000+d.nextUser)
			if d.users[u.UserID] == nil {
				break
			}
		}
	}
	if _, ok := d.users[u.UserID]; ok {
		return nil, fmt.Errorf("userid %q: %w", u.UserID, errExists)
	}
	if u.Mobile != "" {
		if _, ok := d.byMobile[u.Mobile]; ok {
			return nil, fmt.Errorf("mobile %q: %w", u.Mobile, errExists)
		}
	}
	if u.UnionID == "" {
		d.nextUser++
		u.UnionID = unionIDFor(mix(7, d.nextUser), int(d.nextUser)) + "x"
	}
	if _, ok := d.byUnion[u.UnionID]; ok {
		return nil, fmt.Errorf("unionid %q: %w", u.UnionID, errExists)
	}
	if _, back := d.stale[u.UserID]; back {
		d.ids() // compact first, so a re-added userid is listed once
	}
	d.gen++
	p := &u
	p.DeptIDs = slices.Compact(slices.Clone(u.DeptIDs))
	p.LeaderIn = slices.Clone(u.LeaderIn)
	d.users[u.UserID] = p
	d.order = append(d.order, u.UserID)
	d.byUnion[u.UnionID] = u.UserID
	if u.Mobile != "" {
		d.byMobile[u.Mobile] = u.UserID
	}
	for _, id := range p.DeptIDs {
		d.members[id] = append(d.members[id], u.UserID)
	}
	return p, nil
}

func (d *directory) removeUser(userid string) error {
	u, ok := d.users[userid]
	if !ok {
		return fmt.Errorf("user %q: %w", userid, errNotFound)
	}
	for _, id := range u.DeptIDs {
		d.members[id] = deleteString(d.members[id], userid)
	}
	delete(d.users, userid)
	delete(d.byUnion, u.UnionID)
	delete(d.byMobile, u.Mobile)
	// Leave it in order and compact lazily: removing many users one by one
	// stays linear.
	if d.stale == nil {
		d.stale = map[string]struct{}{}
	}
	d.stale[userid] = struct{}{}
	d.gen++
	return nil
}

// setUserDepts moves a user to exactly the given departments.
func (d *directory) setUserDepts(u *User, ids []int64) error {
	if len(ids) == 0 {
		return errors.New("dept_id_list is required")
	}
	for _, id := range ids {
		if _, ok := d.depts[id]; !ok {
			return fmt.Errorf("dept %d: %w", id, errNotFound)
		}
	}
	for _, id := range u.DeptIDs {
		d.members[id] = deleteString(d.members[id], u.UserID)
	}
	u.DeptIDs = slices.Compact(slices.Clone(ids))
	u.LeaderIn = slices.DeleteFunc(u.LeaderIn, func(id int64) bool { return !slices.Contains(u.DeptIDs, id) })
	for _, id := range u.DeptIDs {
		d.members[id] = append(d.members[id], u.UserID)
	}
	return nil
}

func (d *directory) removeDept(id int64) error {
	if id == RootDeptID {
		return errors.New("the root department cannot be deleted")
	}
	dp, ok := d.depts[id]
	if !ok {
		return fmt.Errorf("dept %d: %w", id, errNotFound)
	}
	if d.hasMembers(id) {
		return errors.New("department or a sub-department still has members")
	}
	gone := map[int64]bool{}
	for _, x := range d.subtree(id) {
		gone[x] = true
		delete(d.children, x)
		delete(d.members, x)
		delete(d.depts, x)
	}
	d.children[dp.ParentID] = slices.DeleteFunc(d.children[dp.ParentID], func(c int64) bool { return c == id })
	d.deptOrder = slices.DeleteFunc(d.deptOrder, func(x int64) bool { return gone[x] })
	return nil
}

func (d *directory) hasMembers(id int64) bool {
	if len(d.members[id]) > 0 {
		return true
	}
	for _, c := range d.children[id] {
		if d.hasMembers(c) {
			return true
		}
	}
	return false
}

// moveDept reparents a department, refusing cycles.
func (d *directory) moveDept(id, parent int64) error {
	dp, ok := d.depts[id]
	if !ok {
		return fmt.Errorf("dept %d: %w", id, errNotFound)
	}
	if id == RootDeptID {
		return errors.New("the root department cannot be moved")
	}
	if _, ok := d.depts[parent]; !ok {
		return fmt.Errorf("parent %d: %w", parent, errNotFound)
	}
	for x := parent; x != 0; x = d.depts[x].ParentID {
		if x == id {
			return errors.New("moving a department under itself makes a cycle")
		}
	}
	if dp.ParentID == parent {
		return nil
	}
	d.children[dp.ParentID] = slices.DeleteFunc(d.children[dp.ParentID], func(c int64) bool { return c == id })
	dp.ParentID = parent
	d.children[parent] = append(d.children[parent], id)
	return nil
}

// subtree returns id and every department below it.
func (d *directory) subtree(id int64) []int64 {
	out := []int64{id}
	for i := 0; i < len(out); i++ {
		out = append(out, d.children[out[i]]...)
	}
	return out
}

func (d *directory) snapshot() *Org {
	o := &Org{CorpName: d.corpName}
	for _, id := range d.deptOrder {
		dp := *d.depts[id]
		dp.ManagerUserIDs = slices.Clone(dp.ManagerUserIDs)
		o.Departments = append(o.Departments, dp)
	}
	o.Users = make([]User, 0, len(d.users))
	for _, id := range d.ids() {
		o.Users = append(o.Users, cloneUser(d.users[id]))
	}
	return o
}

// ids returns every userid in insertion order.
func (d *directory) ids() []string {
	if len(d.stale) > 0 {
		d.order = slices.DeleteFunc(d.order, func(id string) bool {
			_, gone := d.stale[id]
			return gone
		})
		clear(d.stale)
	}
	return d.order
}

func cloneUser(u *User) User {
	c := *u
	c.DeptIDs = slices.Clone(u.DeptIDs)
	c.LeaderIn = slices.Clone(u.LeaderIn)
	return c
}

func deleteString(s []string, v string) []string {
	if i := slices.Index(s, v); i >= 0 {
		return slices.Delete(s, i, i+1)
	}
	return s
}
