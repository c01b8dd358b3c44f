package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
)

// ErrNotInMirror is matched by a Directory's error for a record the
// mirror does not hold.
var ErrNotInMirror = errors.New("notify: not in the directory mirror")

// Directory is the directory mirror notify answers directory reads and
// logins from, and sizes department sends with. MirrorDirectory adapts
// package directory's Reader to it; without one, reads go to DingTalk.
type Directory interface {
	// User returns the user with userid.
	User(ctx context.Context, userid string) (User, error)
	// UserByUnionID returns the current member with unionid.
	UserByUnionID(ctx context.Context, unionid string) (User, error)
	// Department returns a department.
	Department(ctx context.Context, id int64) (Department, error)
	// Members returns the userids of a department's direct members, or
	// with recursive of every department below it too, sorted.
	Members(ctx context.Context, id int64, recursive bool) ([]string, error)
	// UserCount returns how many current members the organisation has.
	UserCount(ctx context.Context) (int, error)
	// SyncedAt returns when the mirror last completed a walk of the
	// whole directory; zero when it never has.
	SyncedAt(ctx context.Context) (time.Time, error)
}

// User is a member of the organisation (成员) as notify's API shows it.
type User struct {
	UserID        string  `json:"userid"`
	UnionID       string  `json:"unionid,omitempty"`
	Name          string  `json:"name"`
	Title         string  `json:"title,omitempty"`
	Mobile        string  `json:"mobile,omitempty"`
	Email         string  `json:"email,omitempty"`
	OrgEmail      string  `json:"org_email,omitempty"`
	JobNumber     string  `json:"job_number,omitempty"`
	ManagerUserID string  `json:"manager_userid,omitempty"`
	DeptIDs       []int64 `json:"dept_ids"`
	LeaderIn      []int64 `json:"leader_in,omitempty"`
	Active        bool    `json:"active"`
	Admin         bool    `json:"admin,omitempty"`
	Boss          bool    `json:"boss,omitempty"`
	// LeftAt is set for a person who left (the mirror keeps them a while).
	LeftAt *time.Time `json:"left_at,omitempty"`
}

// Department is a department (部门) as notify's API shows it.
type Department struct {
	DeptID         int64    `json:"dept_id"`
	Name           string   `json:"name"`
	ParentID       int64    `json:"parent_id"`
	Order          int64    `json:"order"`
	ManagerUserIDs []string `json:"manager_userids,omitempty"`
}

// Source values say where a directory answer came from.
const (
	SourceMirror   = "mirror"
	SourceDingTalk = "dingtalk"
)

// UserAnswer is a user and where the answer came from.
type UserAnswer struct {
	User
	Source string `json:"source"`
}

// DepartmentAnswer is a department and where the answer came from.
type DepartmentAnswer struct {
	Department
	Source string `json:"source"`
}

func userFromDingTalk(u *dingtalk.User) User {
	out := User{UserID: u.UserID, UnionID: u.UnionID, Name: u.Name, Title: u.Title, Mobile: u.Mobile, Email: u.Email,
		OrgEmail: u.OrgEmail, JobNumber: u.JobNumber, ManagerUserID: u.ManagerUserID, DeptIDs: slices.Clone(u.DeptIDList),
		Active: u.Active, Admin: u.Admin, Boss: u.Boss}
	for _, l := range u.LeaderInDept {
		if l.Leader {
			out.LeaderIn = append(out.LeaderIn, l.DeptID)
		}
	}
	if out.DeptIDs == nil {
		out.DeptIDs = []int64{}
	}
	return out
}

func notFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, CodeNotFound, format, args...)
}

// SyncedAt returns when the mirror last completed a walk (zero without a
// mirror, or before its first walk).
func (s *Service) SyncedAt(ctx context.Context) time.Time {
	if s.dir == nil {
		return time.Time{}
	}
	t, err := s.dir.SyncedAt(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "notify: mirror status", "err", err)
		return time.Time{}
	}
	return t
}

// User returns a user from the mirror, or from DingTalk when the mirror
// does not hold it.
func (s *Service) User(ctx context.Context, userid string) (UserAnswer, error) {
	if userid == "" || len(userid) > MaxUserIDLength {
		return UserAnswer{}, invalid("userid", "format", "%q is not a userid (1 to %d characters)", truncate(userid, 80), MaxUserIDLength)
	}
	if s.dir != nil {
		u, err := s.dir.User(ctx, userid)
		if err == nil {
			return UserAnswer{User: u, Source: SourceMirror}, nil
		}
		if !errors.Is(err, ErrNotInMirror) {
			return UserAnswer{}, AsError(err)
		}
	}
	u, err := s.dt.Contact.GetUser(ctx, userid, "")
	if dingtalk.IsNotFound(err) {
		return UserAnswer{}, notFound("no user %q in the organisation (neither in the mirror nor at DingTalk)", userid)
	}
	if err != nil {
		return UserAnswer{}, AsError(err)
	}
	return UserAnswer{User: userFromDingTalk(u), Source: SourceDingTalk}, nil
}

// UserByUnionID returns the member with unionid, from the mirror or, when
// it does not know the unionid, from DingTalk.
func (s *Service) UserByUnionID(ctx context.Context, unionid string) (UserAnswer, error) {
	if unionid == "" || len(unionid) > 128 {
		return UserAnswer{}, invalid("unionid", "format", "unionid must be 1 to 128 characters")
	}
	if s.dir != nil {
		u, err := s.dir.UserByUnionID(ctx, unionid)
		if err == nil {
			return UserAnswer{User: u, Source: SourceMirror}, nil
		}
		if !errors.Is(err, ErrNotInMirror) {
			return UserAnswer{}, AsError(err)
		}
	}
	x, err := s.dt.Auth.UserIDByUnionID(ctx, unionid)
	if dingtalk.IsNotFound(err) || (err == nil && x.UserID == "") {
		return UserAnswer{}, notFound("no member with unionid %q", unionid)
	}
	if err != nil {
		return UserAnswer{}, AsError(err)
	}
	return s.User(ctx, x.UserID)
}

// Department returns a department from the mirror, or from DingTalk.
func (s *Service) Department(ctx context.Context, id int64) (DepartmentAnswer, error) {
	if id <= 0 {
		return DepartmentAnswer{}, invalid("id", "format", "department id %d is not positive (1 is the organisation)", id)
	}
	if s.dir != nil {
		d, err := s.dir.Department(ctx, id)
		if err == nil {
			return DepartmentAnswer{Department: d, Source: SourceMirror}, nil
		}
		if !errors.Is(err, ErrNotInMirror) {
			return DepartmentAnswer{}, AsError(err)
		}
	}
	d, err := s.dt.Contact.GetDepartment(ctx, id, "")
	if dingtalk.IsNotFound(err) {
		return DepartmentAnswer{}, notFound("no department %d", id)
	}
	if err != nil {
		return DepartmentAnswer{}, AsError(err)
	}
	return DepartmentAnswer{Department: Department{DeptID: d.DeptID, Name: d.Name, ParentID: d.ParentID, Order: d.Order,
		ManagerUserIDs: d.DeptManagerUserIDList}, Source: SourceDingTalk}, nil
}

// MembersPage is one page of a department's members.
type MembersPage struct {
	DeptID    int64  `json:"dept_id"`
	Recursive bool   `json:"recursive"`
	Users     []User `json:"users"`
	// Total is how many members there are; NextCursor continues, "" at
	// the end.
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor"`
	Source     string `json:"source"`
}

// Page sizes of Members.
const (
	DefaultPageSize = 100
	MaxPageSize     = 500
)

// Members returns a page of a department's members (direct, or with
// recursive of every department below it), from the mirror, or, for
// direct members of a department the mirror does not hold, from
// DingTalk. cursor is the previous page's NextCursor.
func (s *Service) Members(ctx context.Context, id int64, recursive bool, cursor string, size int) (MembersPage, error) {
	if id <= 0 {
		return MembersPage{}, invalid("id", "format", "department id %d is not positive (1 is the organisation)", id)
	}
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		return MembersPage{}, invalid("limit", "range", "limit must be 1 to %d, got %d", MaxPageSize, size)
	}
	offset := 0
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "%d", &offset); err != nil || offset < 0 || fmt.Sprint(offset) != cursor {
			return MembersPage{}, invalid("cursor", "format", "cursor %q is not one this API returned", truncate(cursor, 40))
		}
	}
	page := MembersPage{DeptID: id, Recursive: recursive, Users: []User{}}
	var ids []string
	if s.dir != nil {
		m, err := s.dir.Members(ctx, id, recursive)
		switch {
		case err == nil:
			ids, page.Source = m, SourceMirror
		case !errors.Is(err, ErrNotInMirror):
			return MembersPage{}, AsError(err)
		}
	}
	if page.Source == "" {
		if recursive {
			return MembersPage{}, notFound("department %d is not in the directory mirror; recursive members are answered from the mirror only (run the sync)", id)
		}
		m, err := s.dt.Contact.ListUserIDs(ctx, id)
		if dingtalk.IsNotFound(err) {
			return MembersPage{}, notFound("no department %d", id)
		}
		if err != nil {
			return MembersPage{}, AsError(err)
		}
		ids, page.Source = m, SourceDingTalk
		slices.Sort(ids)
	}
	page.Total = len(ids)
	end := min(offset+size, len(ids))
	for _, uid := range ids[min(offset, len(ids)):end] {
		u, err := s.User(ctx, uid)
		if err != nil {
			if e := AsError(err); e.Status == http.StatusNotFound {
				continue // left between the membership and the user read
			}
			return MembersPage{}, err
		}
		page.Users = append(page.Users, u.User)
	}
	if end < len(ids) {
		page.NextCursor = fmt.Sprint(end)
	}
	return page, nil
}
