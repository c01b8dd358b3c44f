package dingtalktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCallRecording(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tok := s.AccessToken()
	oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"})
	oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "nobody"})
	if got := s.CallCount("topapi/v2/user/get"); got != 2 {
		t.Fatalf("CallCount = %d, want 2", got)
	}
	if got := s.CallCount("/topapi/v2/user/get"); got != 2 {
		t.Fatalf("CallCount with slash = %d, want 2", got)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Errcode != 0 || calls[1].Errcode != 60121 || calls[1].Status != 200 {
		t.Fatalf("calls = %+v", calls)
	}
	if !strings.Contains(string(calls[1].Body), "nobody") || calls[0].Time != t0 {
		t.Fatalf("call body/time not recorded: %+v", calls[1])
	}
	s.ResetCalls()
	if s.CallCount("topapi/v2/user/get") != 0 {
		t.Fatal("ResetCalls kept calls")
	}
}

func TestQPSLimit(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithQPSLimit(2), WithAPIQPSLimit("topapi/user/listid", 1))
	tok := s.AccessToken()
	get := func() result {
		return oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"})
	}
	// Calls rejected for their token do not use the app's allowance.
	for range 3 {
		wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", "bogus", map[string]any{"userid": "user000001"}), 88)
	}
	wantErrcode(t, get(), 0)
	wantErrcode(t, get(), 0)
	wantErrcode(t, get(), 90018)
	// Another API has its own window.
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 0)
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 90018)
	// Token endpoints are exempt from the default limit.
	for range 5 {
		wantErrcode(t, oapiGet(t, s, "gettoken", map[string][]string{"appkey": {s.AppKey()}, "appsecret": {s.AppSecret()}}), 0)
	}
	clk.Advance(time.Second)
	wantErrcode(t, get(), 0)

	s.SetQPSLimit("v1.0/oauth2/jsapiTickets", 1)
	v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", tok, nil)
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", tok, nil), 403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tok := s.AccessToken()
	get := func() result {
		return oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"})
	}

	s.InjectFault("topapi/v2/user/get", Fault{Kind: FaultBusy, Times: 1})
	wantErrcode(t, get(), -1)
	wantErrcode(t, get(), 0)

	s.InjectFault("/topapi/v2/user/get", Fault{Kind: FaultBadGateway, Times: 2})
	for range 2 {
		if r := get(); r.status != http.StatusBadGateway || r.body != nil {
			t.Fatalf("bad gateway fault: HTTP %d %s", r.status, r.raw)
		}
	}
	wantErrcode(t, get(), 0)

	s.InjectFault("topapi/v2/user/get", Fault{Kind: FaultIPBlock, Times: 1})
	if r := get(); r.str("punish") != "deny" {
		t.Fatalf("ip block: %s", r.raw)
	}

	s.InjectFault("", Fault{Kind: FaultBusy})
	wantCode(t, v1(t, s, http.MethodPost, "v1.0/oauth2/jsapiTickets", tok, nil), 500, "systemError")
	wantErrcode(t, get(), -1)
	s.ClearFaults()
	wantErrcode(t, get(), 0)
	calls := s.Calls()
	if calls[0].Fault != FaultBusy || calls[1].Fault != FaultNone {
		t.Fatalf("faults not recorded: %v %v", calls[0].Fault, calls[1].Fault)
	}
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithOrg(loadTestOrg(t)))
	tok := s.AccessToken()
	s.InjectFault("topapi/v2/user/delete", Fault{Kind: FaultDrop, Times: 1})
	if _, err := postRaw(s, "topapi/v2/user/delete", tok, `{"userid":"bob"}`); err == nil {
		t.Fatal("dropped connection gave no error")
	}
	if _, ok := s.User("bob"); !ok {
		t.Fatal("FaultDrop ran the call")
	}
	s.InjectFault("topapi/v2/user/delete", Fault{Kind: FaultDropAfter, Times: 1})
	if _, err := postRaw(s, "topapi/v2/user/delete", tok, `{"userid":"bob"}`); err == nil {
		t.Fatal("dropped connection gave no error")
	}
	if _, ok := s.User("bob"); ok {
		t.Fatal("FaultDropAfter did not run the call")
	}
}

func postRaw(s *Server, path, tok, body string) (*http.Response, error) {
	// A fresh transport, so a dropped keep-alive connection is not retried.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Post(s.URL+"/"+path+"?access_token="+tok, "application/json", strings.NewReader(body))
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestFaultSlow(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tok := s.AccessToken()

	// A client timeout ends the wait; the call does not run.
	never, waiting := make(chan struct{}), make(chan struct{})
	s.InjectFault("topapi/v2/user/delete", Fault{Kind: FaultSlow, Times: 1, Release: never, Waiting: waiting})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/topapi/v2/user/delete?access_token="+tok, strings.NewReader(`{"userid":"user000001"}`))
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	<-waiting
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled slow call: %v", err)
	}
	// The fake notices the client left and never runs the call.
	if _, ok := s.User("user000001"); !ok {
		t.Fatal("a call abandoned while slow was run")
	}

	// Released, the slow call answers normally.
	release := make(chan struct{})
	s.InjectFault("topapi/v2/user/get", Fault{Kind: FaultSlow, Times: 1, Release: release})
	done := make(chan result, 1)
	go func() { done <- oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"}) }()
	close(release)
	wantErrcode(t, <-done, 0)

	// A bounded delay ends on its own.
	s.InjectFault("topapi/v2/user/get", Fault{Kind: FaultSlow, Times: 1, Delay: time.Millisecond})
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "user000001"}), 0)
}

func TestCloseReleasesSlowCalls(t *testing.T) {
	t.Parallel()
	s := NewServer()
	s.InjectFault("", Fault{Kind: FaultSlow})
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		close(started)
		http.Get(s.URL + "/gettoken")
		close(done)
	}()
	<-started
	s.Close() // must not hang on the blocked handler
	<-done
}

func TestUnknownPaths(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	wantErrcode(t, oapiJSON(t, s, "topapi/foo/bar", s.AccessToken(), map[string]any{}), 22)
	r := v1(t, s, http.MethodGet, "v1.0/foo/bar", s.AccessToken(), nil)
	wantCode(t, r, 404, "InvalidAction.NotFound")
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/topapi/v2/user/get?access_token="+s.AccessToken(), nil)
	wantErrcode(t, do(t, req), 43002)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithQPSLimit(1000), WithRobot("r", RobotConfig{}))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				switch (g + i) % 8 {
				case 5:
					sendNotice(t, s, map[string]any{"userid_list": "user000001", "msg": textMsg(fmt.Sprint(g, i))})
					s.WorkNotices()
				case 6:
					s.InjectFault("topapi/v2/department/get", Fault{Kind: FaultBusy, Times: 1})
					oapiJSON(t, s, "topapi/v2/department/get", s.AccessToken(), map[string]any{"dept_id": 1})
				case 7:
					robotPost(t, s, "r", nil, `{"msgtype":"text","text":{"content":"x"}}`)
					s.RobotMessages("")
					s.Org()
				case 0:
					s.AddUser(User{Name: "并发", Mobile: "", DeptIDs: []int64{1}})
				case 1:
					oapiJSON(t, s, "topapi/user/listid", s.AccessToken(), map[string]any{"dept_id": 1})
				case 2:
					s.InvalidateTokens()
				case 3:
					clk.Advance(time.Millisecond)
					s.CallCount("topapi/user/listid")
				case 4:
					oapiJSON(t, s, "topapi/v2/user/list", s.AccessToken(), map[string]any{"dept_id": 1, "cursor": 0, "size": 5})
				}
			}
		}()
	}
	wg.Wait()
	added := 0
	for g := range 8 {
		for i := range 20 {
			if (g+i)%8 == 0 {
				added++
			}
		}
	}
	if got := s.UserCount(); got != 50+added {
		t.Fatalf("UserCount = %d, want %d", got, 50+added)
	}
}

func TestIPBlocking(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t, WithIPBlocking())
	// Shrink the rule so the test stays fast; the shape is the same.
	s.mu.Lock()
	s.ip = newIPLimiter(5, ipBlockWindow, ipBlockTime)
	s.mu.Unlock()
	tok := s.AccessToken()
	for range 5 {
		wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 0)
	}
	r := oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1})
	if r.str("punish") != "deny" {
		t.Fatalf("6th call in 20 s: %s, want the per-IP block", r.raw)
	}
	clk.Advance(ipBlockTime - time.Second)
	if r := oapiJSON(t, s, "gettoken", "", nil); r.str("punish") != "deny" {
		t.Fatalf("every API is blocked for 5 minutes: %s", r.raw)
	}
	clk.Advance(time.Second)
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 0)
}

func TestWithListenerAndHandler(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(WithListener(l))
	defer s.Close()
	if s.URL != "http://"+l.Addr().String() {
		t.Fatalf("URL %s, want the listener's address %s", s.URL, l.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	hs := httptest.NewServer(mux)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/gettoken?appkey=" + s.AppKey() + "&appsecret=" + s.AppSecret())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.CallCount("gettoken") != 1 {
		t.Fatal("call through Handler not recorded")
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	ev := s.UserEvent("user_add_org", "lisi")
	if ev["OptStaffId"] != "zhangsan" || ev["TimeStamp"] != "1796029200000" || ev["CorpId"] != s.CorpID() {
		t.Fatalf("user event %v", ev)
	}
	if d := s.DeptEvent("org_dept_remove", 5); fmt.Sprint(d["DeptId"]) != "[5]" {
		t.Fatalf("dept event %v", d)
	}
	if _, ok := s.ProcessEvent("nope", "start"); ok {
		t.Fatal("event for an unknown instance")
	}
}

func TestMaxRecordedCalls(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithMaxRecordedCalls(3))
	tok := s.AccessToken()
	for i := range 10 {
		oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": fmt.Sprintf("user%06d", i)})
	}
	calls := s.Calls()
	if len(calls) != 3 || !strings.Contains(string(calls[2].Body), "user000009") || calls[2].Errcode != 0 {
		t.Fatalf("kept %d calls, last %s", len(calls), calls[len(calls)-1].Body)
	}
	if s.CallCount("topapi/v2/user/get") != 10 {
		t.Fatalf("CallCount %d, want 10", s.CallCount("topapi/v2/user/get"))
	}
}

// TestResetDuringASlowCall: a call answered after ResetCalls must not
// overwrite the outcome of a call recorded after the reset.
func TestResetDuringASlowCall(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	tok := s.AccessToken()
	release, waiting := make(chan struct{}), make(chan struct{})
	s.InjectFault("topapi/v2/user/get", Fault{Kind: FaultSlow, Times: 1, Release: release, Waiting: waiting})
	done := make(chan result)
	go func() { done <- oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "nobody"}) }()
	<-waiting
	s.ResetCalls()
	wantErrcode(t, oapiJSON(t, s, "topapi/user/listid", tok, map[string]any{"dept_id": 1}), 0)
	close(release)
	wantErrcode(t, <-done, 60121)
	calls := s.Calls()
	if len(calls) != 1 || calls[0].API != "topapi/user/listid" || calls[0].Errcode != 0 || calls[0].Fault != FaultNone {
		t.Fatalf("calls after reset: %+v", calls)
	}
}
