package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// ServeFCHTTPEvent serves one Function Compute 3.0 HTTP-trigger invocation:
// event is the raw event JSON the built-in runtime hands the function
// (fc-runtime-go-sdk's events.HTTPTriggerEvent), the result is the
// events.HTTPTriggerResponse JSON FC turns back into the HTTP response.
//
// FC differs from Lambda in ways that matter here: query parameters come
// only as the queryParameters map (repeated names arrive joined by commas,
// and there is no raw query string, so the adapter rebuilds one in sorted
// order), every field is optional (pointer fields in the SDK structs), and
// timeEpoch is a string of milliseconds. A payload that is not an HTTP
// trigger event yields an *EventError.
func ServeFCHTTPEvent(ctx context.Context, h http.Handler, event []byte) ([]byte, error) {
	var ev fcTriggerEvent
	if len(event) == 0 {
		return nil, &EventError{Platform: FC, Reason: "not an HTTP trigger event", Err: errNoEvent}
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, &EventError{Platform: FC, Reason: "not an HTTP trigger event", Err: err}
	}
	rc := ev.RequestContext
	in := httpInput{
		platform:  FC,
		method:    rc.HTTP.Method,
		path:      ev.RawPath,
		proto:     rc.HTTP.Protocol,
		host:      rc.DomainName,
		sourceIP:  rc.HTTP.SourceIP,
		requestID: rc.RequestID,
		body:      ev.Body,
		base64:    ev.IsBase64Encoded,
		headers:   ev.Headers,
	}
	if in.path == "" {
		in.path = rc.HTTP.Path
	}
	if ev.QueryParameters != nil {
		in.rawQuery = encodeQuery(ev.QueryParameters)
	}
	if ua := rc.HTTP.UserAgent; ua != "" {
		if in.headers == nil {
			in.headers = map[string]string{}
		}
		if _, ok := lookupFold(in.headers, "User-Agent"); !ok {
			in.headers["User-Agent"] = ua
		}
	}
	r, err := in.request(ctx)
	if err != nil {
		return nil, err
	}
	w := serveBuffered(h, r)
	body, b64 := w.encodedBody()
	return json.Marshal(fcHTTPResponse{
		StatusCode:      w.status,
		Headers:         flatHeaders(w.header),
		IsBase64Encoded: b64,
		Body:            body,
	})
}

func lookupFold(m map[string]string, key string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}
