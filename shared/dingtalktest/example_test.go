package dingtalktest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
)

// A client pointed at the fake for both API generations.
func ExampleNewServer() {
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	defer s.Close()

	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL))
	if err != nil {
		panic(err)
	}
	u, err := c.Contact.GetUser(context.Background(), "zhangsan", "")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Name, s.CallCount("topapi/v2/user/get"))
	// Output: 张三 1
}

// Token expiry without sleeping: the fake reads a manual clock.
func ExampleManualClock() {
	clk := dingtalktest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := dingtalktest.NewServer(dingtalktest.WithClock(clk.Now))
	defer s.Close()

	first := s.AccessToken()
	clk.Advance(2 * time.Hour)
	fmt.Println(first == s.AccessToken())
	// Output: false
}

// Injected faults answer a number of calls, then the fake recovers.
func ExampleServer_InjectFault() {
	s := dingtalktest.NewServer()
	defer s.Close()
	s.InjectFault("gettoken", dingtalktest.Fault{Kind: dingtalktest.FaultBadGateway, Times: 1})

	for range 2 {
		resp, err := http.Get(s.URL + "/gettoken?appkey=" + s.AppKey() + "&appsecret=" + s.AppSecret())
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 502
	// 200
}
