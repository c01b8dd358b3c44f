package notify_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/httpapi"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// A work notice to 250 people is three DingTalk calls, recorded before
// they are sent; the same Idempotency-Key returns the first answer.
func ExampleService_SendNotice() {
	fake := dingtalktest.NewServer(dingtalktest.WithGeneratedOrg(dingtalktest.OrgSpec{Users: 250}))
	defer fake.Close()
	client, _ := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL))
	st, _ := memstore.New()
	svc, _ := notify.New(st, client, fake.AgentID())

	var ids []string
	for _, u := range fake.Org().Users {
		ids = append(ids, u.UserID)
	}
	req := notify.NoticeRequest{UserIDs: ids, Msg: dingtalk.TextMessage("系统将于今晚 22:00 维护"), IdempotencyKey: "maintenance-2026-03-02"}
	a, err := svc.SendNotice(context.Background(), "ops", req)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _ := svc.SendNotice(context.Background(), "ops", req)
	fmt.Println(a.Status, len(a.TaskIDs), "tasks;", "replayed:", again.Replayed, again.ID == a.ID)
	// Output: sent 3 tasks; replayed: true true
}

// The HTTP API answers a message that breaks DingTalk's rules with a 400
// naming the field as DingTalk spells it; nothing is sent.
func ExampleHandler() {
	fake := dingtalktest.NewServer()
	defer fake.Close()
	client, _ := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL))
	st, _ := memstore.New()
	svc, _ := notify.New(st, client, fake.AgentID())
	keys, _ := httpapi.ParseKeys("orders=example-notify-key-0123456789")
	h := notify.Handler(svc, keys)

	r := httptest.NewRequest("POST", "/v1/notices", strings.NewReader(
		`{"userids":["lisi"],"msg":{"msgtype":"link","link":{"title":"发货","text":"订单 4711","picUrl":"https://example.com/p.png"}}}`))
	r.Header.Set("Authorization", "Bearer example-notify-key-0123456789")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	fmt.Println(w.Code, strings.TrimSpace(string(body)))
	// Output: 400 {"error":"invalid_message","message":"msg.link.messageUrl: link needs messageUrl, picUrl, title and text","field":"msg.link.messageUrl","rule":"required"}
}
