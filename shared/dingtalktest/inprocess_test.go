package dingtalktest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/dingtalktest"
)

// TestFaultShare: a Share fault answers that fraction of the calls,
// spread evenly, and lets the others through.
func TestFaultShare(t *testing.T) {
	t.Parallel()
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	t.Cleanup(s.Close)
	s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: dingtalktest.FaultError, Errcode: 33012, Message: "injected", Share: 0.3})
	c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
		dingtalk.WithHTTPClient(&http.Client{Transport: s.Transport()}))
	if err != nil {
		t.Fatal(err)
	}
	var failed []int
	for i := 1; i <= 20; i++ {
		if _, err := c.Contact.GetUser(context.Background(), "lisi", ""); err != nil {
			failed = append(failed, i)
		}
	}
	want := []int{4, 7, 10, 14, 17, 20}
	if len(failed) != len(want) {
		t.Fatalf("failed calls %v, want %v", failed, want)
	}
	for i := range want {
		if failed[i] != want[i] {
			t.Fatalf("failed calls %v, want %v", failed, want)
		}
	}
}

// TestSlowDelayOnTheBubbleClock: a Delay-only slow answer through
// Transport waits on synctest's clock, so two seconds of DingTalk time
// take none, and a client that gives up first gets its own deadline.
func TestSlowDelayOnTheBubbleClock(t *testing.T) {
	t.Parallel()
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg())
	t.Cleanup(s.Close)
	s.InjectFault("topapi/v2/user/get", dingtalktest.Fault{Kind: dingtalktest.FaultSlow, Delay: 2 * time.Second})
	synctest.Test(t, func(t *testing.T) {
		c, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL),
			dingtalk.WithHTTPClient(&http.Client{Transport: s.Transport()}))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := c.Contact.GetUser(context.Background(), "lisi", ""); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("slow answer took %v of bubble time, want 2s", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start = time.Now()
		if _, err := c.Contact.GetUser(ctx, "lisi", ""); err == nil {
			t.Fatal("a call past its deadline succeeded")
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("the caller gave up after %v, want 500ms", d)
		}
	})
}

// TestPushThroughHandlerTransport pushes an event to a handler in
// process; a failed delivery is listed at the event's own time.
func TestPushThroughHandlerTransport(t *testing.T) {
	t.Parallel()
	var got []string
	var c *dingcrypto.Crypto
	fail := false
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Encrypt string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		q := r.URL.Query()
		msg, err := c.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body.Encrypt)
		if err != nil || fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got = append(got, string(msg))
		env, _ := c.Encrypt([]byte("success"))
		_ = json.NewEncoder(w).Encode(env)
	})
	s := dingtalktest.NewServer(dingtalktest.WithDemoOrg(), dingtalktest.WithPushClient(&http.Client{Transport: dingtalktest.HandlerTransport(h)}))
	t.Cleanup(s.Close)
	token, key := s.EventSubscription()
	var err error
	if c, err = dingcrypto.New(token, key, s.AppKey()); err != nil {
		t.Fatal(err)
	}
	ev := s.UserEvent("user_add_org", "lisi")
	if err := s.PushEvent(context.Background(), "http://callback.invalid/cb", ev); err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("handler got %v", got)
	}
	fail = true
	ev["TimeStamp"] = "1772442000123"
	if err := s.DeliverEvent(context.Background(), "http://callback.invalid/cb", ev); err == nil {
		t.Fatal("delivery to a failing handler succeeded")
	}
	client, err := dingtalk.NewClient(s.AppKey(), s.AppSecret(), dingtalk.WithBaseURLs(s.URL, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Callback.FailedResults(context.Background())
	if err != nil || len(res.FailedList) != 1 {
		t.Fatalf("failed results %+v, %v", res, err)
	}
	if f := res.FailedList[0]; f.Tag != "user_add_org" || f.EventTime != 1772442000123 {
		t.Errorf("failed record %+v, want the event's own time", f)
	}
}
