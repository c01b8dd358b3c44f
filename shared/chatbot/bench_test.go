package chatbot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/dingfn/dingfn/shared/callback"
	"github.com/dingfn/dingfn/shared/chatbot"
	"github.com/dingfn/dingfn/shared/dingcrypto"
	"github.com/dingfn/dingfn/shared/dingtalk"
	"github.com/dingfn/dingfn/shared/events"
	"github.com/dingfn/dingfn/shared/store/memstore"
)

// BenchmarkRobotVsPush measures a robot message answered in the body (an
// echo chat handler: verify the signature, parse, log, run, record,
// answer) against an encrypted event push with one handler doing nothing
// (decrypt, log, run, record, encrypted answer), through the callback
// function's router on the memory store, alternating in one run. It
// reports robot/push, the cost of a robot message in event pushes.
func BenchmarkRobotVsPush(b *testing.B) {
	const secret, token, key, owner = "bench-app-secret", "benchToken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "dingBenchApp"
	st, _ := memstore.New()
	mux := events.NewMux()
	chatbot.HandleFunc(mux, "echo", func(ctx context.Context, m *chatbot.Message, reply chatbot.ReplyFunc) error {
		return reply(ctx, dingtalk.RobotText("你说："+m.PlainText()))
	})
	mux.HandleFunc("user_modify_org", func(context.Context, *events.Event) error { return nil })
	log, err := events.New(st, mux, chatbot.Replies(nil, nil))
	if err != nil {
		b.Fatal(err)
	}
	c, _ := dingcrypto.New(token, key, owner)
	push, _ := callback.NewHandler(c, log)
	robot, _ := chatbot.NewHandler(secret, log)
	h := chatbot.Route(push, robot)

	type req struct {
		path string
		hdr  http.Header
		body []byte
	}
	robotReq := func(i int) req {
		ms := time.Now().UnixMilli()
		body, _ := json.Marshal(map[string]any{"msgId": fmt.Sprintf("msgBench%08d==", i), "msgtype": "text", "conversationId": "cidBench==",
			"conversationType": "1", "senderStaffId": "lisi", "senderNick": "李四", "chatbotCorpId": "dingBenchCorp", "createAt": ms,
			"sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=bench", "sessionWebhookExpiredTime": ms + 5400000,
			"text": map[string]string{"content": "ping " + strconv.Itoa(i)}})
		return req{"/robot", http.Header{"Timestamp": {strconv.FormatInt(ms, 10)}, "Sign": {dingcrypto.RobotSign(secret, ms)}}, body}
	}
	pushReq := func(i int) req {
		env, _ := c.Encrypt(fmt.Appendf(nil, `{"EventType":"user_modify_org","UserId":["u%d"],"CorpId":"dingBenchCorp","TimeStamp":"%d"}`, i, time.Now().UnixMilli()+int64(i)))
		q := url.Values{"msg_signature": {env.MsgSignature}, "timestamp": {env.TimeStamp}, "nonce": {env.Nonce}}
		body, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt})
		return req{"/?" + q.Encode(), nil, body}
	}
	serve := func(r req) {
		hr := httptest.NewRequest(http.MethodPost, r.path, bytes.NewReader(r.body))
		for k, v := range r.hdr {
			hr.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, hr)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", r.path, w.Code, w.Body)
		}
	}
	const chunk = 64
	var robotTime, pushTime time.Duration
	n := 0
	for b.Loop() {
		rs, ps := make([]req, chunk), make([]req, chunk)
		for i := range chunk {
			rs[i], ps[i] = robotReq(n*chunk+i), pushReq(n*chunk+i)
		}
		t0 := time.Now()
		for _, r := range rs {
			serve(r)
		}
		t1 := time.Now()
		for _, r := range ps {
			serve(r)
		}
		robotTime, pushTime = robotTime+t1.Sub(t0), pushTime+time.Since(t1)
		n++
	}
	b.ReportMetric(float64(robotTime.Nanoseconds())/float64(n*chunk), "robot-ns/msg")
	b.ReportMetric(float64(pushTime.Nanoseconds())/float64(n*chunk), "push-ns/event")
	b.ReportMetric(float64(robotTime)/float64(pushTime), "robot/push")
}
