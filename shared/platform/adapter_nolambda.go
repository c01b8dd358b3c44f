//go:build dingfn.fc

package platform

// A Function Compute build leaves aws-lambda-go's runtime client out.
const lambdaLinked = false

func startLambda(invokeFunc) {}
