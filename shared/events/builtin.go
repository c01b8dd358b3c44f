package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/dingfn/dingfn/shared/approvals"
	"github.com/dingfn/dingfn/shared/directory"
)

// Route names of the built-in handlers, the keys of their results in the
// log.
const (
	RouteContacts  = "builtin:contacts"
	RouteApprovals = "builtin:approvals"
)

// ContactTypes are the event types the contacts handler follows.
var ContactTypes = []string{
	"user_add_org", "user_modify_org", "user_leave_org", "user_active_org",
	"org_admin_add", "org_admin_remove", "label_user_change",
	"org_dept_create", "org_dept_modify", "org_dept_remove",
}

// ApprovalTypes are the event types the approvals handler follows.
var ApprovalTypes = []string{"bpms_instance_change", "bpms_task_change"}

// Directory is the mirror's guarded write path the contacts handler
// calls: each method re-fetches one record from DingTalk and upserts it,
// or removes it when DingTalk says it no longer exists.
// *directory.Writer is the one.
type Directory interface {
	SyncUser(ctx context.Context, userid string) (directory.Change, error)
	SyncDepartment(ctx context.Context, deptID int64) (directory.Change, error)
}

var _ Directory = (*directory.Writer)(nil)

// Approvals stores the approval instance an event names, fetched from
// DingTalk: *approvals.Writer.
type Approvals interface {
	Sync(ctx context.Context, instanceID, processCode string) (approvals.Change, error)
}

var _ Approvals = (*approvals.Writer)(nil)

// RegisterContacts routes contact events (ContactTypes) to dir: each user
// or department the event names is re-fetched and written through the
// mirror's guarded path, which makes the result right whatever the order
// of events, duplicates, or a sync running at the same time. Leaving
// users and removed departments are deleted through the same path
// (DingTalk answers that they no longer exist).
func RegisterContacts(m *Mux, dir Directory) {
	m.Route(RouteContacts, HandlerFunc(func(ctx context.Context, ev *Event) error {
		return syncContacts(ctx, dir, ev)
	}), ContactTypes...)
}

func syncContacts(ctx context.Context, dir Directory, ev *Event) error {
	var users []string
	var depts []int64
	switch FamilyOf(ev.Type) {
	case FamilyUser:
		u, err := ev.User()
		if err != nil {
			return err
		}
		users = u.UserIDs
	case FamilyLabel:
		l, err := ev.Label()
		if err != nil {
			return err
		}
		users = l.UserIDs
	case FamilyDepartment:
		d, err := ev.Department()
		if err != nil {
			return err
		}
		depts = d.DeptIDs
	default:
		return nil
	}
	var errs []error
	for _, id := range slices.Compact(slices.Sorted(slices.Values(users))) {
		if _, err := dir.SyncUser(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("user %s: %w", id, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(depts))) {
		if _, err := dir.SyncDepartment(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("department %s: %w", strconv.FormatInt(id, 10), err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// RegisterApprovals routes approval events (ApprovalTypes) to a: the
// instance the event names is fetched and stored in the approvals table.
func RegisterApprovals(m *Mux, a Approvals) {
	m.Route(RouteApprovals, HandlerFunc(func(ctx context.Context, ev *Event) error {
		var id, code string
		switch FamilyOf(ev.Type) {
		case FamilyApprovalInstance:
			p, err := ev.ApprovalInstance()
			if err != nil {
				return err
			}
			id, code = p.ProcessInstanceID, p.ProcessCode
		case FamilyApprovalTask:
			p, err := ev.ApprovalTask()
			if err != nil {
				return err
			}
			id, code = p.ProcessInstanceID, p.ProcessCode
		default:
			return nil
		}
		_, err := a.Sync(ctx, id, code)
		return err
	}), ApprovalTypes...)
}
