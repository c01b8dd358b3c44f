package directory_test

import (
	"context"
	"fmt"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/directory"
	"github.com/dingfn/dingfn/shared/schedule"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// The sync function's tick walks the organisation into the mirror; any
// service then answers from the store.
func Example() {
	ctx := context.Background()
	fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg()) // stands in for DingTalk
	defer fake.Close()
	client, _ := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL))
	st, _ := memstore.New()

	w, _ := directory.NewWriter(st, client)
	walk, _ := directory.NewSyncer(w, directory.WithInterval(directory.DefaultInterval))
	tick, _ := schedule.New(st, []schedule.Step{walk.Step(false)})
	rep, err := tick.Tick(ctx)
	if err != nil {
		panic(err)
	}
	dr := rep.Steps[0].Report.(*directory.Report)
	fmt.Println("walk complete:", dr.Complete, "users:", dr.UsersSeen, "departments:", dr.DepartmentsSeen)

	r := directory.NewReader(st)
	u, _ := r.User(ctx, "chenjing")
	fmt.Println(u.Name, u.Title, u.DeptIDs)
	members, _ := r.Members(ctx, 2, true) // 研发中心 and the groups below it
	fmt.Println(members)

	// A second tick within DINGFN_SYNC_INTERVAL has nothing to do.
	rep, _ = tick.Tick(ctx)
	fmt.Println(rep.Steps[0].Status)
	// Output:
	// walk complete: true users: 12 departments: 7
	// 陈静 测试工程师 [3 4]
	// [chenjing lisi wangwu zhaoliu zhengshi]
	// not_due
}
