package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/store/otsstore"
)

// dump reads every table of the harness's store below the store package,
// row by row and byte by byte: every bucket of the bolt file, or every
// table the emulator lists with each column's value and cell timestamp.
// (A memory store lives and dies with one command, so there is nothing
// to compare across commands; package directory's tests cover it.)
func (h *harness) dump() map[string]map[string]string {
	h.t.Helper()
	out := map[string]map[string]string{}
	switch {
	case h.emu != nil:
		c := h.emu.NewClient("cli")
		tables, err := c.ListTable()
		require.NoError(h.t, err)
		for _, name := range tables.TableNames {
			rows := map[string]string{}
			start, end := &tablestore.PrimaryKey{}, &tablestore.PrimaryKey{}
			start.AddPrimaryKeyColumnWithMinValue(otsstore.ColKey)
			end.AddPrimaryKeyColumnWithMaxValue(otsstore.ColKey)
			for start != nil {
				resp, err := c.GetRange(&tablestore.GetRangeRequest{RangeRowQueryCriteria: &tablestore.RangeRowQueryCriteria{
					TableName: name, StartPrimaryKey: start, EndPrimaryKey: end, MaxVersion: 1, Direction: tablestore.FORWARD,
				}})
				require.NoError(h.t, err)
				for _, rw := range resp.Rows {
					var cols []string
					for _, col := range rw.Columns {
						cols = append(cols, fmt.Sprintf("%s=%v@%d", col.ColumnName, col.Value, col.Timestamp))
					}
					rows[fmt.Sprint(rw.PrimaryKey.PrimaryKeys[0].Value)] = strings.Join(cols, " ")
				}
				start = resp.NextStartPrimaryKey
			}
			out[name] = rows
		}
	case strings.HasPrefix(h.env["DINGFN_STORE"], "bolt:"):
		db, err := bolt.Open(strings.TrimPrefix(h.env["DINGFN_STORE"], "bolt:"), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		require.NoError(h.t, err)
		defer db.Close()
		var walk func(prefix string, b *bolt.Bucket) error
		walk = func(prefix string, b *bolt.Bucket) error {
			rows := map[string]string{}
			out[prefix] = rows
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					return walk(prefix+"/"+string(k), b.Bucket(k))
				}
				rows[string(k)] = string(v)
				return nil
			})
		}
		require.NoError(h.t, db.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
		}))
	default:
		h.t.Fatalf("no store to dump for %s", h.env["DINGFN_STORE"])
	}
	return out
}

// wantSameStore fails unless the store holds exactly before.
func (h *harness) wantSameStore(before map[string]map[string]string) {
	h.t.Helper()
	after := h.dump()
	assert.Equal(h.t, len(before), len(after), "tables")
	for table, rows := range before {
		if !maps.Equal(rows, after[table]) {
			h.t.Errorf("table %s changed under a dry run: %d rows before, %d after", table, len(rows), len(after[table]))
		}
	}
}

// durations match the run times a dry run prints, which vary.
var durations = regexp.MustCompile(`("duration_ms": |Duration: +)\d+(ms|s)?`)

// goldenRun is golden with the run's duration left out.
func (h *harness) goldenRun(name, got string) {
	h.t.Helper()
	h.golden(name, durations.ReplaceAllString(got, "${1}DURATION"))
}

// changeDemoOrg changes the demo organisation after a walk: a user added,
// moved, renamed and removed, a department added and renamed.
func changeDemoOrg(t *testing.T, fake *dingtalktest.Server) {
	t.Helper()
	_, err := fake.AddUser(dingtalktest.User{UserID: "xuming", UnionID: "xumingUnionID0000", Name: "徐明", Title: "前端工程师", DeptIDs: []int64{4}})
	require.NoError(t, err)
	require.NoError(t, fake.MoveUser("zhengshi", 4))
	require.NoError(t, fake.RenameUser("liuyang", "刘阳"))
	require.NoError(t, fake.RemoveUser("huangli"))
	_, err = fake.AddDepartment(dingtalktest.Department{ID: 8, ParentID: 2, Name: "测试组", Order: 3})
	require.NoError(t, err)
	require.NoError(t, fake.RenameDepartment(5, "市场营销部"))
}

// A dry run and a diff after the organisation changed: golden counts and
// records, on a terminal and as JSON, the store untouched row for row,
// and the next sync doing what they said.
func TestSyncDryRunAndDirectoryDiff(t *testing.T) {
	for _, kind := range []storeKind{onEmulator, onBolt} {
		t.Run(string(kind), func(t *testing.T) {
			h := newHarness(t, kind)
			h.ok("sync")
			changeDemoOrg(t, h.fake)
			before := h.dump()

			out := h.ok("sync", "--dry-run")
			h.goldenRun("sync/dry-run.json", out)
			var plan directory.Report
			require.NoError(t, json.Unmarshal([]byte(out), &plan))
			h.goldenRun("directory/diff.json", h.ok("directory", "diff"))

			h.terminal = true
			r := h.run("sync", "--dry-run")
			require.Equal(t, ExitOK, r.code, r.stderr)
			assert.Regexp(t, `departments · \d+ users · \d+ API calls`, r.stderr, "the bar")
			h.goldenRun("sync/dry-run.txt", r.stdout)
			r = h.run("directory", "diff")
			require.Equal(t, ExitOK, r.code, r.stderr)
			h.goldenRun("directory/diff.txt", r.stdout)
			h.goldenRun("directory/diff.json", h.ok("directory", "diff", "--json"))
			h.terminal = false

			h.wantSameStore(before)

			// The sync then does what the dry run said.
			rep := decodeSync(t, h.ok("sync"))
			s := rep.Steps[0]
			assert.Equal(t, plan.Created, s.Created)
			assert.Equal(t, plan.Deleted, s.Deleted)
			assert.Equal(t, plan.Unchanged, s.Unchanged)
			r = h.run("directory", "diff")
			require.Equal(t, ExitOK, r.code, r.stderr)
			var after directory.Plan
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &after))
			assert.Empty(t, after.Changes, "nothing left to change after the sync")
			h.terminal = true
			assert.Contains(t, h.ok("directory", "diff"), "The mirror matches DingTalk: 12 users, 8 departments.")
		})
	}
}

// A dry run whose walk the deletion guard would stop exits 5 with the
// verdict, removes nothing, and lists what a confirmed sync would remove.
func TestSyncDryRunDeletionGuard(t *testing.T) {
	h := newHarness(t, onEmulator, dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 120, DeptSize: 12, Fanout: 3, Seed: 7}))
	h.ok("sync")
	for _, u := range h.fake.Org().Users[:60] {
		require.NoError(t, h.fake.RemoveUser(u.UserID))
	}
	before := h.dump()

	r := h.run("sync", "--dry-run")
	assert.Equal(t, ExitGuard, r.code, r.stderr)
	var rep directory.Report
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.NotNil(t, rep.Guard)
	assert.True(t, rep.Guard.Tripped)
	assert.True(t, rep.DryRun)
	assert.Equal(t, 60, rep.Guard.Users)
	assert.Zero(t, rep.Deleted, "a tripped guard removes nothing")
	assert.Contains(t, r.stderr, "dingfn sync --allow-mass-delete")

	h.terminal = true
	r = h.run("sync", "--dry-run")
	assert.Equal(t, ExitGuard, r.code)
	assert.Regexp(t, `Deletion guard:\s+WOULD TRIP: 60 users and 0 departments to remove, limit 20`, r.stdout)
	h.terminal = false

	var confirmed directory.Report
	require.NoError(t, json.Unmarshal([]byte(h.ok("sync", "--dry-run", "--allow-mass-delete")), &confirmed))
	assert.Equal(t, 60, confirmed.Users.Deleted)
	assert.True(t, confirmed.Guard.Allowed)

	// The diff lists the 60 and the verdict, and is not itself refused.
	var plan directory.Plan
	require.NoError(t, json.Unmarshal([]byte(h.ok("directory", "diff")), &plan))
	deleted := 0
	for _, c := range plan.Changes {
		if c.Kind == directory.KindUser && c.Change == directory.Deleted {
			deleted++
		}
	}
	assert.Equal(t, 60, deleted)
	assert.True(t, plan.Guard.Tripped)
	h.wantSameStore(before)
}

// Interrupted, a diff prints what it found so far, marked incomplete, and
// exits 130; the store is untouched.
func TestDirectoryDiffInterrupted(t *testing.T) {
	h := newHarness(t, onBolt)
	h.ok("sync")
	changeDemoOrg(t, h.fake)
	before := h.dump()
	waiting := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	// The third member listing parks until the command gives up.
	h.fake.InjectFault("topapi/v2/user/list", dingtalktest.Fault{Kind: dingtalktest.FaultNone, Times: 2})
	h.fake.InjectFault("topapi/v2/user/list", dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Times: 1, Waiting: waiting, Release: release})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-waiting
		cancel()
	}()
	r := h.runContext(ctx, "directory", "diff")
	assert.Equal(t, ExitInterrupted, r.code, r.stderr)
	var plan directory.Plan
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan), r.stdout)
	assert.False(t, plan.Complete)
	assert.Nil(t, plan.Guard, "no verdict on an incomplete walk")
	assert.Less(t, plan.DepartmentsSeen, 8)
	h.wantSameStore(before)
}
