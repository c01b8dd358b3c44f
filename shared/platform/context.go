package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/dingfn/dingfn/shared/httpapi"
)

type requestInfoKey struct{}

// requestInfo marks a context the adapter made; the request id itself is
// kept by httpapi, where handlers read it without importing the adapter.
type requestInfo struct {
	sourceIP string
}

func withRequestInfo(ctx context.Context, id, sourceIP string) context.Context {
	ctx = httpapi.WithRequestID(ctx, id)
	return context.WithValue(ctx, requestInfoKey{}, requestInfo{sourceIP: sourceIP})
}

// RequestID returns the id of the invocation ctx belongs to: the platform's
// invocation id on FC and Lambda (the id their own log lines carry, so
// dingfn's lines can be found beside them), falling back to the HTTP event's
// requestContext.requestId; locally a random id made per request or tick.
// For a context the adapter made it is httpapi.RequestID, which is what
// handlers and error bodies use. It returns "" for a context no adapter
// made and no platform invoked.
func RequestID(ctx context.Context) string {
	if _, ok := ctx.Value(requestInfoKey{}).(requestInfo); ok {
		return httpapi.RequestID(ctx)
	}
	// Not a context the adapter made (it resolves the id once per
	// invocation, because the FC SDK's FromContext writes to the shared
	// context value and is not safe to call from several goroutines).
	return platformInvocationID(ctx)
}

func platformInvocationID(ctx context.Context) string {
	if lc, ok := fccontext.FromContext(ctx); ok && lc.RequestID != "" {
		return lc.RequestID
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return ""
}

// SourceIP returns the client address of the HTTP request ctx belongs to,
// without a port: requestContext.http.sourceIp on FC and Lambda (the
// platform's front end sets it; client-supplied X-Forwarded-For is not
// trusted), the peer address locally. The adapter also sets the request's
// RemoteAddr to "SOURCEIP:0" on the platforms so code that splits host and
// port keeps working. It returns "" outside an HTTP request.
func SourceIP(ctx context.Context) string {
	ri, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	return ri.sourceIP
}

// newLocalID makes a request id for local mode, where no platform hands one.
func newLocalID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "local-" + hex.EncodeToString(b[:])
}

func hostOnly(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}
