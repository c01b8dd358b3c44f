package dingtalk

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

const testAESKey = "1234567890123456789012345678901234567890123"

func TestCallbackRegisterUpdateGetDelete(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := `{"call_back_tag":["user_add_org","bpms_instance_change"],"token":"cbtoken","aes_key":"` + testAESKey + `","url":"https://fn.example.com/callback"}`
	e.handle(t, http.MethodPost, "/call_back/register_call_back", func(r *http.Request) { testOAPIToken(t, r); testJSONBody(t, r, body) }, `{"errcode":0}`)
	e.handle(t, http.MethodPost, "/call_back/update_call_back", func(r *http.Request) { testJSONBody(t, r, body) }, `{"errcode":0}`)
	e.handle(t, http.MethodGet, "/call_back/get_call_back", func(r *http.Request) { testOAPIToken(t, r); testNoBody(t, r) },
		`{"errcode":0,"errmsg":"ok","call_back_tag":["user_add_org"],"token":"cbtoken","aes_key":"`+testAESKey+`","url":"https://fn.example.com/callback"}`)
	e.handle(t, http.MethodGet, "/call_back/delete_call_back", func(r *http.Request) { testNoBody(t, r) }, `{"errcode":0}`)
	ctx := context.Background()
	cfg := &CallbackConfig{Tags: []string{"user_add_org", "bpms_instance_change"}, Token: "cbtoken", AESKey: testAESKey, URL: "https://fn.example.com/callback"}
	if err := e.client.Callback.Register(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Callback.Update(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.Callback.Get(ctx)
	if err != nil || got.Token != "cbtoken" || got.AESKey != testAESKey || got.Tags[0] != "user_add_org" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if err := e.client.Callback.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got); strings.Contains(s, "cbtoken") || strings.Contains(s, testAESKey) {
		t.Errorf("config prints its secrets: %s", s)
	}
}

func TestCallbackValidate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	hits := e.handle(t, http.MethodPost, "/call_back/register_call_back", nil, `{"errcode":0}`)
	bad := []*CallbackConfig{
		nil,
		{Token: "t", AESKey: testAESKey, URL: "u"},
		{Tags: []string{"a"}, Token: "t", AESKey: "short", URL: "u"},
		{Tags: []string{"a"}, Token: "t", AESKey: strings.Repeat("-", 43), URL: "u"},
		{Tags: []string{"a"}, AESKey: testAESKey, URL: "u"},
	}
	for i, c := range bad {
		if err := e.client.Callback.Register(context.Background(), c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	if hits.Load() != 0 {
		t.Error("invalid config reached DingTalk")
	}
}

func TestCallbackFailedResults(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.handle(t, http.MethodGet, "/call_back/get_call_back_failed_result", func(r *http.Request) { testOAPIToken(t, r) }, readTestdata(t, "callback_failed.json"))
	var got []FailedEvent
	for ev, err := range e.client.Callback.AllFailedResults(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].Tag != "user_add_org" || got[0].EventTime != 1700000000000 ||
		string(got[0].Data) != `{"userid":["u1","u2"],"corpid":"ding123"}` || got[1].EventTime != 1700000001000 ||
		!strings.Contains(string(got[1].Data), "bpmsCallBackData") {
		t.Errorf("failed events = %+v", got)
	}
}

func TestCallbackFailedResultsPagesAndIsNotResent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var n atomic.Int32
	e.mux.HandleFunc("/call_back/get_call_back_failed_result", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			fmt.Fprint(w, `{"errcode":0,"has_more":true,"failed_list":[{"call_back_tag":"org_dept_create","event_time":1,"org_dept_create":{"deptid":[2]}}]}`)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"has_more":false,"failed_list":[]}`)
	})
	count := 0
	for _, err := range e.client.Callback.AllFailedResults(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 1 || n.Load() != 2 {
		t.Errorf("events = %d, calls = %d; want 1 and 2", count, n.Load())
	}
	e2 := setup(t)
	hits := scripted(t, e2, "/call_back/get_call_back_failed_result", "HTTP 500 x", `{"errcode":0}`)
	if _, err := e2.client.Callback.FailedResults(context.Background()); err == nil {
		t.Error("want the 500")
	}
	if hits.Load() != 1 {
		t.Errorf("failed results fetched %d times after a 500, want 1", hits.Load())
	}
}
