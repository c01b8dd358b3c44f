package dingtalk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/dingfn/dingfn/shared/dingtalk"
)

// fakeDingTalk answers the few calls the examples make.
func fakeDingTalk() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1.0/oauth2/accessToken", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"accessToken":"example-token","expireIn":7200}`)
	})
	mux.HandleFunc("/topapi/v2/user/get", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"errcode":0,"result":{"userid":"zhangsan","name":"张三","title":"总经理"}}`)
	})
	mux.HandleFunc("/topapi/v2/department/listsub", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"errcode":0,"result":[]}`)
	})
	mux.HandleFunc("/topapi/extcontact/listlabelgroups", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"errcode":0,"results":[{"name":"客户类型","labels":[{"id":11,"name":"VIP"}]}]}`)
	})
	mux.HandleFunc("/topapi/message/corpconversation/asyncsend_v2", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"errcode":90020,"errmsg":"本月调用额度已用完","request_id":"r-1"}`)
	})
	return httptest.NewServer(mux)
}

func Example() {
	srv := fakeDingTalk()
	defer srv.Close()

	// In production: dingtalk.NewClient(os.Getenv("DINGTALK_APP_KEY"), os.Getenv("DINGTALK_APP_SECRET")).
	c, err := dingtalk.NewClient("app-key", "app-secret", dingtalk.WithBaseURLs(srv.URL, srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	u, err := c.Contact.GetUser(context.Background(), "zhangsan", dingtalk.LanguageZhCN)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Name, u.Title)
	// Output: 张三 总经理
}

func ExampleContactService_WalkDepartments() {
	srv := fakeDingTalk()
	defer srv.Close()
	c, _ := dingtalk.NewClient("app-key", "app-secret", dingtalk.WithBaseURLs(srv.URL, srv.URL))

	n := 0
	for d, err := range c.Contact.WalkDepartments(context.Background(), dingtalk.RootDepartmentID, "") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(d.DeptID, d.Name)
		n++
	}
	fmt.Println(n, "departments below the root")
	// Output: 0 departments below the root
}

func ExampleClient_Call() {
	srv := fakeDingTalk()
	defer srv.Close()
	c, _ := dingtalk.NewClient("app-key", "app-secret", dingtalk.WithBaseURLs(srv.URL, srv.URL))

	// The old SDK's app.run('dingtalk.corp.ext.listlabelgroups', size=20, offset=0).
	var out struct {
		Results []dingtalk.LabelGroup `json:"results"`
	}
	err := c.Call(context.Background(), "dingtalk.corp.ext.listlabelgroups", map[string]any{"size": 20, "offset": 0}, &out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Results[0].Name, out.Results[0].Labels[0].Name)
	// Output: 客户类型 VIP
}

func ExampleIsQuotaExhausted() {
	srv := fakeDingTalk()
	defer srv.Close()
	c, _ := dingtalk.NewClient("app-key", "app-secret", dingtalk.WithBaseURLs(srv.URL, srv.URL))

	_, err := c.Message.Send(context.Background(), &dingtalk.WorkNotice{
		AgentID:    123,
		UserIDList: dingtalk.CommaStrings{"zhangsan"},
		Msg:        dingtalk.TextMessage("月报已生成"),
	})
	var de *dingtalk.Error
	switch {
	case dingtalk.IsQuotaExhausted(err):
		errors.As(err, &de)
		fmt.Println("quota exhausted; request id", de.RequestID)
	case err != nil:
		log.Fatal(err)
	}
	// Output: quota exhausted; request id r-1
}

func ExampleRobotService_Send() {
	mux := http.NewServeMux()
	mux.HandleFunc("/robot/send", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("signed:", r.URL.Query().Has("sign"))
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, _ := dingtalk.NewClient("app-key", "app-secret", dingtalk.WithBaseURLs(srv.URL, srv.URL))

	hook := dingtalk.Webhook{AccessToken: "robot-token", Secret: "SEC-robot-secret"}
	if err := c.Robot.Send(context.Background(), hook, dingtalk.RobotText("发布完成", "lisi")); err != nil {
		log.Fatal(err)
	}
	// Output: signed: true
}
