// Package directorytest checks a directory mirror against the organisation
// of a fake DingTalk (dingtalktest), record by record, for the tests of the
// sync and of anything that writes the mirror (contact events).
package directorytest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store"
)

// Diff compares the mirror in st with org and returns one line per
// difference (nil when the mirror is exact): every department and current
// user with its canonical fields, every members row, every unionid row,
// and nothing more. Tombstones of people who left are not differences,
// but a tombstone for someone org still has is.
func Diff(ctx context.Context, st store.Store, org *dingtalktest.Org) ([]string, error) {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }

	users, err := scan[directory.User](ctx, st, directory.UsersTable)
	if err != nil {
		return nil, err
	}
	depts, err := scan[directory.Department](ctx, st, directory.DepartmentsTable)
	if err != nil {
		return nil, err
	}
	members, err := scan[directory.Members](ctx, st, directory.MembersTable)
	if err != nil {
		return nil, err
	}
	unions, err := scan[directory.UnionID](ctx, st, directory.UnionIDsTable)
	if err != nil {
		return nil, err
	}

	wantMembers := map[int64][]string{}
	for _, d := range org.Departments {
		key := directory.DeptKey(d.ID)
		got, ok := depts[key]
		delete(depts, key)
		if !ok {
			add("department %d: missing", d.ID)
			continue
		}
		want := directory.Department{DeptID: d.ID, Name: d.Name, ParentID: d.ParentID, Order: d.Order, ManagerUserIDs: d.ManagerUserIDs}
		compare(add, "department "+key, deptFields(want), deptFields(got))
		wantMembers[d.ID] = []string{}
	}
	for key := range depts {
		add("department %s: in the mirror, not in the organisation", key)
	}

	for _, u := range org.Users {
		for _, d := range u.DeptIDs {
			wantMembers[d] = append(wantMembers[d], u.UserID)
		}
		got, ok := users[u.UserID]
		delete(users, u.UserID)
		switch {
		case !ok:
			add("user %s: missing", u.UserID)
			continue
		case !got.LeftAt.IsZero():
			add("user %s: tombstoned (left_at %s) but still in the organisation", u.UserID, got.LeftAt)
			continue
		}
		leader := slices.Clone(u.LeaderIn)
		slices.Sort(leader)
		want := directory.User{
			UserID: u.UserID, UnionID: u.UnionID, Name: u.Name, Title: u.Title, Mobile: u.Mobile,
			Email: u.Email, JobNumber: u.JobNumber, ManagerUserID: u.ManagerUserID,
			DeptIDs: u.DeptIDs, LeaderIn: leader, Active: !u.Inactive, Admin: u.Admin, Boss: u.Boss,
		}
		compare(add, "user "+u.UserID, userFields(want), userFields(got))
		var raw map[string]any
		if err := json.Unmarshal(got.Raw, &raw); err != nil || raw["userid"] != u.UserID {
			add("user %s: raw fields missing or not this user's", u.UserID)
		}
		if n := len(got.DeptOrders); n != len(u.DeptIDs) {
			add("user %s: %d department orders for %d departments", u.UserID, n, len(u.DeptIDs))
		}
	}
	for id, u := range users {
		if u.LeftAt.IsZero() {
			add("user %s: current in the mirror, not in the organisation", id)
		}
	}

	for id, want := range wantMembers {
		key := directory.DeptKey(id)
		got, ok := members[key]
		delete(members, key)
		slices.Sort(want)
		switch {
		case !ok:
			add("members of department %d: missing", id)
		case !slices.Equal(got.UserIDs, want):
			add("members of department %d: got %v, want %v", id, got.UserIDs, want)
		}
	}
	for key := range members {
		add("members of department %s: in the mirror, not in the organisation", key)
	}

	for _, u := range org.Users {
		got, ok := unions[u.UnionID]
		delete(unions, u.UnionID)
		switch {
		case !ok:
			add("unionid of %s: missing", u.UserID)
		case got.UserID != u.UserID || got.UnionID != u.UnionID:
			add("unionid %s: maps to %q, want %q", u.UnionID, got.UserID, u.UserID)
		}
	}
	for union, x := range unions {
		add("unionid %s: maps to %q, not in the organisation", union, x.UserID)
	}
	slices.Sort(diffs)
	return diffs, nil
}

// scan reads every row of a table by key.
func scan[T any](ctx context.Context, st store.Store, table string) (map[string]T, error) {
	out := map[string]T{}
	for it, err := range store.All(ctx, st, table, store.Range{}) {
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return nil, fmt.Errorf("directorytest: %s %q: %w", table, it.Key, err)
		}
		out[it.Key] = v
	}
	return out, nil
}

type field struct{ name, value string }

func userFields(u directory.User) []field {
	return []field{
		{"unionid", u.UnionID}, {"name", u.Name}, {"title", u.Title}, {"mobile", u.Mobile},
		{"email", u.Email}, {"job_number", u.JobNumber}, {"manager_userid", u.ManagerUserID},
		{"dept_ids", fmt.Sprint(u.DeptIDs)}, {"leader_in", fmt.Sprint(u.LeaderIn)},
		{"active", strconv.FormatBool(u.Active)}, {"admin", strconv.FormatBool(u.Admin)}, {"boss", strconv.FormatBool(u.Boss)},
	}
}

func deptFields(d directory.Department) []field {
	return []field{
		{"name", d.Name}, {"parent_id", strconv.FormatInt(d.ParentID, 10)}, {"order", strconv.FormatInt(d.Order, 10)},
		{"managers", fmt.Sprint(d.ManagerUserIDs)},
	}
}

func compare(add func(string, ...any), what string, want, got []field) {
	for i := range want {
		if want[i].value != got[i].value {
			add("%s: %s = %q, want %q", what, want[i].name, got[i].value, want[i].value)
		}
	}
}
