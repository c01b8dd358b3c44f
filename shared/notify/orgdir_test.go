package notify_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
)

// orgDir is a notify.Directory over a snapshot of the fake's
// organisation: the mirror as a completed sync would leave it.
type orgDir struct {
	org      *dingtalktest.Org
	syncedAt time.Time
}

func orgDirectory(fake *dingtalktest.Server) *orgDir {
	return &orgDir{org: fake.Org(), syncedAt: start.Add(-5 * time.Minute)}
}

func (d *orgDir) User(_ context.Context, userid string) (notify.User, error) {
	for _, u := range d.org.Users {
		if u.UserID == userid {
			return notify.User{UserID: u.UserID, UnionID: u.UnionID, Name: u.Name, Title: u.Title, DeptIDs: slices.Clone(u.DeptIDs), Active: !u.Inactive}, nil
		}
	}
	return notify.User{}, fmt.Errorf("user %s: %w", userid, notify.ErrNotInMirror)
}

func (d *orgDir) UserByUnionID(ctx context.Context, unionid string) (notify.User, error) {
	for _, u := range d.org.Users {
		if u.UnionID == unionid {
			return d.User(ctx, u.UserID)
		}
	}
	return notify.User{}, fmt.Errorf("unionid %s: %w", unionid, notify.ErrNotInMirror)
}

func (d *orgDir) Department(_ context.Context, id int64) (notify.Department, error) {
	for _, dp := range d.org.Departments {
		if dp.ID == id {
			return notify.Department{DeptID: dp.ID, Name: dp.Name, ParentID: dp.ParentID, Order: dp.Order, ManagerUserIDs: dp.ManagerUserIDs}, nil
		}
	}
	return notify.Department{}, fmt.Errorf("department %d: %w", id, notify.ErrNotInMirror)
}

func (d *orgDir) Members(ctx context.Context, id int64, recursive bool) ([]string, error) {
	if _, err := d.Department(ctx, id); err != nil {
		return nil, err
	}
	in := map[int64]bool{id: true}
	if recursive {
		for changed := true; changed; {
			changed = false
			for _, dp := range d.org.Departments {
				if in[dp.ParentID] && !in[dp.ID] && dp.ID != dp.ParentID {
					in[dp.ID], changed = true, true
				}
			}
		}
	}
	var out []string
	for _, u := range d.org.Users {
		if slices.ContainsFunc(u.DeptIDs, func(x int64) bool { return in[x] }) {
			out = append(out, u.UserID)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (d *orgDir) UserCount(context.Context) (int, error) { return len(d.org.Users), nil }

func (d *orgDir) SyncedAt(context.Context) (time.Time, error) { return d.syncedAt, nil }
