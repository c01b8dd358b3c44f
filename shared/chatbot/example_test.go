package chatbot_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// A chat handler on the event log's mux answers what people write to the
// robot; the message URL verifies, logs and runs it.
func Example() {
	fake := dingtalktest.NewServer(dingtalktest.WithDemoOrg()) // stands in for DingTalk
	defer fake.Close()
	client, _ := dingtalk.NewClient(fake.AppKey(), fake.AppSecret(), dingtalk.WithBaseURLs(fake.URL, fake.URL))
	st, _ := memstore.New()

	mux := events.NewMux() // in a deployment: handlers.Register(mux)
	chatbot.HandleFunc(mux, "echo", func(ctx context.Context, m *chatbot.Message, reply chatbot.ReplyFunc) error {
		return reply(ctx, dingtalk.RobotText("你说："+m.PlainText()))
	})
	log, _ := events.New(st, mux, chatbot.Replies(client.Chatbot, nil))
	robot, _ := chatbot.NewHandler(fake.AppSecret(), log)
	srv := httptest.NewServer(robot) // the callback function's /robot
	defer srv.Close()

	d, err := fake.PostChatbotMessage(context.Background(), srv.URL+"/robot", dingtalktest.ChatMessage{From: "lisi", Text: "你好"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s", d.Reply)
	// Output:
	// {"msgtype":"text","text":{"content":"你说：你好"}}
}
