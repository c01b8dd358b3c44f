package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// The build tags that make a binary for one platform. A binary built with
// one of them links that platform's runtime client and not the other's,
// nor local mode (the Makefile builds every deployed artifact so); a
// binary built with neither, such as `go run ./functions/callback`, links
// both platforms and local mode.
const (
	TagFC     = "dingfn.fc"
	TagLambda = "dingfn.lambda"
)

// invokeFunc answers one platform invocation with the function's raw
// result JSON.
type invokeFunc func(ctx context.Context, event []byte) (json.RawMessage, error)

// httpEventFunc converts one platform HTTP event for a handler and back
// (ServeFCHTTPEvent, ServeLambdaHTTPEvent).
type httpEventFunc func(ctx context.Context, h http.Handler, event []byte) ([]byte, error)

// httpEventServer returns rt's HTTP event conversion, or nil when this
// build cannot run on rt. The constant conditions keep the other
// platform's event types out of a one-platform build.
func httpEventServer(rt Runtime) httpEventFunc {
	switch {
	case rt == FC && fcLinked:
		return ServeFCHTTPEvent
	case rt == Lambda && lambdaLinked:
		return ServeLambdaHTTPEvent
	}
	return nil
}

// Runtimes returns the runtimes this binary can run in: FC unless it was
// built with TagLambda, Lambda unless it was built with TagFC, and Local
// unless it was built with either.
func Runtimes() []Runtime {
	var rts []Runtime
	if localBuilt {
		rts = append(rts, Local)
	}
	if fcLinked {
		rts = append(rts, FC)
	}
	if lambdaLinked {
		rts = append(rts, Lambda)
	}
	return rts
}

// start hands invoke to the runtime loop of rt (FC or Lambda), which
// returns only on a fatal error. It returns at once with an error naming
// the build when this binary was built for the other platform.
func start(rt Runtime, invoke invokeFunc) error {
	if !slices.Contains(Runtimes(), rt) {
		built := TagFC
		if rt == FC {
			built = TagLambda
		}
		return fmt.Errorf("this binary was built for the other platform (-tags %s) and cannot run on %s: deploy the artifact `make build` made for %s", built, rt, rt)
	}
	switch rt {
	case FC:
		startFC(invoke)
	case Lambda:
		startLambda(invoke)
	}
	// The SDKs' Start functions only come back through log.Fatal.
	return fmt.Errorf("the %s runtime loop returned", rt)
}

// errNoLocal is the error of a platform build started outside its
// platform.
func errNoLocal(name string) error {
	built, platform, env := TagFC, "Function Compute", envFCRuntimeAPI
	if lambdaLinked {
		built, platform, env = TagLambda, "Lambda", envLambdaRuntimeAPI
	}
	return fmt.Errorf("this binary was built for %s (-tags %s) and runs only there (%s set); to run %s locally, build it without platform tags: go run ./functions/%s",
		platform, built, env, name, name)
}
