package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"time"
)

// AttendanceService covers attendance (考勤): schedules and groups.
type AttendanceService service

var (
	epAttSchedules = oapiEP(http.MethodPost, "/topapi/attendance/listschedule", true)
	epAttGroups    = oapiEP(http.MethodPost, "/topapi/attendance/getsimplegroups", true)
	epAttGroup     = oapiEP(http.MethodPost, "/topapi/attendance/group/query", true)
)

// Schedule is one planned check of a user on a day.
type Schedule struct {
	PlanID           int64  `json:"plan_id"`
	CheckType        string `json:"check_type"` // OnDuty, OffDuty
	ApproveID        int64  `json:"approve_id,omitempty"`
	UserID           string `json:"userid"`
	ClassID          int64  `json:"class_id"`
	ClassSettingID   int64  `json:"class_setting_id"`
	PlanCheckTime    string `json:"plan_check_time"`
	GroupID          int64  `json:"group_id"`
	ChangedCheckTime string `json:"changed_check_time,omitempty"`
}

// SchedulePage is one page of ListSchedules.
type SchedulePage struct {
	HasMore   bool       `json:"has_more"`
	Schedules []Schedule `json:"schedules"`
}

// MaxSchedulePageSize is the largest page of schedules DingTalk serves.
const MaxSchedulePageSize = 200

// ListSchedules returns one page of every user's schedule on workDate (only
// the day counts, in workDate's location). size is 1–200 (0 means 200).
// Replaces TOP dingtalk.smartwork.attends.listschedule.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/interface-for-daily-full-query-of-attendance-scheduling-information
func (s *AttendanceService) ListSchedules(ctx context.Context, workDate time.Time, offset, size int) (*SchedulePage, error) {
	size, err := checkPage("ListSchedules", offset, size, MaxSchedulePageSize)
	if err != nil {
		return nil, err
	}
	in := struct {
		WorkDate string `json:"workDate"`
		Offset   int    `json:"offset"`
		Size     int    `json:"size"`
	}{workDate.Format(time.DateOnly) + " 00:00:00", offset, size}
	return result[SchedulePage](ctx, s.client, epAttSchedules, nil, in)
}

// AllSchedules yields every schedule on workDate.
func (s *AttendanceService) AllSchedules(ctx context.Context, workDate time.Time) iter.Seq2[Schedule, error] {
	return offsetPages(func(offset int) ([]Schedule, bool, error) {
		p, err := s.ListSchedules(ctx, workDate, offset, MaxSchedulePageSize)
		if err != nil {
			return nil, false, err
		}
		return p.Schedules, p.HasMore, nil
	})
}

// AttendanceGroup is an attendance group with its shifts, as
// ListGroups returns it.
type AttendanceGroup struct {
	GroupID        int64           `json:"group_id"`
	GroupName      string          `json:"group_name"`
	IsDefault      bool            `json:"is_default"`
	Type           string          `json:"type"` // FIXED, TURN, NONE
	MemberCount    int64           `json:"member_count"`
	DefaultClassID int64           `json:"default_class_id"`
	OwnerUserID    string          `json:"owner_user_id"`
	ManagerList    []string        `json:"manager_list"`
	DeptNameList   []string        `json:"dept_name_list"`
	WorkDayList    []string        `json:"work_day_list"` // Sun→Sat; "0" = rest
	ClassesList    json.RawMessage `json:"classes_list,omitempty"`
	SelectedClass  []SelectedClass `json:"selected_class"`
}

// SelectedClass is a shift (班次) of an attendance group.
type SelectedClass struct {
	ClassID   int64          `json:"class_id"`
	ClassName string         `json:"class_name"`
	Sections  []ClassSection `json:"sections"`
	Setting   ClassSetting   `json:"setting"`
}

// ClassSection is a work period of a shift.
type ClassSection struct {
	Times []ClassTime `json:"times"`
}

// ClassTime is one check time of a section.
type ClassTime struct {
	CheckTime string `json:"check_time"`
	CheckType string `json:"check_type"`
	Across    int    `json:"across"` // days past the work date
}

// ClassSetting is the part of a shift's settings most callers need.
type ClassSetting struct {
	ClassSettingID    int64 `json:"class_setting_id"`
	PermitLateMinutes int   `json:"permit_late_minutes"`
	WorkTimeMinutes   int   `json:"work_time_minutes"`
}

// GroupPage is one page of ListGroups.
type GroupPage struct {
	HasMore bool              `json:"has_more"`
	Groups  []AttendanceGroup `json:"groups"`
}

// MaxGroupPageSize is the largest page of attendance groups DingTalk
// serves.
const MaxGroupPageSize = 10

// ListGroups returns one page of attendance groups with details. size is
// 1–10 (0 means 10). Replaces TOP dingtalk.smartwork.attends.getsimplegroups.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/batch-obtain-attendance-group-details
func (s *AttendanceService) ListGroups(ctx context.Context, offset, size int) (*GroupPage, error) {
	return getOffsetPage[GroupPage](ctx, s.client, epAttGroups, "ListGroups", offset, size, MaxGroupPageSize)
}

// AllGroups yields every attendance group.
func (s *AttendanceService) AllGroups(ctx context.Context) iter.Seq2[AttendanceGroup, error] {
	return offsetPages(func(offset int) ([]AttendanceGroup, bool, error) {
		p, err := s.ListGroups(ctx, offset, MaxGroupPageSize)
		if err != nil {
			return nil, false, err
		}
		return p.Groups, p.HasMore, nil
	})
}

// AttendanceGroupDetail is one attendance group as GetGroup returns it.
// Fields whose wire type DingTalk documents loosely are kept as raw JSON.
type AttendanceGroupDetail struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	MemberCount int64           `json:"member_count"`
	ShiftIDs    []int64         `json:"shift_ids"`
	WorkDayList json.RawMessage `json:"work_day_list,omitempty"`
	Wifis       json.RawMessage `json:"wifis,omitempty"`
	AddressList json.RawMessage `json:"address_list,omitempty"`
	ManagerList json.RawMessage `json:"manager_list,omitempty"`
	OwnerUserID string          `json:"owner_user_id"`
	URL         string          `json:"url"`
}

// GetGroup returns one attendance group, read as opUserID.
//
// DingTalk docs: https://open.dingtalk.com/document/orgapp/query-a-single-attendance-group
func (s *AttendanceService) GetGroup(ctx context.Context, opUserID string, groupID int64) (*AttendanceGroupDetail, error) {
	if opUserID == "" || groupID == 0 {
		return nil, errors.New("dingtalk: GetGroup needs opUserID and groupID")
	}
	in := struct {
		OpUserID string `json:"op_user_id"`
		GroupID  int64  `json:"group_id"`
	}{opUserID, groupID}
	return result[AttendanceGroupDetail](ctx, s.client, epAttGroup, nil, in)
}
