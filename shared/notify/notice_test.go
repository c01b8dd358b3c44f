package notify_test

import (
	"net/http"
	"testing"

	"github.com/dingfn/dingfn/shared/notify"
)

func TestSendSmallNotice(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			h := e.handler(e.instance())
			ids := userIDs(t, e.fake, 3)
			var a notify.NoticeAnswer
			res := call(t, h, "POST", "/v1/notices", textNotice("hello", ids...), &a)
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %+v", res.StatusCode, a)
			}
			if a.Status != notify.StatusSent || len(a.TaskIDs) != 1 {
				t.Fatalf("answer %+v, want sent with one task", a)
			}
			got := deliveries(e.fake)
			for _, id := range ids {
				if got[id] != 1 {
					t.Errorf("%s got %d notices, want 1", id, got[id])
				}
			}
		})
	}
}
