package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store/lease"
)

// syncReport is the JSON `dingfn sync` prints: the sync function's tick
// report, its one step the directory walk.
type syncReport struct {
	OK    bool `json:"ok"`
	Steps []struct {
		Step            string           `json:"step"`
		Status          string           `json:"status"`
		Complete        bool             `json:"complete"`
		DepartmentsSeen int              `json:"departments_seen"`
		UsersSeen       int              `json:"users_seen"`
		Created         int              `json:"created"`
		Deleted         int              `json:"deleted"`
		Unchanged       int              `json:"unchanged"`
		Guard           *directory.Guard `json:"guard"`
		Holder          string           `json:"holder"`
	} `json:"steps"`
}

func decodeSync(t *testing.T, out string) syncReport {
	t.Helper()
	var r syncReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	require.Len(t, r.Steps, 1)
	return r
}

// Without a terminal sync prints the function's JSON report; the walk
// mirrors the demo organisation and a second walk changes nothing.
func TestSyncJSON(t *testing.T) {
	for _, kind := range []storeKind{onEmulator, onBolt} {
		t.Run(string(kind), func(t *testing.T) {
			h := newHarness(t, kind)
			r := decodeSync(t, h.ok("sync"))
			s := r.Steps[0]
			assert.True(t, r.OK)
			assert.Equal(t, directory.StepName, s.Step)
			assert.Equal(t, schedule.StatusDone, s.Status)
			assert.True(t, s.Complete)
			assert.Equal(t, 7, s.DepartmentsSeen)
			assert.Equal(t, 12, s.UsersSeen)
			assert.Equal(t, 19, s.Created)

			r = decodeSync(t, h.ok("sync", "--json"))
			assert.Equal(t, 19, r.Steps[0].Unchanged, "an unchanged organisation")
			assert.Zero(t, r.Steps[0].Created)
		})
	}
}

// On a terminal sync draws a progress bar on stderr and prints a summary.
func TestSyncTerminal(t *testing.T) {
	h := newHarness(t, onEmulator)
	h.terminal = true
	r := h.run("sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `departments · \d+ users · \d+ API calls`, r.stderr, "the bar")
	assert.Regexp(t, `Walk:\s+complete`, r.stdout)
	assert.Regexp(t, `Departments:\s+7 seen, 7 created, 0 updated, 0 deleted, 0 unchanged`, r.stdout)
	assert.Regexp(t, `Users:\s+12 seen, 12 created`, r.stdout)
	assert.Regexp(t, `Deletion guard:\s+0 users and 0 departments to remove, limit 20`, r.stdout)

	// The second walk knows how many departments to expect: a bar of 7.
	r = h.run("sync")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "/7)")
}

// A walk that would remove too much removes nothing and exits 5 until
// --allow-mass-delete confirms it.
func TestSyncDeletionGuard(t *testing.T) {
	h := newHarness(t, onEmulator, dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 120, DeptSize: 12, Fanout: 3, Seed: 7}))
	decodeSync(t, h.ok("sync"))
	users := h.fake.Org().Users
	for _, u := range users[:60] {
		require.NoError(t, h.fake.RemoveUser(u.UserID))
	}
	r := h.run("sync")
	assert.Equal(t, ExitGuard, r.code, r.stderr)
	rep := decodeSync(t, r.stdout)
	require.NotNil(t, rep.Steps[0].Guard)
	assert.True(t, rep.Steps[0].Guard.Tripped)
	assert.Equal(t, 60, rep.Steps[0].Guard.Users)
	assert.Zero(t, rep.Steps[0].Deleted)
	assert.Contains(t, r.stderr, "dingfn sync --allow-mass-delete")
	assert.Equal(t, ExitOK, h.run("directory", "user", users[0].UserID).code, "nothing was removed")

	rep = decodeSync(t, h.ok("sync", "--allow-mass-delete"))
	assert.Equal(t, 60, rep.Steps[0].Deleted)
	got := h.ok("directory", "user", users[0].UserID, "--json")
	var u directory.User
	require.NoError(t, json.Unmarshal([]byte(got), &u))
	assert.False(t, u.LeftAt.IsZero(), "a removed user is a tombstone")
}

// A walk running elsewhere (its lease held) is reported, not doubled.
func TestSyncSkipsAWalkInProgress(t *testing.T) {
	h := newHarness(t, onEmulator)
	st := h.store()
	defer st.Close()
	l, err := lease.Acquire(context.Background(), st, schedule.DefaultTable, schedule.LeaseKey(directory.StepName), time.Minute, lease.WithHolder("fc-instance-3/1/abc"))
	require.NoError(t, err)
	r := h.run("sync")
	assert.Equal(t, ExitFailure, r.code)
	assert.Contains(t, r.stderr, "another sync holds the directory walk (fc-instance-3/1/abc")
	assert.Equal(t, "fc-instance-3/1/abc", decodeSync(t, r.stdout).Steps[0].Holder)
	assert.Zero(t, h.fake.CallCount("topapi/v2/department/get"), "no walk")
	require.NoError(t, l.Release(context.Background()))
	h.ok("sync")
}

func TestDirectory(t *testing.T) {
	h := newHarness(t, onEmulator)
	r := h.run("directory", "user", "wangwu")
	assert.Equal(t, ExitNotFound, r.code, "nothing mirrored yet")
	assert.Contains(t, r.stderr, "run dingfn sync")
	assert.Contains(t, h.ok("directory", "status"), "none yet: run dingfn sync")

	h.ok("sync")
	h.golden("directory/user.txt", h.ok("directory", "user", "chenjing"))
	var u directory.User
	require.NoError(t, json.Unmarshal([]byte(h.ok("directory", "user", "--unionid", h.fake.Org().Users[2].UnionID, "--json")), &u))
	assert.Equal(t, "wangwu", u.UserID)
	assert.Equal(t, "王五", u.Name)

	h.golden("directory/dept-root.txt", h.ok("directory", "dept", "1"))
	h.golden("directory/dept-members.txt", h.ok("directory", "dept", "3", "--members"))
	var d deptView
	require.NoError(t, json.Unmarshal([]byte(h.ok("directory", "dept", "2", "--recursive", "--json")), &d))
	ids := []string{}
	for _, m := range d.Members {
		ids = append(ids, m.UserID)
	}
	assert.ElementsMatch(t, []string{"lisi", "wangwu", "zhaoliu", "zhengshi", "chenjing"}, ids)
	assert.Len(t, d.Children, 2)

	lines := strings.Split(strings.TrimSpace(h.ok("directory", "export")), "\n")
	assert.Len(t, lines, 12)
	h.golden("directory/users.csv", h.ok("directory", "export", "--format", "csv"))
	h.golden("directory/departments.csv", h.ok("directory", "export", "--format", "csv", "--departments"))

	st := h.ok("directory", "status")
	assert.Regexp(t, `Mirror:\s+12 users, 7 departments`, st)

	for _, bad := range [][]string{
		{"directory", "user"},
		{"directory", "user", "wangwu", "--unionid", "x"},
		{"directory", "dept", "root"},
		{"directory", "export", "--format", "xml"},
	} {
		assert.Equal(t, ExitUsage, h.run(bad...).code, bad)
	}
	assert.Equal(t, ExitNotFound, h.run("directory", "dept", "99").code)
	assert.Equal(t, ExitNotFound, h.run("directory", "user", "--unionid", "nobody").code)
}
