package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
	"github.com/dingfn/dingfn/shared/notify"
	"github.com/dingfn/dingfn/shared/store/storetest"
)

// RecentNotices lists the stored notices newest first with their status
// and part counts, within the time and count asked for, on every backend.
func TestRecentNotices(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, withFake(dingtalktest.WithDemoOrg()))
			s := e.instance()
			ctx := context.Background()
			first := e.clk.Now()
			a1, err := s.SendNotice(ctx, "svc", textNotice("第一条 hello", "lisi"))
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(time.Minute)
			a2, err := s.SendNotice(ctx, "console", notify.NoticeRequest{DeptIDs: []int64{3}, Msg: dingtalk.MarkdownMessage("周报", "### 本周\n- 上线")})
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(time.Minute)
			a3, err := s.SendNotice(ctx, "svc", textNotice(strings.Repeat("长", 200), "wangwu", "zhaoliu"))
			if err != nil {
				t.Fatal(err)
			}

			got, err := s.RecentNotices(ctx, first, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || got[0].ID != a3.ID || got[1].ID != a2.ID || got[2].ID != a1.ID {
				t.Fatalf("got %+v, want %s, %s, %s", got, a3.ID, a2.ID, a1.ID)
			}
			n2 := got[1]
			if n2.Status != notify.StatusSent || n2.Caller != "console" || n2.MsgType != "markdown" || n2.Title != "周报" ||
				len(n2.DeptIDs) != 1 || n2.Progress.Parts != 1 || n2.Progress.Sent != 1 || len(n2.TaskIDs) != 1 {
				t.Errorf("markdown notice: %+v", n2)
			}
			if n1 := got[2]; n1.Title != "第一条 hello" || n1.Users != 1 || n1.MsgType != "text" {
				t.Errorf("text notice: %+v", n1)
			}
			if n3 := got[0]; len([]rune(n3.Title)) != 81 || !strings.HasSuffix(n3.Title, "…") || n3.Users != 2 {
				t.Errorf("a long text is clipped to 80 characters: %q (%d users)", n3.Title, n3.Users)
			}

			if got, _ := s.RecentNotices(ctx, first, 2); len(got) != 2 || got[1].ID != a2.ID {
				t.Errorf("limit 2: %+v", got)
			}
			if got, _ := s.RecentNotices(ctx, first.Add(time.Minute), 10); len(got) != 2 || got[1].ID != a2.ID {
				t.Errorf("since the second: %+v", got)
			}
			if _, err := s.Recall(ctx, a1.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.RecentNotices(ctx, first, 10); got[2].Status != notify.StatusRecalled {
				t.Errorf("after recall: %+v", got[2])
			}
			if _, err := s.RecentNotices(ctx, first, 0); err == nil {
				t.Error("limit 0 must be refused")
			}
		})
	}
}

// NameFor labels a webhook token with its robot's name and knows no
// other token.
func TestRobotsNameFor(t *testing.T) {
	t.Parallel()
	r, err := notify.ParseRobots("ops=tok-ops:SECx, alerts=tok-alerts")
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{"tok-ops": "ops", "tok-alerts": "alerts", "tok-other": "", "": ""} {
		if got, ok := r.NameFor(tok); got != want || ok != (want != "") {
			t.Errorf("NameFor(%q) = %q, %v; want %q", tok, got, ok, want)
		}
	}
	var none *notify.Robots
	if _, ok := none.NameFor("tok-ops"); ok {
		t.Error("no robots name nothing")
	}
}
