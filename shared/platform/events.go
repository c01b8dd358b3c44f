package platform

import (
	"encoding/json"
	"time"
)

// The platforms' event and response documents, as far as the adapter
// reads and writes them. They mirror the SDKs' types (fc-runtime-go-sdk's
// events.HTTPTriggerEvent, HTTPTriggerResponse and TimerEvent,
// aws-lambda-go's events.APIGatewayV2HTTPRequest,
// LambdaFunctionURLResponse and EventBridgeEvent; the tests decode the
// recorded payloads with both) with only the fields the adapter uses, and
// they decode and encode member by member (see members): encoding/json
// builds its decoder for a struct type at the type's first use, which is
// every cold start, and for the SDKs' types, dozens of fields nobody
// reads, that was a tenth of a function's start-up.

// fcTriggerEvent is an FC 3.0 HTTP trigger event. Every field is optional;
// timeEpoch is a string of milliseconds.
type fcTriggerEvent struct {
	RawPath         string            `json:"rawPath"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Headers         map[string]string `json:"headers"`
	QueryParameters map[string]string `json:"queryParameters"`
	RequestContext  struct {
		DomainName string  `json:"domainName"`
		RequestID  string  `json:"requestId"`
		TimeEpoch  *string `json:"timeEpoch"`
		HTTP       struct {
			Method    string `json:"method"`
			Path      string `json:"path"`
			Protocol  string `json:"protocol"`
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent"`
		} `json:"http"`
	} `json:"requestContext"`
}

// lambdaHTTPEvent is the payload format 2.0 shared by Lambda Function URLs
// and API Gateway HTTP APIs (the HTTP API's is the superset; Function URLs
// leave out the stage and route fields). HTTPMethod is set only by
// payload format 1.0, which the adapter refuses.
type lambdaHTTPEvent struct {
	HTTPMethod            string            `json:"httpMethod"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	Body                  string            `json:"body"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	RequestContext        struct {
		DomainName string `json:"domainName"`
		RequestID  string `json:"requestId"`
		Stage      string `json:"stage"`
		TimeEpoch  int64  `json:"timeEpoch"`
		HTTP       struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			Protocol string `json:"protocol"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
}

// fcHTTPResponse is what an FC HTTP trigger turns into the HTTP response.
type fcHTTPResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Body            string            `json:"body"`
}

// lambdaHTTPResponse is the Function URL response, which HTTP APIs accept
// as well; Cookies carries the Set-Cookie headers.
type lambdaHTTPResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Cookies         []string          `json:"cookies"`
}

// fcTimerEvent is an FC timer trigger's event; all three are strings.
type fcTimerEvent struct {
	TriggerTime *string `json:"triggerTime"`
	TriggerName *string `json:"triggerName"`
	Payload     *string `json:"payload"`
}

// eventBridgeEvent is the part of an EventBridge scheduled event a tick's
// Trigger reports.
type eventBridgeEvent struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	Resources []string        `json:"resources"`
	Detail    json.RawMessage `json:"detail"`
}

// UnmarshalJSON decodes an FC HTTP trigger event (see members).
func (e *fcTriggerEvent) UnmarshalJSON(b []byte) error {
	rc, h := &e.RequestContext, &e.RequestContext.HTTP
	return members{
		"rawPath":         &e.RawPath,
		"body":            &e.Body,
		"isBase64Encoded": &e.IsBase64Encoded,
		"headers":         &e.Headers,
		"queryParameters": &e.QueryParameters,
		"requestContext": members{
			"domainName": &rc.DomainName,
			"requestId":  &rc.RequestID,
			"timeEpoch":  &rc.TimeEpoch,
			"http": members{
				"method":    &h.Method,
				"path":      &h.Path,
				"protocol":  &h.Protocol,
				"sourceIp":  &h.SourceIP,
				"userAgent": &h.UserAgent,
			},
		},
	}.unmarshal(b)
}

// UnmarshalJSON decodes a Lambda payload format 2.0 event (see members).
func (e *lambdaHTTPEvent) UnmarshalJSON(b []byte) error {
	rc, h := &e.RequestContext, &e.RequestContext.HTTP
	return members{
		"httpMethod":            &e.HTTPMethod,
		"rawPath":               &e.RawPath,
		"rawQueryString":        &e.RawQueryString,
		"cookies":               &e.Cookies,
		"headers":               &e.Headers,
		"queryStringParameters": &e.QueryStringParameters,
		"body":                  &e.Body,
		"isBase64Encoded":       &e.IsBase64Encoded,
		"requestContext": members{
			"domainName": &rc.DomainName,
			"requestId":  &rc.RequestID,
			"stage":      &rc.Stage,
			"timeEpoch":  &rc.TimeEpoch,
			"http": members{
				"method":   &h.Method,
				"path":     &h.Path,
				"protocol": &h.Protocol,
				"sourceIp": &h.SourceIP,
			},
		},
	}.unmarshal(b)
}

// UnmarshalJSON decodes an FC timer event (see members).
func (e *fcTimerEvent) UnmarshalJSON(b []byte) error {
	return members{"triggerTime": &e.TriggerTime, "triggerName": &e.TriggerName, "payload": &e.Payload}.unmarshal(b)
}

// UnmarshalJSON decodes an EventBridge scheduled event (see members).
func (e *eventBridgeEvent) UnmarshalJSON(b []byte) error {
	return members{"id": &e.ID, "time": &e.Time, "resources": &e.Resources, "detail": &e.Detail}.unmarshal(b)
}

// MarshalJSON encodes the response (see members).
func (r fcHTTPResponse) MarshalJSON() ([]byte, error) {
	return marshalMembers("statusCode", r.StatusCode, "headers", r.Headers, "isBase64Encoded", r.IsBase64Encoded, "body", r.Body)
}

// MarshalJSON encodes the response (see members).
func (r lambdaHTTPResponse) MarshalJSON() ([]byte, error) {
	return marshalMembers("statusCode", r.StatusCode, "headers", r.Headers, "body", r.Body, "isBase64Encoded", r.IsBase64Encoded, "cookies", r.Cookies)
}
