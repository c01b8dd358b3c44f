package dingtalktest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// receiver is a minimal callback endpoint: it verifies and decrypts with
// the given subscription and answers an encrypted success.
type receiver struct {
	mu     sync.Mutex
	c      *dingcrypto.Crypto
	events []string
	params []url.Values
	reply  func(w http.ResponseWriter) bool // optional override
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Encrypt string `json:"encrypt"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	q := r.URL.Query()
	sig := q.Get("msg_signature")
	if sig == "" {
		sig = q.Get("signature")
	}
	rc.mu.Lock()
	rc.params = append(rc.params, q)
	rc.mu.Unlock()
	msg, err := rc.c.Decrypt(sig, q.Get("timestamp"), q.Get("nonce"), body.Encrypt)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, string(msg))
	override := rc.reply
	rc.mu.Unlock()
	if override != nil && override(w) {
		return
	}
	env, _ := rc.c.Encrypt([]byte("success"))
	json.NewEncoder(w).Encode(env)
}

func newReceiver(t *testing.T, token, key, owner string) (*receiver, *httptest.Server) {
	t.Helper()
	c, err := dingcrypto.New(token, key, owner)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{c: c}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	return rc, hs
}

func TestPushEvent(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	token, key := s.EventSubscription()
	rc, hs := newReceiver(t, token, key, s.AppKey())
	ev := map[string]any{"EventType": "user_add_org", "UserId": []string{"user000001"}, "CorpId": s.CorpID(), "TimeStamp": "1700000000000"}
	if err := s.PushEvent(context.Background(), hs.URL+"/callback", ev); err != nil {
		t.Fatalf("PushEvent: %v", err)
	}
	if len(rc.events) != 1 {
		t.Fatalf("receiver got %d events", len(rc.events))
	}
	if q := rc.params[0]; q.Get("msg_signature") == "" || q.Has("signature") {
		t.Fatalf("console push query %v, want msg_signature", q)
	}
	var got map[string]any
	json.Unmarshal([]byte(rc.events[0]), &got)
	if got["EventType"] != "user_add_org" {
		t.Fatalf("event %s", rc.events[0])
	}

	replies := []struct {
		name string
		fn   func(w http.ResponseWriter) bool
	}{
		{"plain success", func(w http.ResponseWriter) bool { w.Write([]byte("success")); return true }},
		{"HTTP 500", func(w http.ResponseWriter) bool { w.WriteHeader(500); return true }},
		{"encrypted other text", func(w http.ResponseWriter) bool {
			env, _ := rc.c.Encrypt([]byte("fail"))
			json.NewEncoder(w).Encode(env)
			return true
		}},
		{"bad signature", func(w http.ResponseWriter) bool {
			env, _ := rc.c.Encrypt([]byte("success"))
			env.MsgSignature = "0000000000000000000000000000000000000000"
			json.NewEncoder(w).Encode(env)
			return true
		}},
	}
	for _, r := range replies {
		rc.mu.Lock()
		rc.reply = r.fn
		rc.mu.Unlock()
		if err := s.PushEvent(context.Background(), hs.URL, []byte(`{"EventType":"check_url"}`)); !errors.Is(err, ErrBadCallbackReply) {
			t.Errorf("%s: PushEvent error %v, want ErrBadCallbackReply", r.name, err)
		}
	}
	// A receiver with another owner key cannot decrypt: 400.
	_, other := newReceiver(t, token, key, "someone-else")
	if err := s.PushEvent(context.Background(), other.URL, ev); !errors.Is(err, ErrBadCallbackReply) {
		t.Errorf("wrong owner key: %v", err)
	}
}

func TestCallbackManagement(t *testing.T) {
	t.Parallel()
	s, clk := newTestServer(t)
	tok := s.AccessToken()
	const token, key = "regtoken123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	rc, hs := newReceiver(t, token, key, s.CorpID())
	reg := map[string]any{"call_back_tag": []string{"user_add_org", "bpms_instance_change"}, "token": token, "aes_key": key, "url": hs.URL}

	wantErrcode(t, oapiGet(t, s, "call_back/get_call_back", url.Values{"access_token": {tok}}), 71007)
	wantErrcode(t, oapiJSON(t, s, "call_back/register_call_back", tok, reg), 0)
	if len(rc.events) != 1 || rc.events[0] != `{"EventType":"check_url"}` {
		t.Fatalf("register sent %v, want one check_url", rc.events)
	}
	if q := rc.params[0]; q.Get("signature") == "" || q.Has("msg_signature") || q.Get("nonce") == "" || q.Get("timestamp") == "" {
		t.Fatalf("register_call_back push query %v, want signature, timestamp, nonce", q)
	}
	wantErrcode(t, oapiJSON(t, s, "call_back/register_call_back", tok, reg), 71006)
	r := oapiGet(t, s, "call_back/get_call_back", url.Values{"access_token": {tok}})
	wantErrcode(t, r, 0)
	if r.str("url") != hs.URL || r.str("aes_key") != key || len(r.get("call_back_tag").([]any)) != 2 {
		t.Fatalf("get_call_back %s", r.raw)
	}
	// Events for the registered URL use the corpId as owner key.
	if err := s.PushEvent(context.Background(), hs.URL, map[string]any{"EventType": "org_dept_create", "DeptId": []int{5}}); err != nil {
		t.Fatal(err)
	}
	// An unreachable URL is refused.
	bad := map[string]any{"call_back_tag": "user_add_org", "token": token, "aes_key": key, "url": "http://127.0.0.1:1/cb"}
	wantErrcode(t, oapiJSON(t, s, "call_back/update_call_back", tok, bad), 71012)
	wantErrcode(t, oapiJSON(t, s, "call_back/update_call_back", tok, map[string]any{"call_back_tag": "x", "token": "abc", "aes_key": key, "url": hs.URL}), 400002)
	wantErrcode(t, oapiGet(t, s, "call_back/delete_call_back", url.Values{"access_token": {tok}}), 0)
	wantErrcode(t, oapiGet(t, s, "call_back/delete_call_back", url.Values{"access_token": {tok}}), 71007)

	// Failed events page by 200.
	for i := range 250 {
		s.AddFailedEvent("user_add_org", clk.Now().Add(time.Duration(i)*time.Second), map[string]any{"userid": []string{"user000001"}})
	}
	r = oapiGet(t, s, "call_back/get_call_back_failed_result", url.Values{"access_token": {tok}})
	wantErrcode(t, r, 0)
	list := r.get("failed_list").([]any)
	item := list[0].(map[string]any)
	if len(list) != 200 || r.get("has_more") != true || item["call_back_tag"] != "user_add_org" || item["user_add_org"].(map[string]any)["corpid"] != s.CorpID() {
		t.Fatalf("first page: %d items, has_more %v, item %v", len(list), r.get("has_more"), item)
	}
	r = oapiGet(t, s, "call_back/get_call_back_failed_result", url.Values{"access_token": {tok}})
	if len(r.get("failed_list").([]any)) != 50 || r.get("has_more") != false {
		t.Fatalf("second page: %s", r.raw)
	}
}

func TestCallbackRegisterCanCallBackIntoTheFake(t *testing.T) {
	t.Parallel()
	// The check_url push must not hold the server's lock: a callback
	// handler may call DingTalk while answering.
	s, _ := newTestServer(t)
	const token, key = "regtoken123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	rc, hs := newReceiver(t, token, key, s.CorpID())
	rc.reply = func(w http.ResponseWriter) bool {
		resp, err := http.Get(s.URL + "/gettoken?appkey=" + s.AppKey() + "&appsecret=" + s.AppSecret())
		if err == nil {
			resp.Body.Close()
		}
		return false
	}
	wantErrcode(t, oapiJSON(t, s, "call_back/register_call_back", s.AccessToken(),
		map[string]any{"call_back_tag": "user_add_org", "token": token, "aes_key": key, "url": hs.URL}), 0)
	if s.CallCount("gettoken") != 1 {
		t.Fatal("handler's call into the fake was not served")
	}
}

func TestDeliverEventQueuesFailures(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, WithDemoOrg())
	token, key := s.EventSubscription()
	rc, hs := newReceiver(t, token, key, s.AppKey())
	calls := 0
	rc.reply = func(w http.ResponseWriter) bool {
		calls++
		if calls < DeliveryAttempts {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	if err := s.DeliverEvent(context.Background(), hs.URL, s.UserEvent("user_add_org", "lisi")); err != nil {
		t.Fatalf("third attempt should succeed: %v", err)
	}
	if s.FailedEventCount() != 0 {
		t.Fatal("a delivered event was queued as failed")
	}
	rc.mu.Lock()
	rc.reply = func(w http.ResponseWriter) bool { w.WriteHeader(500); return true }
	rc.mu.Unlock()
	for _, ev := range []map[string]any{s.UserEvent("user_leave_org", "lisi"), s.DeptEvent("org_dept_remove", 7), {"EventType": "bpms_instance_change", "processInstanceId": "p1"}, {"EventType": "check_in"}} {
		if err := s.DeliverEvent(context.Background(), hs.URL, ev); !errors.Is(err, ErrBadCallbackReply) {
			t.Fatalf("undeliverable event: %v", err)
		}
	}
	r := oapiGet(t, s, "call_back/get_call_back_failed_result", url.Values{"access_token": {s.AccessToken()}})
	list := r.get("failed_list").([]any)
	if len(list) != 4 {
		t.Fatalf("failed_list %s", r.raw)
	}
	keys := []string{"userid", "deptid", "bpmsCallBackData", "callbackData"}
	for i, it := range list {
		m := it.(map[string]any)
		inner := m[m["call_back_tag"].(string)].(map[string]any)
		if inner[keys[i]] == nil || inner["corpid"] != s.CorpID() {
			t.Errorf("item %d: %v, want key %s", i, m, keys[i])
		}
	}
}

func TestCheckURLDeadline(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t)
	const token, key = "regtoken123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	rc, hs := newReceiver(t, token, key, s.CorpID())
	release := make(chan struct{})
	defer close(release)
	rc.reply = func(w http.ResponseWriter) bool { <-release; return false }
	r := oapiJSON(t, s, "call_back/register_call_back", s.AccessToken(), map[string]any{"call_back_tag": "user_add_org", "token": token, "aes_key": key, "url": hs.URL})
	wantErrcode(t, r, 71012)
	if _, ok := s.CallbackRegistration(); ok {
		t.Fatal("a URL that missed the 1500 ms deadline was registered")
	}
}

func TestAutoEvents(t *testing.T) {
	t.Parallel()
	// The receiver is started first: its URL is an option of the fake.
	rc := &receiver{}
	hs := httptest.NewServer(rc)
	t.Cleanup(hs.Close)
	clk := NewManualClock(t0)
	s := NewServer(WithClock(clk.Now), WithOrg(loadTestOrg(t)), WithAutoEvents(hs.URL))
	t.Cleanup(s.Close)
	token, key := s.EventSubscription()
	c, err := dingcrypto.New(token, key, s.AppKey())
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.c = c
	rc.mu.Unlock()

	tok := s.AccessToken()
	r := oapiJSON(t, s, "topapi/v2/user/create", tok, map[string]any{"name": "新人", "mobile": "13955556666", "dept_id_list": "11"})
	wantErrcode(t, r, 0)
	id := r.str("result", "userid")
	wantErrcode(t, oapiJSON(t, s, "topapi/v2/user/update", tok, map[string]any{"userid": id, "title": "工程师"}), 0)
	if err := s.MoveDepartment(11, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(id); err != nil {
		t.Fatal(err)
	}
	oapiJSON(t, s, "topapi/v2/user/get", tok, map[string]any{"userid": "alice"}) // reads send nothing
	pr := oapiJSON(t, s, "topapi/processinstance/create", tok, map[string]any{"process_code": "PROC-A", "originator_user_id": "alice", "dept_id": 10,
		"form_component_values": []map[string]string{{"name": "a", "value": "b"}}})
	wantErrcode(t, pr, 0)
	if err := s.FinishProcessInstance(pr.str("process_instance_id"), "refuse"); err != nil {
		t.Fatal(err)
	}
	errs, err := s.FlushEvents(context.Background())
	if err != nil || len(errs) != 0 {
		t.Fatalf("flush: %v %v", err, errs)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var types []string
	for _, e := range rc.events {
		var m map[string]any
		json.Unmarshal([]byte(e), &m)
		types = append(types, m["EventType"].(string))
	}
	want := []string{"user_add_org", "user_modify_org", "org_dept_modify", "user_leave_org", "bpms_instance_change", "bpms_instance_change"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
}

func TestAutoEventsToADeadEndpointAreQueuedAsFailed(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	t.Cleanup(hs.Close)
	s := NewServer(WithOrg(loadTestOrg(t)), WithAutoEvents(hs.URL))
	t.Cleanup(s.Close)
	if err := s.RenameUser("bob", "鲍伯"); err != nil {
		t.Fatal(err)
	}
	errs, err := s.FlushEvents(context.Background())
	if err != nil || len(errs) != 1 || !errors.Is(errs[0], ErrBadCallbackReply) {
		t.Fatalf("flush: %v %v", err, errs)
	}
	if s.FailedEventCount() != 1 {
		t.Fatal("undeliverable event not queued for get_call_back_failed_result")
	}
}

// A push is stamped on the server's clock, as DingTalk stamps with its
// own, and signed for that stamp: a receiver on the same manual clock
// accepts it.
func TestPushStampsServerClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clk := NewManualClock(at)
	s := NewServer(WithClock(clk.Now), WithEventSubscription("pushClockToken", "pushClockAesKey0123456789abcdefghijklmnopqr"))
	t.Cleanup(s.Close)
	token, key := s.EventSubscription()
	got := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got <- q.Get("timestamp")
		var body struct{ Encrypt string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		c, _ := dingcrypto.New(token, key, s.AppKey())
		if _, err := c.Decrypt(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body.Encrypt); err != nil {
			t.Errorf("the push's signature does not verify: %v", err)
		}
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(recv.Close)
	_ = s.PushEvent(context.Background(), recv.URL, []byte(`{"EventType":"check_url"}`))
	if ts, want := <-got, strconv.FormatInt(at.UnixMilli(), 10); ts != want {
		t.Errorf("timestamp %s, want the server clock's %s", ts, want)
	}
}
