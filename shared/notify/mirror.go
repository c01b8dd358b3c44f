package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/schedule"
)

// MirrorDirectory is the directory mirror (package directory) as notify's
// Directory.
func MirrorDirectory(r *directory.Reader) Directory { return mirror{r: r} }

type mirror struct{ r *directory.Reader }

// notIn turns the mirror's not-found into ErrNotInMirror.
func notIn(err error) error {
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotInMirror, err)
	}
	return err
}

func fromMirrorUser(u directory.User) User {
	out := User{UserID: u.UserID, UnionID: u.UnionID, Name: u.Name, Title: u.Title, Mobile: u.Mobile, Email: u.Email,
		OrgEmail: u.OrgEmail, JobNumber: u.JobNumber, ManagerUserID: u.ManagerUserID, DeptIDs: slices.Clone(u.DeptIDs),
		LeaderIn: slices.Clone(u.LeaderIn), Active: u.Active, Admin: u.Admin, Boss: u.Boss}
	if out.DeptIDs == nil {
		out.DeptIDs = []int64{}
	}
	if !u.LeftAt.IsZero() {
		t := u.LeftAt
		out.LeftAt = &t
	}
	return out
}

func (m mirror) User(ctx context.Context, userid string) (User, error) {
	u, err := m.r.User(ctx, userid)
	if err != nil {
		return User{}, notIn(err)
	}
	return fromMirrorUser(u), nil
}

func (m mirror) UserByUnionID(ctx context.Context, unionid string) (User, error) {
	u, err := m.r.UserByUnionID(ctx, unionid)
	if err != nil {
		return User{}, notIn(err)
	}
	return fromMirrorUser(u), nil
}

func (m mirror) Department(ctx context.Context, id int64) (Department, error) {
	d, err := m.r.Department(ctx, id)
	if err != nil {
		return Department{}, notIn(err)
	}
	return Department{DeptID: d.DeptID, Name: d.Name, ParentID: d.ParentID, Order: d.Order, ManagerUserIDs: d.ManagerUserIDs}, nil
}

func (m mirror) Members(ctx context.Context, id int64, recursive bool) ([]string, error) {
	ids, err := m.r.Members(ctx, id, recursive)
	return ids, notIn(err)
}

func (m mirror) UserCount(ctx context.Context) (int, error) {
	st, err := m.r.Status(ctx)
	if err != nil {
		return 0, err
	}
	if st.LastComplete == nil {
		return 0, fmt.Errorf("%w: no complete walk yet", ErrNotInMirror)
	}
	return st.LastComplete.Users, nil
}

func (m mirror) SyncedAt(ctx context.Context) (time.Time, error) {
	st, err := m.r.Status(ctx)
	if err != nil || st.LastComplete == nil {
		return time.Time{}, err
	}
	return st.LastComplete.CompletedAt, nil
}

// StepName is the notices step's name in the sync tick.
const StepName = "notices"

// Step returns SendDue as a step of the sync function's tick, run at
// every tick (every minute): it sends the parts waiting for DingTalk's
// per-minute budget and settles the parts of instances that died.
func (s *Service) Step() schedule.Step {
	return schedule.Step{
		Name: StepName,
		Run: func(ctx context.Context, slot schedule.Slot) (schedule.Outcome, error) {
			rep, done, err := s.SendDue(ctx, slot.Deadline)
			return schedule.Outcome{Report: rep, Done: done}, err
		},
	}
}
