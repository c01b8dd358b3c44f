package platform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	fcevents "github.com/aliyun/fc-runtime-go-sdk/events"
	"github.com/aws/aws-lambda-go/events"
)

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// fcAgrees fails t unless ours holds what the SDK's type read from the
// same bytes.
func fcAgrees(t *testing.T, ours fcTriggerEvent, sdk fcevents.HTTPTriggerEvent) {
	t.Helper()
	var headers, query map[string]string
	if sdk.Headers != nil {
		headers = *sdk.Headers
	}
	if sdk.QueryParameters != nil {
		query = *sdk.QueryParameters
	}
	rc, h := sdk.TriggerContext, sdk.TriggerContext.Http
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"rawPath", ours.RawPath, deref(sdk.RawPath)},
		{"body", ours.Body, deref(sdk.Body)},
		{"isBase64Encoded", ours.IsBase64Encoded, sdk.IsBase64Encoded != nil && *sdk.IsBase64Encoded},
		{"headers", ours.Headers, headers},
		{"queryParameters", ours.QueryParameters, query},
		{"domainName", ours.RequestContext.DomainName, deref(rc.DomainName)},
		{"requestId", ours.RequestContext.RequestID, deref(rc.RequestId)},
		{"method", ours.RequestContext.HTTP.Method, deref(h.Method)},
		{"path", ours.RequestContext.HTTP.Path, deref(h.Path)},
		{"protocol", ours.RequestContext.HTTP.Protocol, deref(h.Protocol)},
		{"sourceIp", ours.RequestContext.HTTP.SourceIP, deref(h.SourceIp)},
		{"userAgent", ours.RequestContext.HTTP.UserAgent, deref(h.UserAgent)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: ours %#v, the SDK's %#v", c.field, c.got, c.want)
		}
	}
}

// lambdaAgrees is fcAgrees for Lambda's payload format 2.0.
func lambdaAgrees(t *testing.T, ours lambdaHTTPEvent, sdk events.APIGatewayV2HTTPRequest) {
	t.Helper()
	rc := sdk.RequestContext
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"rawPath", ours.RawPath, sdk.RawPath},
		{"rawQueryString", ours.RawQueryString, sdk.RawQueryString},
		{"cookies", ours.Cookies, sdk.Cookies},
		{"headers", ours.Headers, sdk.Headers},
		{"queryStringParameters", ours.QueryStringParameters, sdk.QueryStringParameters},
		{"body", ours.Body, sdk.Body},
		{"isBase64Encoded", ours.IsBase64Encoded, sdk.IsBase64Encoded},
		{"domainName", ours.RequestContext.DomainName, rc.DomainName},
		{"requestId", ours.RequestContext.RequestID, rc.RequestID},
		{"stage", ours.RequestContext.Stage, rc.Stage},
		{"timeEpoch", ours.RequestContext.TimeEpoch, rc.TimeEpoch},
		{"method", ours.RequestContext.HTTP.Method, rc.HTTP.Method},
		{"path", ours.RequestContext.HTTP.Path, rc.HTTP.Path},
		{"protocol", ours.RequestContext.HTTP.Protocol, rc.HTTP.Protocol},
		{"sourceIp", ours.RequestContext.HTTP.SourceIP, rc.HTTP.SourceIP},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: ours %#v, the SDK's %#v", c.field, c.got, c.want)
		}
	}
}

// The adapter's own event types read the recorded payloads exactly as the
// SDKs' types do, field for field, and its responses decode into the
// SDKs' response types unchanged.
func TestEventTypesAgreeWithTheSDKs(t *testing.T) {
	for _, name := range []string{"fc-http-get.json", "fc-http-minimal.json", "fc-http-post-base64.json"} {
		t.Run(name, func(t *testing.T) {
			b := readTestdata(t, name)
			var sdk fcevents.HTTPTriggerEvent
			var ours fcTriggerEvent
			mustJSON(t, b, &sdk)
			mustJSON(t, b, &ours)
			fcAgrees(t, ours, sdk)
		})
	}
	for _, name := range []string{"lambda-url-post.json", "lambda-httpapi-stage.json"} {
		t.Run(name, func(t *testing.T) {
			b := readTestdata(t, name)
			var sdk events.APIGatewayV2HTTPRequest
			var ours lambdaHTTPEvent
			mustJSON(t, b, &sdk)
			mustJSON(t, b, &ours)
			lambdaAgrees(t, ours, sdk)
		})
	}
	t.Run("timers", func(t *testing.T) {
		var sdkFC fcevents.TimerEvent
		var oursFC fcTimerEvent
		mustJSON(t, readTestdata(t, "fc-timer.json"), &sdkFC)
		mustJSON(t, readTestdata(t, "fc-timer.json"), &oursFC)
		if !reflect.DeepEqual(oursFC, fcTimerEvent(sdkFC)) {
			t.Errorf("fc-timer.json: ours %+v, the SDK's %+v", oursFC, sdkFC)
		}
		var sdkEB events.EventBridgeEvent
		var oursEB eventBridgeEvent
		mustJSON(t, readTestdata(t, "eventbridge-scheduled.json"), &sdkEB)
		mustJSON(t, readTestdata(t, "eventbridge-scheduled.json"), &oursEB)
		if oursEB.ID != sdkEB.ID || !oursEB.Time.Equal(sdkEB.Time) || !reflect.DeepEqual(oursEB.Resources, sdkEB.Resources) || string(oursEB.Detail) != string(sdkEB.Detail) {
			t.Errorf("eventbridge-scheduled.json: ours %+v, the SDK's %+v", oursEB, sdkEB)
		}
	})
	t.Run("responses", func(t *testing.T) {
		fc := fcHTTPResponse{StatusCode: 201, Headers: map[string]string{"Content-Type": "text/plain"}, IsBase64Encoded: true, Body: "aGk="}
		var sdkFC fcevents.HTTPTriggerResponse
		b, _ := json.Marshal(fc)
		mustJSON(t, b, &sdkFC)
		if !reflect.DeepEqual(sdkFC, fcevents.HTTPTriggerResponse(fc)) {
			t.Errorf("FC response %s decodes as %+v", b, sdkFC)
		}
		l := lambdaHTTPResponse{StatusCode: 202, Headers: map[string]string{"X": "y"}, Body: "b", Cookies: []string{"a=1", "b=2"}}
		var sdkL events.LambdaFunctionURLResponse
		b, _ = json.Marshal(l)
		mustJSON(t, b, &sdkL)
		if !reflect.DeepEqual(sdkL, events.LambdaFunctionURLResponse(l)) {
			t.Errorf("Lambda response %s decodes as %+v", b, sdkL)
		}
	})
}

// FuzzEventDecoding: whatever the bytes, the adapter's event types never
// panic, and where the SDKs' types read them too, they read the same
// values (member names in any case, duplicates, nulls, escapes). The SDKs'
// types may refuse what the adapter's accept: a member the adapter does
// not read may have any type.
func FuzzEventDecoding(f *testing.F) {
	for _, name := range []string{"fc-http-get.json", "fc-http-minimal.json", "fc-http-post-base64.json", "lambda-url-post.json", "lambda-httpapi-stage.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"RAWPATH":"/a","rawPath":"/b","headers":{"A":"1","a":"2"},"requestContext":{"http":null}}`))
	f.Add([]byte(`{"rawPath":"\u002fx","queryParameters":{},"requestContext":{"HTTP":{"Method":"GET"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fc fcTriggerEvent
		var sdkFC fcevents.HTTPTriggerEvent
		if json.Unmarshal(b, &fc) == nil && json.Unmarshal(b, &sdkFC) == nil {
			fcAgrees(t, fc, sdkFC)
		}
		var l lambdaHTTPEvent
		var sdkL events.APIGatewayV2HTTPRequest
		if json.Unmarshal(b, &l) == nil && json.Unmarshal(b, &sdkL) == nil {
			lambdaAgrees(t, l, sdkL)
		}
	})
}
