package directorytest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/directory/directorytest"
	"github.com/dingfn/dingfn/shared/store"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// Diff proves mirrors equal in the sync's tests, so it must see every kind
// of difference.
func TestDiffSeesEveryDifference(t *testing.T) {
	ctx := context.Background()
	fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	defer fake.Close()
	st, err := memstore.New()
	if err != nil {
		t.Fatal(err)
	}
	client, err := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	w, err := directory.NewWriter(st, client)
	if err != nil {
		t.Fatal(err)
	}
	s, err := directory.NewSyncer(w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, directory.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	org := fake.Org()
	if diffs, err := directorytest.Diff(ctx, st, org); err != nil || len(diffs) != 0 {
		t.Fatalf("after a walk: %v, %v", diffs, err)
	}

	edit := func(table, key string, f func(m map[string]any)) {
		t.Helper()
		it, err := st.Get(ctx, table, key)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(it.Value, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		it.Value, _ = json.Marshal(m)
		if _, err := st.Put(ctx, table, it, store.Always); err != nil {
			t.Fatal(err)
		}
	}
	edit(directory.UsersTable, "lisi", func(m map[string]any) { m["name"] = "别人" })
	edit(directory.UsersTable, "wangwu", func(m map[string]any) { m["left_at"] = "2026-01-01T00:00:00Z" })
	edit(directory.UsersTable, "zhaoliu", func(m map[string]any) { m["leader_in"] = []int64{} })
	edit(directory.DepartmentsTable, "3", func(m map[string]any) { m["parent_id"] = 1 })
	edit(directory.MembersTable, "5", func(m map[string]any) { m["userids"] = []string{"sunqi"} })
	if err := st.Delete(ctx, directory.DepartmentsTable, "6", store.Always); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, directory.UnionIDsTable, store.Item{Key: "stranger", Value: []byte(`{"unionid":"stranger","userid":"lisi"}`)}, store.Always); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, directory.UsersTable, store.Item{Key: "ghost", Value: []byte(`{"userid":"ghost","dept_ids":[1]}`)}, store.Always); err != nil {
		t.Fatal(err)
	}
	diffs, err := directorytest.Diff(ctx, st, org)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(diffs, "\n")
	for _, want := range []string{
		`user lisi: name = "别人", want "李四"`,
		"user wangwu: tombstoned",
		`user zhaoliu: leader_in = "[]", want "[4]"`,
		`department 3: parent_id = "1", want "2"`,
		"members of department 5: got [sunqi], want [liuyang sunqi]",
		"department 6: missing",
		`unionid stranger: maps to "lisi", not in the organisation`,
		"user ghost: current in the mirror, not in the organisation",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("Diff missed %q; it said:\n%s", want, all)
		}
	}
	if len(diffs) != 8 {
		t.Errorf("Diff found %d differences, want 8:\n%s", len(diffs), all)
	}
}
