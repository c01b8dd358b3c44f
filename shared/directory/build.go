package directory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// userVolatileKeys are keys of DingTalk's user record that depend on the
// call that returned it rather than on the user: a department listing
// (v2/user/list) gives the order and leadership in the listed department,
// v2/user/get gives them for every department plus the roles. They are
// folded into DeptOrders and LeaderIn and left out of Raw, so the same
// user read either way hashes alike.
var userVolatileKeys = []string{"dept_order", "leader", "dept_order_list", "leader_in_dept", "role_list"}

// deptVolatileKeys are keys of department/get's result that change with
// every membership change anywhere below the department; Members holds
// the membership itself.
var deptVolatileKeys = []string{"member_count", "owning_member_count"}

// canonicalJSON re-encodes a JSON object with sorted keys at every level,
// numbers kept exactly as sent, and without the keys in drop, so that a
// record DingTalk sends with its keys in another order hashes the same.
func canonicalJSON(raw []byte, drop []string) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	for _, k := range drop {
		delete(m, k)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// userView is the part of DingTalk's user record (v2/user/list item or
// v2/user/get result) the canonical fields come from.
type userView struct {
	UserID        string  `json:"userid"`
	UnionID       string  `json:"unionid"`
	Name          string  `json:"name"`
	Title         string  `json:"title"`
	Mobile        string  `json:"mobile"`
	Email         string  `json:"email"`
	OrgEmail      string  `json:"org_email"`
	JobNumber     string  `json:"job_number"`
	ManagerUserID string  `json:"manager_userid"`
	DeptIDList    []int64 `json:"dept_id_list"`
	Active        bool    `json:"active"`
	Admin         bool    `json:"admin"`
	Boss          bool    `json:"boss"`
	// Listing items: the listed department's order and leadership.
	DeptOrder int64 `json:"dept_order"`
	Leader    bool  `json:"leader"`
	// v2/user/get: the same for every department.
	DeptOrderList []DeptOrder `json:"dept_order_list"`
	LeaderInDept  []struct {
		DeptID int64 `json:"dept_id"`
		Leader bool  `json:"leader"`
	} `json:"leader_in_dept"`
}

// deptFact is what one department's listing says about a member.
type deptFact struct {
	Order  int64 `json:"o"`
	Leader bool  `json:"l,omitempty"`
}

// userSource is one DingTalk record of a user, decoded.
type userSource struct {
	view userView
	raw  json.RawMessage // canonical, without userVolatileKeys
}

func parseUser(raw []byte) (userSource, error) {
	var s userSource
	if err := json.Unmarshal(raw, &s.view); err != nil {
		return s, fmt.Errorf("directory: decode user: %w", err)
	}
	if s.view.UserID == "" {
		return s, fmt.Errorf("directory: user record without userid")
	}
	c, err := canonicalJSON(raw, userVolatileKeys)
	if err != nil {
		return s, fmt.Errorf("directory: user %s: %w", s.view.UserID, err)
	}
	s.raw = c
	return s, nil
}

// getFacts returns the per-department facts of a v2/user/get result.
func (s userSource) getFacts() map[int64]deptFact {
	f := make(map[int64]deptFact, len(s.view.DeptIDList))
	for _, o := range s.view.DeptOrderList {
		x := f[o.DeptID]
		x.Order = o.Order
		f[o.DeptID] = x
	}
	for _, l := range s.view.LeaderInDept {
		x := f[l.DeptID]
		x.Leader = l.Leader
		f[l.DeptID] = x
	}
	return f
}

// record builds the mirror's user from s and the per-department facts
// known for it; facts about departments the user is no longer in are
// dropped.
func (s userSource) record(facts map[int64]deptFact) User {
	v := s.view
	u := User{
		UserID: v.UserID, UnionID: v.UnionID, Name: v.Name, Title: v.Title,
		Mobile: v.Mobile, Email: v.Email, OrgEmail: v.OrgEmail, JobNumber: v.JobNumber,
		ManagerUserID: v.ManagerUserID, DeptIDs: slices.Clone(v.DeptIDList),
		Active: v.Active, Admin: v.Admin, Boss: v.Boss, Raw: s.raw,
	}
	if u.DeptIDs == nil {
		u.DeptIDs = []int64{}
	}
	for _, d := range u.DeptIDs {
		f, ok := facts[d]
		if !ok {
			continue
		}
		u.DeptOrders = append(u.DeptOrders, DeptOrder{DeptID: d, Order: f.Order})
		if f.Leader {
			u.LeaderIn = append(u.LeaderIn, d)
		}
	}
	slices.Sort(u.LeaderIn)
	u.LeaderIn = slices.Compact(u.LeaderIn)
	return u.withHash()
}

// factsOf returns the per-department facts a stored user carries.
func factsOf(u User) map[int64]deptFact {
	f := make(map[int64]deptFact, len(u.DeptIDs))
	for _, o := range u.DeptOrders {
		f[o.DeptID] = deptFact{Order: o.Order}
	}
	for _, d := range u.LeaderIn {
		x := f[d]
		x.Leader = true
		f[d] = x
	}
	return f
}

// deptView is the part of department/get's result the canonical fields
// come from.
type deptView struct {
	DeptID         int64    `json:"dept_id"`
	Name           string   `json:"name"`
	ParentID       int64    `json:"parent_id"`
	Order          int64    `json:"order"`
	ManagerUserIDs []string `json:"dept_manager_userid_list"`
}

// parseDepartment builds the mirror's department from department/get's
// result.
func parseDepartment(raw []byte) (Department, error) {
	var v deptView
	if err := json.Unmarshal(raw, &v); err != nil {
		return Department{}, fmt.Errorf("directory: decode department: %w", err)
	}
	if v.DeptID == 0 {
		return Department{}, fmt.Errorf("directory: department record without dept_id")
	}
	c, err := canonicalJSON(raw, deptVolatileKeys)
	if err != nil {
		return Department{}, fmt.Errorf("directory: department %d: %w", v.DeptID, err)
	}
	d := Department{DeptID: v.DeptID, Name: v.Name, ParentID: v.ParentID, Order: v.Order, Raw: c}
	if len(v.ManagerUserIDs) > 0 {
		d.ManagerUserIDs = slices.Clone(v.ManagerUserIDs)
	}
	return d.withHash(), nil
}

// newMembers builds a department's members row from the userids its
// listing gave, in any order and with repeats.
func newMembers(id int64, userids []string) Members {
	ids := slices.Clone(userids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []string{}
	}
	return Members{DeptID: id, UserIDs: ids}.withHash()
}
