//go:build dingfn.lambda

package platform

// A Lambda build leaves Function Compute's runtime client out.
const fcLinked = false

func startFC(invokeFunc) {}
