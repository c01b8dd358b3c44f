package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// The mirror's tables (logical names; the store adds DINGFN_TABLE_PREFIX).
// Their keys and JSON values are a public contract, documented in the
// package documentation and the README.
const (
	// UsersTable holds one User per userid, tombstones included.
	UsersTable = "dir_users"
	// DepartmentsTable holds one Department per department id in decimal.
	DepartmentsTable = "dir_departments"
	// UnionIDsTable maps a unionid to the userid of a current member.
	UnionIDsTable = "dir_unionids"
	// MembersTable holds each department's direct members (Members), keyed
	// like DepartmentsTable.
	MembersTable = "dir_members"
	// StateTable holds the sync's status and the checkpoint of an
	// unfinished walk.
	StateTable = "dir_state"
)

// User is a member of the organisation (成员) as the mirror keeps it: the
// canonical fields dingfn reads, plus Raw, what DingTalk returned.
type User struct {
	UserID  string `json:"userid"`
	UnionID string `json:"unionid"`
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	// Mobile, Email and OrgEmail are present only when the app's contact
	// permissions return them.
	Mobile        string `json:"mobile,omitempty"`
	Email         string `json:"email,omitempty"`
	OrgEmail      string `json:"org_email,omitempty"`
	JobNumber     string `json:"job_number,omitempty"`
	ManagerUserID string `json:"manager_userid,omitempty"`
	// DeptIDs are the departments the user is a direct member of.
	DeptIDs []int64 `json:"dept_ids"`
	// DeptOrders is the user's sort order in each department (larger first).
	DeptOrders []DeptOrder `json:"dept_orders,omitempty"`
	// LeaderIn lists the departments the user leads (主管), ascending.
	LeaderIn []int64 `json:"leader_in,omitempty"`
	Active   bool    `json:"active"`
	Admin    bool    `json:"admin,omitempty"`
	Boss     bool    `json:"boss,omitempty"`
	// Raw is DingTalk's record with its keys sorted, without the keys that
	// depend on which call returned it (see userVolatileKeys).
	Raw json.RawMessage `json:"raw,omitempty"`
	// Hash is the content hash of every field above; ChangedAt is when the
	// mirror last stored a different Hash (or the tombstone).
	Hash      string    `json:"hash"`
	ChangedAt time.Time `json:"changed_at"`
	// LeftAt is set on a tombstone: the user left the organisation (or the
	// app's contact scope) then. The row expires after the retention.
	LeftAt time.Time `json:"left_at,omitzero"`
}

// DeptOrder is a user's sort order within one department.
type DeptOrder struct {
	DeptID int64 `json:"dept_id"`
	Order  int64 `json:"order"`
}

// Department is a department (部门) as the mirror keeps it.
type Department struct {
	DeptID int64  `json:"dept_id"`
	Name   string `json:"name"`
	// ParentID is 0 for the root department.
	ParentID       int64    `json:"parent_id"`
	Order          int64    `json:"order"`
	ManagerUserIDs []string `json:"manager_userids,omitempty"`
	// Raw is department/get's result with its keys sorted, without the
	// member counts (they change with every membership change and are
	// derived from Members).
	Raw       json.RawMessage `json:"raw,omitempty"`
	Hash      string          `json:"hash"`
	ChangedAt time.Time       `json:"changed_at"`
}

// Members is a department's direct membership.
type Members struct {
	DeptID int64 `json:"dept_id"`
	// UserIDs are the direct members, sorted bytewise; display order is
	// each User's DeptOrders.
	UserIDs   []string  `json:"userids"`
	Hash      string    `json:"hash"`
	ChangedAt time.Time `json:"changed_at"`
}

// UnionID is a row of the unionid index: a scan login yields a unionid,
// this row gives the employee.
type UnionID struct {
	UnionID string `json:"unionid"`
	UserID  string `json:"userid"`
}

// DeptKey is the store key of a department and of its members row.
func DeptKey(id int64) string { return strconv.FormatInt(id, 10) }

// contentHash is the hex SHA-256 (first 16 bytes) of v's JSON, computed
// with the bookkeeping fields cleared by the caller, so two records with
// the same content always hash alike.
func contentHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Records are plain structs of strings, numbers and raw JSON that
		// was validated when it was built; Marshal cannot fail on them.
		panic("directory: hash: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// withHash returns u with Hash set from its content.
func (u User) withHash() User {
	c := u
	c.Hash, c.ChangedAt, c.LeftAt = "", time.Time{}, time.Time{}
	u.Hash = contentHash(c)
	return u
}

// withHash returns d with Hash set from its content.
func (d Department) withHash() Department {
	c := d
	c.Hash, c.ChangedAt = "", time.Time{}
	d.Hash = contentHash(c)
	return d
}

// withHash returns m with Hash set from its content.
func (m Members) withHash() Members {
	c := m
	c.Hash, c.ChangedAt = "", time.Time{}
	m.Hash = contentHash(c)
	return m
}
