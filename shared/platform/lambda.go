package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// ServeLambdaHTTPEvent serves one Lambda invocation from a Function URL or
// an API Gateway HTTP API with payload format 2.0: event is the raw event
// JSON, the result is the response JSON (aws-lambda-go's
// events.LambdaFunctionURLResponse,
// which HTTP APIs accept as well).
//
// Unlike FC, Lambda sends the raw query string (used as is, so repeated
// names survive), cookies apart from the headers (joined back into one
// Cookie header) and timeEpoch as a number. Set-Cookie response headers go
// to the cookies list, which is the only way to return more than one. For
// an HTTP API on a named stage the stage prefix is taken off the path, so
// handlers see the same paths everywhere. Payload format 1.0 and
// non-HTTP payloads yield an *EventError.
func ServeLambdaHTTPEvent(ctx context.Context, h http.Handler, event []byte) ([]byte, error) {
	var ev lambdaHTTPEvent
	if len(event) == 0 {
		return nil, &EventError{Platform: Lambda, Reason: "not a Function URL or HTTP API event", Err: errNoEvent}
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, &EventError{Platform: Lambda, Reason: "not a Function URL or HTTP API event", Err: err}
	}
	if ev.HTTPMethod != "" && ev.RequestContext.HTTP.Method == "" {
		return nil, &EventError{Platform: Lambda, Reason: "API Gateway payload format 1.0 is not supported; set the integration's payload format version to 2.0"}
	}
	rc := ev.RequestContext
	in := httpInput{
		platform:  Lambda,
		method:    rc.HTTP.Method,
		path:      ev.RawPath,
		rawQuery:  ev.RawQueryString,
		proto:     rc.HTTP.Protocol,
		host:      rc.DomainName,
		sourceIP:  rc.HTTP.SourceIP,
		requestID: rc.RequestID,
		headers:   ev.Headers,
		cookies:   ev.Cookies,
		body:      ev.Body,
		base64:    ev.IsBase64Encoded,
	}
	if in.path == "" {
		in.path = rc.HTTP.Path
	}
	if s := rc.Stage; s != "" && s != "$default" {
		if rest, ok := strings.CutPrefix(in.path, "/"+s); ok && (rest == "" || rest[0] == '/') {
			in.path = rest
		}
	}
	if in.rawQuery == "" {
		in.rawQuery = encodeQuery(ev.QueryStringParameters)
	}
	r, err := in.request(ctx)
	if err != nil {
		return nil, err
	}
	w := serveBuffered(h, r)
	body, b64 := w.encodedBody()
	cookies := w.header.Values("Set-Cookie")
	if cookies == nil {
		cookies = []string{}
	}
	return json.Marshal(lambdaHTTPResponse{
		StatusCode:      w.status,
		Headers:         flatHeaders(w.header, "Set-Cookie"),
		Body:            body,
		IsBase64Encoded: b64,
		Cookies:         cookies,
	})
}
