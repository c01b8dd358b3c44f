package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/notify"
)

// TestNotifiers: the same calls through the service in process and
// through the deployed API's client give the same answers and errors.
func TestNotifiers(t *testing.T) {
	e := robotEnv(t, memory)
	s := e.instance(notify.WithRobotCode(e.fake.RobotCode()))
	srv := httptest.NewServer(e.handler(s))
	defer srv.Close()
	remote, err := notify.NewClient(srv.URL, testKey, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ids := userIDs(t, e.fake, 2)
	for name, n := range map[string]notify.Notifier{"local": notify.Local(s, "svc"), "client": remote} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			req := textNotice("notifier "+name, ids...)
			req.IdempotencyKey = "notifier-key-" + name
			a, err := n.SendNotice(ctx, req)
			if err != nil || a.Status != notify.StatusSent {
				t.Fatalf("send: %+v %v", a, err)
			}
			again, err := n.SendNotice(ctx, req)
			if err != nil || !again.Replayed || again.ID != a.ID {
				t.Errorf("replay: %+v %v", again, err)
			}
			st, err := n.Notice(ctx, a.ID, notify.StatusOptions{})
			if err != nil || st.Status != notify.StatusSent || len(st.Result.Unread) != 2 {
				t.Errorf("status: %+v %v", st, err)
			}
			if r, err := n.Recall(ctx, a.ID); err != nil || len(r.RecalledTaskIDs) != 1 {
				t.Errorf("recall: %+v %v", r, err)
			}
			if _, err := n.SendRobot(ctx, "ops", dingtalk.RobotText("hello from "+name), ""); err != nil {
				t.Errorf("robot: %v", err)
			}
			bm := notify.RobotMessageRequest{UserIDs: ids, Msg: dingtalk.BotTextMessage("hello from " + name), IdempotencyKey: "bot-key-" + name}
			ba, err := n.SendRobotMessage(ctx, bm)
			if err != nil || ba.Status != notify.StatusSent || len(ba.ProcessQueryKeys) != 1 {
				t.Fatalf("robot message: %+v %v", ba, err)
			}
			if again, err := n.SendRobotMessage(ctx, bm); err != nil || !again.Replayed || again.ID != ba.ID {
				t.Errorf("robot message replay: %+v %v", again, err)
			}
			if st, err := n.RobotMessage(ctx, ba.ID, notify.StatusOptions{}); err != nil || len(st.Result.Unread) != 2 {
				t.Errorf("robot message status: %+v %v", st, err)
			}
			if r, err := n.RecallRobotMessage(ctx, ba.ID); err != nil || len(r.RecalledKeys) != 1 {
				t.Errorf("robot message recall: %+v %v", r, err)
			}
			_, err = n.Notice(ctx, "nzzzzzzzzzzzzzzzzzzzzzzzz", notify.StatusOptions{})
			var ne *notify.Error
			if !errors.As(err, &ne) || ne.Status != http.StatusNotFound || ne.Body.Error != notify.CodeNotFound {
				t.Errorf("unknown notice: %v", err)
			}
			bad := textNotice("", ids...)
			_, err = n.SendNotice(ctx, bad)
			if !errors.As(err, &ne) || ne.Body.Error != notify.CodeInvalidMessage || ne.Body.Field != "msg.text.content" {
				t.Errorf("invalid message: %v", err)
			}
		})
	}
	if _, err := notify.NewClient("ftp://x", testKey, nil); err == nil {
		t.Error("NewClient accepted an ftp URL")
	}
}
