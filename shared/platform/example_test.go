package platform_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/dingfn/dingfn/shared/platform"
)

// An HTTP function is a plain http.Handler; ServeFCHTTPEvent shows what the
// adapter does with one FC HTTP-trigger invocation.
func ExampleServeFCHTTPEvent() {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from %s", r.URL.Query().Get("name"), platform.SourceIP(r.Context()))
	})
	event := []byte(`{
		"rawPath": "/hello",
		"queryParameters": {"name": "钉钉"},
		"requestContext": {"http": {"method": "GET", "sourceIp": "203.0.113.9"}, "requestId": "req-1", "timeEpoch": "1795939200000"}
	}`)
	out, err := platform.ServeFCHTTPEvent(context.Background(), hello, event)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {"statusCode":200,"headers":{"Content-Type":"text/plain; charset=utf-8"},"isBase64Encoded":false,"body":"hello 钉钉 from 203.0.113.9"}
}

// The same handler behind a Lambda Function URL.
func ExampleServeLambdaHTTPEvent() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"to": r.URL.Query()["to"], "request_id": platform.RequestID(r.Context())})
	})
	event := []byte(`{
		"version": "2.0", "rawPath": "/send", "rawQueryString": "to=u1&to=u2",
		"requestContext": {"http": {"method": "POST", "sourceIp": "203.0.113.9"}, "requestId": "req-2", "timeEpoch": 1795939200000}
	}`)
	out, _ := platform.ServeLambdaHTTPEvent(context.Background(), echo, event)
	fmt.Println(string(out))
	// Output:
	// {"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"request_id\":\"req-2\",\"to\":[\"u1\",\"u2\"]}\n","isBase64Encoded":false,"cookies":[]}
}

// Until a function's logic lands, its handler says so.
func ExampleNotImplemented() {
	out, _ := platform.ServeFCHTTPEvent(context.Background(), platform.NotImplemented("notify"),
		[]byte(`{"rawPath":"/send","requestContext":{"http":{"method":"POST"},"requestId":"req-3"}}`))
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	_ = json.Unmarshal(out, &resp)
	fmt.Print(resp.StatusCode, " ", resp.Body)
	// Output:
	// 501 {"error":"not_implemented","message":"notify is not implemented yet","missing":"notify","request_id":"req-3"}
}

// A timer function learns what fired it from its context; ParseTimerEvent
// shows how the two platforms' schedule events read.
func ExampleParseTimerEvent() {
	fmt.Printf("%+v\n", platform.ParseTimerEvent([]byte(`{"triggerTime":"2026-11-30T08:00:00Z","triggerName":"nightly","payload":"full"}`)))
	fmt.Printf("%+v\n", platform.ParseTimerEvent([]byte(`{"source":"aws.events","detail-type":"Scheduled Event","id":"e-1","time":"2026-11-30T08:00:00Z","resources":["arn:aws:events:ap-southeast-1:1:rule/nightly"],"detail":{}}`)))
	fmt.Printf("%+v\n", platform.ParseTimerEvent([]byte(`{"mode":"full"}`)))
	// Output:
	// {Source:fc-timer Name:nightly Time:2026-11-30 08:00:00 +0000 UTC ID: Payload:full}
	// {Source:eventbridge Name:arn:aws:events:ap-southeast-1:1:rule/nightly Time:2026-11-30 08:00:00 +0000 UTC ID:e-1 Payload:}
	// {Source:input Name: Time:0001-01-01 00:00:00 +0000 UTC ID: Payload:{"mode":"full"}}
}
