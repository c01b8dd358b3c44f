// Package platform runs one dingfn function on Alibaba Cloud Function
// Compute (FC 3.0, built-in Go runtime), on AWS Lambda, or locally, from the
// same main.go.
//
// At start the binary looks at its environment: FC_RUNTIME_API set means
// Function Compute (through github.com/aliyun/fc-runtime-go-sdk/fc),
// AWS_LAMBDA_RUNTIME_API set means Lambda (through
// github.com/aws/aws-lambda-go/lambda; build with -tags lambda.norpc), and
// neither means local mode.
//
// HTTP functions (callback, notify) are plain net/http handlers given to
// [ServeHTTP]. On the platforms the adapter turns an FC HTTP-trigger event or
// a Lambda Function URL / API Gateway HTTP API (payload 2.0) event into an
// *http.Request and the handler's response back into the platform's response
// JSON; [ServeFCHTTPEvent] and [ServeLambdaHTTPEvent] expose that conversion
// for tests. Locally the handler is served on every path at
// $DINGFN_HOST:$PORT, by default 127.0.0.1:9000 (loopback only; DINGFN_HOST=0.0.0.0
// opts in to other interfaces), with at most 128 connections at once.
// Error answers, the adapter's own and the handlers', carry one JSON shape,
// {"error","message",…,"request_id"}, written by shared/httpapi, which
// also holds the request id the adapter puts in every request's context.
//
// Timer functions (sync, token-refresher) are [TimerFunc]s given to
// [RunTimer]. They accept an FC timer event and an EventBridge (CloudWatch
// Events) scheduled event, with or without a constant Input; [TriggerFrom]
// tells the function what fired it. Locally a timer runs one tick, prints its
// report as JSON on stdout and exits 0, or exits 1 with the error on stderr;
// with -every D it ticks on that period until interrupted. An interrupt
// cancels the running tick and waits (at most 20 s) for it to return, so
// its deferred cleanup runs.
//
// On Function Compute the role's rotating STS credentials arrive with each
// invocation; [RoleCredentials] hands them over as one set, never through
// the process environment.
//
// Logs are log/slog records on stderr: JSON on the platforms, text locally
// (DINGFN_LOG_FORMAT=json|text overrides, DINGFN_LOG_LEVEL=debug|info|warn|error
// sets the level). The adapter logs method, path, status and duration of each
// request, never headers, query strings or bodies, and redacts tokens,
// tickets and secrets from every error it logs (shared/redact). A 501 from
// a function deployed before its logic is logged at warn, not error.
package platform
