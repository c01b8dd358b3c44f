package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strconv"
	"strings"
)

// ContactService covers the directory (通讯录): departments (部门), users
// (成员) and roles (角色). All calls use the current topapi/v2 endpoints.
type ContactService service

// RootDepartmentID is the id of the organisation's root department.
const RootDepartmentID int64 = 1

// Language selects the language of names in directory replies.
type Language string

// Languages DingTalk accepts.
const (
	LanguageZhCN Language = "zh_CN"
	LanguageEnUS Language = "en_US"
)

// CommaInts is a list of ids sent as DingTalk's "1,2,3" string parameter.
type CommaInts []int64

// MarshalJSON encodes the list as one comma-separated string.
func (l CommaInts) MarshalJSON() ([]byte, error) {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.FormatInt(v, 10)
	}
	return json.Marshal(strings.Join(s, ","))
}

// CommaStrings is a list of ids sent as DingTalk's "a,b,c" string parameter.
type CommaStrings []string

// MarshalJSON encodes the list as one comma-separated string.
func (l CommaStrings) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(l, ","))
}

// Bool returns a pointer to v, for optional request fields.
func Bool(v bool) *bool { return &v }

// Int64 returns a pointer to v, for optional request fields.
func Int64(v int64) *int64 { return &v }

// String returns a pointer to v, for optional request fields.
func String(v string) *string { return &v }

var (
	epDeptListSub   = oapiEP(http.MethodPost, "/topapi/v2/department/listsub", true)
	epDeptListSubID = oapiEP(http.MethodPost, "/topapi/v2/department/listsubid", true)
	epDeptGet       = oapiEP(http.MethodPost, "/topapi/v2/department/get", true)
	epDeptCreate    = oapiEP(http.MethodPost, "/topapi/v2/department/create", false)
	epDeptUpdate    = oapiEP(http.MethodPost, "/topapi/v2/department/update", false)
	epDeptDelete    = oapiEP(http.MethodPost, "/topapi/v2/department/delete", false)
	epUserList      = oapiEP(http.MethodPost, "/topapi/v2/user/list", true)
	epUserListSimp  = oapiEP(http.MethodPost, "/topapi/user/listsimple", true)
	epUserListID    = oapiEP(http.MethodPost, "/topapi/user/listid", true)
	epUserGet       = oapiEP(http.MethodPost, "/topapi/v2/user/get", true)
	epUserCreate    = oapiEP(http.MethodPost, "/topapi/v2/user/create", false)
	epUserUpdate    = oapiEP(http.MethodPost, "/topapi/v2/user/update", false)
	epUserDelete    = oapiEP(http.MethodPost, "/topapi/v2/user/delete", false)
	epRoleList      = oapiEP(http.MethodPost, "/topapi/role/list", true)
	epRoleGetGroup  = oapiEP(http.MethodPost, "/topapi/role/getrolegroup", true)
)

// Department is a direct child department as listed by ListSubDepartments.
type Department struct {
	DeptID          int64  `json:"dept_id"`
	Name            string `json:"name"`
	ParentID        int64  `json:"parent_id"`
	CreateDeptGroup bool   `json:"create_dept_group"`
	AutoAddUser     bool   `json:"auto_add_user"`
}

// DepartmentDetail is a department as returned by GetDepartment.
type DepartmentDetail struct {
	DeptID                int64         `json:"dept_id"`
	Name                  string        `json:"name"`
	ParentID              int64         `json:"parent_id"`
	Order                 int64         `json:"order"`
	Code                  string        `json:"code,omitempty"`
	SourceIdentifier      string        `json:"source_identifier,omitempty"`
	Tags                  string        `json:"tags,omitempty"`
	FromUnionOrg          bool          `json:"from_union_org"`
	CreateDeptGroup       bool          `json:"create_dept_group"`
	AutoAddUser           bool          `json:"auto_add_user"`
	DeptGroupChatID       string        `json:"dept_group_chat_id,omitempty"`
	GroupContainSubDept   bool          `json:"group_contain_sub_dept"`
	OrgDeptOwner          string        `json:"org_dept_owner,omitempty"`
	DeptManagerUserIDList []string      `json:"dept_manager_userid_list,omitempty"`
	OuterDept             bool          `json:"outer_dept"`
	OuterPermitDepts      []int64       `json:"outer_permit_depts,omitempty"`
	OuterPermitUsers      []string      `json:"outer_permit_users,omitempty"`
	HideDept              bool          `json:"hide_dept"`
	DeptPermits           []int64       `json:"dept_permits,omitempty"`
	UserPermits           []string      `json:"user_permits,omitempty"`
	AutoApproveApply      bool          `json:"auto_approve_apply"`
	MemberCount           int64         `json:"member_count"`
	OwningMemberCount     int64         `json:"owning_member_count"`
	UnionDeptExt          *UnionDeptExt `json:"union_dept_ext,omitempty"`
}

// UnionDeptExt links a department of a union organisation.
type UnionDeptExt struct {
	CorpID string `json:"corp_id"`
	DeptID int64  `json:"dept_id"`
}

type deptLangRequest struct {
	DeptID   int64    `json:"dept_id"`
	Language Language `json:"language,omitempty"`
}

// ListSubDepartments lists the direct children of a department
// (RootDepartmentID for the top level). Replaces GET /department/list.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/user-management-acquires-the-list-departments
func (s *ContactService) ListSubDepartments(ctx context.Context, deptID int64, lang Language) ([]Department, error) {
	var out struct {
		Result []Department `json:"result"`
	}
	if err := s.client.oapi(ctx, epDeptListSub, nil, deptLangRequest{deptID, lang}, &out); err != nil {
		return nil, err
	}
	return out.Result, nil
}

// ListSubDepartmentIDs lists the ids of the direct children of a
// department. Replaces GET /department/list_ids.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtain-the-list-of-sub-department-ids
func (s *ContactService) ListSubDepartmentIDs(ctx context.Context, deptID int64) ([]int64, error) {
	var out struct {
		Result struct {
			DeptIDList []int64 `json:"dept_id_list"`
		} `json:"result"`
	}
	if err := s.client.oapi(ctx, epDeptListSubID, nil, map[string]int64{"dept_id": deptID}, &out); err != nil {
		return nil, err
	}
	return out.Result.DeptIDList, nil
}

// WalkDepartments yields every department below root (not root itself),
// breadth first, by calling ListSubDepartments on each. It replaces the old
// department/list?fetch_child=true. On an error it yields the error once
// and stops. Departments seen twice (a cycle in bad data) are skipped.
func (s *ContactService) WalkDepartments(ctx context.Context, root int64, lang Language) iter.Seq2[Department, error] {
	return walkDepartments(root, func(id int64) ([]Department, error) {
		return s.ListSubDepartments(ctx, id, lang)
	}, func(d Department) int64 { return d.DeptID })
}

// WalkDepartmentIDs yields the id of every department below root,
// breadth first, by calling ListSubDepartmentIDs on each. It replaces the
// recursive use of the old department/list_ids.
func (s *ContactService) WalkDepartmentIDs(ctx context.Context, root int64) iter.Seq2[int64, error] {
	return walkDepartments(root, func(id int64) ([]int64, error) {
		return s.ListSubDepartmentIDs(ctx, id)
	}, func(id int64) int64 { return id })
}

// GetDepartment returns a department's details. Replaces GET
// /department/get.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/query-department-details0-v2
func (s *ContactService) GetDepartment(ctx context.Context, deptID int64, lang Language) (*DepartmentDetail, error) {
	return result[DepartmentDetail](ctx, s.client, epDeptGet, nil, deptLangRequest{deptID, lang})
}

// CreateDepartmentRequest creates a department. Name and ParentID are
// required; nil fields are left to DingTalk's defaults.
type CreateDepartmentRequest struct {
	Name              string       `json:"name"`
	ParentID          int64        `json:"parent_id"`
	HideDept          *bool        `json:"hide_dept,omitempty"`
	DeptPermits       CommaInts    `json:"dept_permits,omitempty"`
	UserPermits       CommaStrings `json:"user_permits,omitempty"`
	OuterDept         *bool        `json:"outer_dept,omitempty"`
	OuterDeptOnlySelf *bool        `json:"outer_dept_only_self,omitempty"`
	OuterPermitUsers  CommaStrings `json:"outer_permit_users,omitempty"`
	OuterPermitDepts  CommaInts    `json:"outer_permit_depts,omitempty"`
	CreateDeptGroup   *bool        `json:"create_dept_group,omitempty"`
	AutoApproveApply  *bool        `json:"auto_approve_apply,omitempty"`
	Order             *int64       `json:"order,omitempty"`
	SourceIdentifier  string       `json:"source_identifier,omitempty"`
}

// CreateDepartment creates a department and returns its id. Replaces POST
// /department/create. It is never resent after a failure with an unknown
// outcome; look the department up by name before retrying.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/address-book-creation-department-established-department
func (s *ContactService) CreateDepartment(ctx context.Context, req *CreateDepartmentRequest) (int64, error) {
	if req == nil || req.Name == "" || req.ParentID == 0 {
		return 0, errors.New("dingtalk: CreateDepartment needs Name and ParentID")
	}
	var out struct {
		Result struct {
			DeptID int64 `json:"dept_id"`
		} `json:"result"`
	}
	if err := s.client.oapi(ctx, epDeptCreate, nil, req, &out); err != nil {
		return 0, err
	}
	return out.Result.DeptID, nil
}

// UpdateDepartmentRequest updates a department. DeptID is required; nil
// and empty fields are left unchanged.
type UpdateDepartmentRequest struct {
	DeptID                 int64        `json:"dept_id"`
	Name                   string       `json:"name,omitempty"`
	ParentID               *int64       `json:"parent_id,omitempty"`
	HideDept               *bool        `json:"hide_dept,omitempty"`
	DeptPermits            CommaInts    `json:"dept_permits,omitempty"`
	UserPermits            CommaStrings `json:"user_permits,omitempty"`
	OuterDept              *bool        `json:"outer_dept,omitempty"`
	OuterDeptOnlySelf      *bool        `json:"outer_dept_only_self,omitempty"`
	OuterPermitUsers       CommaStrings `json:"outer_permit_users,omitempty"`
	OuterPermitDepts       CommaInts    `json:"outer_permit_depts,omitempty"`
	CreateDeptGroup        *bool        `json:"create_dept_group,omitempty"`
	AutoApproveApply       *bool        `json:"auto_approve_apply,omitempty"`
	Order                  *int64       `json:"order,omitempty"`
	SourceIdentifier       string       `json:"source_identifier,omitempty"`
	Language               Language     `json:"language,omitempty"`
	AutoAddUser            *bool        `json:"auto_add_user,omitempty"`
	DeptManagerUserIDList  CommaStrings `json:"dept_manager_userid_list,omitempty"`
	GroupContainSubDept    *bool        `json:"group_contain_sub_dept,omitempty"`
	GroupContainOuterDept  *bool        `json:"group_contain_outer_dept,omitempty"`
	GroupContainHiddenDept *bool        `json:"group_contain_hidden_dept,omitempty"`
	OrgDeptOwner           string       `json:"org_dept_owner,omitempty"`
	ForceUpdateFields      CommaStrings `json:"force_update_fields,omitempty"`
	Code                   string       `json:"code,omitempty"`
}

// UpdateDepartment updates a department. Replaces POST /department/update.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/address-book-update-department
func (s *ContactService) UpdateDepartment(ctx context.Context, req *UpdateDepartmentRequest) error {
	if req == nil || req.DeptID == 0 {
		return errors.New("dingtalk: UpdateDepartment needs DeptID")
	}
	return s.client.oapi(ctx, epDeptUpdate, nil, req, nil)
}

// DeleteDepartment deletes a department that has no members left in it or
// its sub-departments. Replaces GET /department/delete.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/address-book-deletion-department
func (s *ContactService) DeleteDepartment(ctx context.Context, deptID int64) error {
	if deptID == 0 {
		return errors.New("dingtalk: DeleteDepartment needs a dept id")
	}
	return s.client.oapi(ctx, epDeptDelete, nil, map[string]int64{"dept_id": deptID}, nil)
}

// User is a member (成员) as returned by GetUser and ListUsers. Fields such
// as Mobile and Email are filled only with the matching permission.
type User struct {
	UserID           string         `json:"userid"`
	UnionID          string         `json:"unionid"`
	Name             string         `json:"name"`
	Avatar           string         `json:"avatar,omitempty"`
	StateCode        string         `json:"state_code,omitempty"`
	Mobile           string         `json:"mobile,omitempty"`
	HideMobile       bool           `json:"hide_mobile"`
	Telephone        string         `json:"telephone,omitempty"`
	JobNumber        string         `json:"job_number,omitempty"`
	Title            string         `json:"title,omitempty"`
	Email            string         `json:"email,omitempty"`
	OrgEmail         string         `json:"org_email,omitempty"`
	WorkPlace        string         `json:"work_place,omitempty"`
	Remark           string         `json:"remark,omitempty"`
	ManagerUserID    string         `json:"manager_userid,omitempty"`
	HiredDate        int64          `json:"hired_date,omitempty"` // ms since the epoch
	ExclusiveAccount bool           `json:"exclusive_account"`
	Active           bool           `json:"active"`
	RealAuthed       bool           `json:"real_authed"`
	Senior           bool           `json:"senior"`
	Admin            bool           `json:"admin"`
	Boss             bool           `json:"boss"`
	DeptIDList       []int64        `json:"dept_id_list,omitempty"`
	DeptOrderList    []DeptOrder    `json:"dept_order_list,omitempty"`
	LeaderInDept     []DeptLeader   `json:"leader_in_dept,omitempty"`
	Extension        string         `json:"extension,omitempty"` // a JSON object as a string
	RoleList         []UserRole     `json:"role_list,omitempty"`
	UnionEmpExt      *UnionEmpExt   `json:"union_emp_ext,omitempty"`
	DeptPositionList []DeptPosition `json:"dept_position_list,omitempty"`
	// In ListUsers items only: the order and leadership in the listed department.
	DeptOrder int64 `json:"dept_order,omitempty"`
	Leader    bool  `json:"leader,omitempty"`
}

// DeptOrder is a user's sort order within a department; larger sorts first.
type DeptOrder struct {
	DeptID int64 `json:"dept_id"`
	Order  int64 `json:"order"`
}

// DeptTitle is a user's title within a department.
type DeptTitle struct {
	DeptID int64  `json:"dept_id"`
	Title  string `json:"title"`
}

// DeptLeader says whether a user leads a department.
type DeptLeader struct {
	DeptID int64 `json:"dept_id"`
	Leader bool  `json:"leader"`
}

// DeptPosition is a user's position within a department.
type DeptPosition struct {
	DeptID    int64  `json:"dept_id"`
	IsMain    bool   `json:"is_main,omitempty"`
	Title     string `json:"title,omitempty"`
	WorkPlace string `json:"work_place,omitempty"`
}

// UserRole is a role a user holds.
type UserRole struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	GroupName string `json:"group_name"`
}

// UnionEmpExt links a user of a union organisation.
type UnionEmpExt struct {
	UserID          string        `json:"userid"`
	CorpID          string        `json:"corp_id"`
	UnionEmpMapList []UnionEmpMap `json:"union_emp_map_list,omitempty"`
}

// UnionEmpMap is the same person in another organisation of the union.
type UnionEmpMap struct {
	UserID string `json:"userid"`
	CorpID string `json:"corp_id"`
}

// GetUser returns a user's details. Replaces GET /user/get.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/query-user-details
func (s *ContactService) GetUser(ctx context.Context, userID string, lang Language) (*User, error) {
	if userID == "" {
		return nil, errors.New("dingtalk: GetUser needs a userid")
	}
	in := struct {
		UserID   string   `json:"userid"`
		Language Language `json:"language,omitempty"`
	}{userID, lang}
	return result[User](ctx, s.client, epUserGet, nil, in)
}

// UserOrderField orders user listings.
type UserOrderField string

// Orders DingTalk accepts; the default is custom.
const (
	OrderEntryAsc   UserOrderField = "entry_asc"
	OrderEntryDesc  UserOrderField = "entry_desc"
	OrderModifyAsc  UserOrderField = "modify_asc"
	OrderModifyDesc UserOrderField = "modify_desc"
	OrderCustom     UserOrderField = "custom"
)

// ListUsersRequest pages through a department's direct members. Size is
// 1–100 (0 means 100); Cursor is 0 for the first page, then NextCursor.
type ListUsersRequest struct {
	DeptID             int64          `json:"dept_id"`
	Cursor             int64          `json:"cursor"`
	Size               int            `json:"size"`
	OrderField         UserOrderField `json:"order_field,omitempty"`
	ContainAccessLimit *bool          `json:"contain_access_limit,omitempty"`
	Language           Language       `json:"language,omitempty"`
}

// MaxUserPageSize is the largest page DingTalk serves for user listings.
const MaxUserPageSize = 100

func (r ListUsersRequest) normalized() (ListUsersRequest, error) {
	if r.DeptID == 0 {
		return r, errors.New("dingtalk: user listing needs DeptID")
	}
	if r.Size == 0 {
		r.Size = MaxUserPageSize
	}
	if r.Size < 1 || r.Size > MaxUserPageSize {
		return r, errors.New("dingtalk: user listing Size must be within 1..100")
	}
	return r, nil
}

// UserPage is one page of ListUsers.
type UserPage struct {
	HasMore    bool   `json:"has_more"`
	NextCursor int64  `json:"next_cursor"`
	List       []User `json:"list"`
}

// ListUsers returns one page of a department's direct members with full
// details. Replaces GET /user/listbypage.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/queries-the-complete-information-of-a-department-user
func (s *ContactService) ListUsers(ctx context.Context, req ListUsersRequest) (*UserPage, error) {
	return listUserPage[UserPage](ctx, s.client, epUserList, req)
}

// AllUsers yields every direct member of req.DeptID, page by page from
// req.Cursor. On an error it yields the error once and stops.
func (s *ContactService) AllUsers(ctx context.Context, req ListUsersRequest) iter.Seq2[User, error] {
	return userPages(req, func(r ListUsersRequest) ([]User, int64, bool, error) {
		p, err := s.ListUsers(ctx, r)
		if err != nil {
			return nil, 0, false, err
		}
		return p.List, p.NextCursor, p.HasMore, nil
	})
}

// SimpleUser is a user's id and name.
type SimpleUser struct {
	UserID string `json:"userid"`
	Name   string `json:"name"`
}

// SimpleUserPage is one page of ListSimpleUsers.
type SimpleUserPage struct {
	HasMore    bool         `json:"has_more"`
	NextCursor int64        `json:"next_cursor"`
	List       []SimpleUser `json:"list"`
}

// ListSimpleUsers returns one page of a department's direct members as id
// and name. Replaces GET /user/simplelist.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/queries-the-simple-information-of-a-department-user
func (s *ContactService) ListSimpleUsers(ctx context.Context, req ListUsersRequest) (*SimpleUserPage, error) {
	return listUserPage[SimpleUserPage](ctx, s.client, epUserListSimp, req)
}

// AllSimpleUsers yields every direct member of req.DeptID as id and name.
func (s *ContactService) AllSimpleUsers(ctx context.Context, req ListUsersRequest) iter.Seq2[SimpleUser, error] {
	return userPages(req, func(r ListUsersRequest) ([]SimpleUser, int64, bool, error) {
		p, err := s.ListSimpleUsers(ctx, r)
		if err != nil {
			return nil, 0, false, err
		}
		return p.List, p.NextCursor, p.HasMore, nil
	})
}

// listUserPage fetches one page of a user listing into P (UserPage or
// SimpleUserPage): the two listings differ only in endpoint and item.
func listUserPage[P any](ctx context.Context, c *Client, ep endpoint, req ListUsersRequest) (*P, error) {
	req, err := req.normalized()
	if err != nil {
		return nil, err
	}
	return result[P](ctx, c, ep, nil, req)
}

// userPages pages a user listing from req.Cursor while has_more holds and
// next_cursor moves on (a cursor that does not advance would loop).
func userPages[T any](req ListUsersRequest, list func(ListUsersRequest) (items []T, next int64, hasMore bool, err error)) iter.Seq2[T, error] {
	return pages(req.Cursor, func(cursor int64) ([]T, int64, bool, error) {
		r := req
		r.Cursor = cursor
		items, next, hasMore, err := list(r)
		return items, next, hasMore && next != cursor, err
	})
}

// ListUserIDs returns the userids of a department's direct members, in one
// call without paging. Replaces GET /user/getDeptMember.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/query-the-list-of-department-userids
func (s *ContactService) ListUserIDs(ctx context.Context, deptID int64) ([]string, error) {
	var out struct {
		Result struct {
			UserIDList []string `json:"userid_list"`
		} `json:"result"`
	}
	if err := s.client.oapi(ctx, epUserListID, nil, map[string]int64{"dept_id": deptID}, &out); err != nil {
		return nil, err
	}
	return out.Result.UserIDList, nil
}

// CreateUserRequest creates a user. Name, Mobile and DeptIDList are
// required.
type CreateUserRequest struct {
	UserID           string            `json:"userid,omitempty"`
	Name             string            `json:"name"`
	Mobile           string            `json:"mobile"`
	DeptIDList       CommaInts         `json:"dept_id_list"`
	HideMobile       *bool             `json:"hide_mobile,omitempty"`
	Telephone        string            `json:"telephone,omitempty"`
	JobNumber        string            `json:"job_number,omitempty"`
	Title            string            `json:"title,omitempty"`
	Email            string            `json:"email,omitempty"`
	OrgEmail         string            `json:"org_email,omitempty"`
	OrgEmailType     string            `json:"org_email_type,omitempty"`
	WorkPlace        string            `json:"work_place,omitempty"`
	Remark           string            `json:"remark,omitempty"`
	DeptOrderList    []DeptOrder       `json:"dept_order_list,omitempty"`
	DeptTitleList    []DeptTitle       `json:"dept_title_list,omitempty"`
	Extension        map[string]string `json:"extension,omitempty"`
	SeniorMode       *bool             `json:"senior_mode,omitempty"`
	HiredDate        int64             `json:"hired_date,omitempty"`
	ManagerUserID    string            `json:"manager_userid,omitempty"`
	LoginEmail       string            `json:"login_email,omitempty"`
	DeptPositionList []DeptPosition    `json:"dept_position_list,omitempty"`
}

// CreatedUser is the result of CreateUser.
type CreatedUser struct {
	UserID  string `json:"userid"`
	UnionID string `json:"unionId"`
}

// CreateUser creates a user. Replaces POST /user/create. It is never
// resent after a failure with an unknown outcome.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/user-information-creation
func (s *ContactService) CreateUser(ctx context.Context, req *CreateUserRequest) (*CreatedUser, error) {
	if req == nil || req.Name == "" || req.Mobile == "" || len(req.DeptIDList) == 0 {
		return nil, errors.New("dingtalk: CreateUser needs Name, Mobile and DeptIDList")
	}
	return result[CreatedUser](ctx, s.client, epUserCreate, nil, req)
}

// UpdateUserRequest updates a user. UserID is required; nil and empty
// fields are left unchanged. The mobile number cannot be changed.
type UpdateUserRequest struct {
	UserID             string            `json:"userid"`
	Name               string            `json:"name,omitempty"`
	HideMobile         *bool             `json:"hide_mobile,omitempty"`
	Telephone          *string           `json:"telephone,omitempty"`
	JobNumber          *string           `json:"job_number,omitempty"`
	ManagerUserID      *string           `json:"manager_userid,omitempty"`
	Title              *string           `json:"title,omitempty"`
	Email              *string           `json:"email,omitempty"`
	OrgEmail           *string           `json:"org_email,omitempty"`
	WorkPlace          *string           `json:"work_place,omitempty"`
	Remark             *string           `json:"remark,omitempty"`
	DeptIDList         CommaInts         `json:"dept_id_list,omitempty"`
	DeptOrderList      []DeptOrder       `json:"dept_order_list,omitempty"`
	DeptTitleList      []DeptTitle       `json:"dept_title_list,omitempty"`
	Extension          map[string]string `json:"extension,omitempty"`
	SeniorMode         *bool             `json:"senior_mode,omitempty"`
	HiredDate          *int64            `json:"hired_date,omitempty"`
	DeptPositionList   []DeptPosition    `json:"dept_position_list,omitempty"`
	Language           Language          `json:"language,omitempty"`
	ExtAttrsUpdateMode *int              `json:"ext_attrs_update_mode,omitempty"` // 0 overwrite, 1 append
	ForceUpdateFields  CommaStrings      `json:"force_update_fields,omitempty"`
}

// UpdateUser updates a user. Replaces POST /user/update.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/user-information-update
func (s *ContactService) UpdateUser(ctx context.Context, req *UpdateUserRequest) error {
	if req == nil || req.UserID == "" {
		return errors.New("dingtalk: UpdateUser needs UserID")
	}
	return s.client.oapi(ctx, epUserUpdate, nil, req, nil)
}

// DeleteUser deletes a user. Replaces GET /user/delete.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/delete-a-user
func (s *ContactService) DeleteUser(ctx context.Context, userID string) error {
	if userID == "" {
		return errors.New("dingtalk: DeleteUser needs a userid")
	}
	return s.client.oapi(ctx, epUserDelete, nil, map[string]string{"userid": userID}, nil)
}

// Role is a role (角色) in a role group.
type Role struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// RoleGroupSummary is a role group with its roles, as ListRoles returns it.
type RoleGroupSummary struct {
	GroupID int64  `json:"groupId"`
	Name    string `json:"name"`
	Roles   []Role `json:"roles"`
}

// RolePage is one page of ListRoles.
type RolePage struct {
	HasMore bool               `json:"hasMore"`
	List    []RoleGroupSummary `json:"list"`
}

// MaxRolePageSize is the largest page of role groups DingTalk serves.
const MaxRolePageSize = 200

// ListRoles returns one page of role groups and their roles. size is
// 1–200 (0 means 200). Replaces TOP dingtalk.corp.role.list.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtains-a-list-of-enterprise-roles
func (s *ContactService) ListRoles(ctx context.Context, offset, size int) (*RolePage, error) {
	return getOffsetPage[RolePage](ctx, s.client, epRoleList, "ListRoles", offset, size, MaxRolePageSize)
}

// AllRoleGroups yields every role group, page by page.
func (s *ContactService) AllRoleGroups(ctx context.Context) iter.Seq2[RoleGroupSummary, error] {
	return offsetPages(func(offset int) ([]RoleGroupSummary, bool, error) {
		p, err := s.ListRoles(ctx, offset, MaxRolePageSize)
		if err != nil {
			return nil, false, err
		}
		return p.List, p.HasMore, nil
	})
}

// RoleGroup is a role group as GetRoleGroup returns it.
type RoleGroup struct {
	GroupName string          `json:"group_name"`
	Roles     []RoleGroupRole `json:"roles"`
}

// RoleGroupRole is a role within a RoleGroup.
type RoleGroupRole struct {
	RoleID   int64  `json:"role_id"`
	RoleName string `json:"role_name"`
}

// GetRoleGroup returns a role group and its roles. Replaces TOP
// dingtalk.corp.role.getrolegroup.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/obtains-the-role-group-information
func (s *ContactService) GetRoleGroup(ctx context.Context, groupID int64) (*RoleGroup, error) {
	var out struct {
		RoleGroup RoleGroup `json:"role_group"`
	}
	if err := s.client.oapi(ctx, epRoleGetGroup, nil, map[string]int64{"group_id": groupID}, &out); err != nil {
		return nil, err
	}
	return &out.RoleGroup, nil
}
