//go:build !dingfn.fc

package main

import "github.com/aws/aws-lambda-go/lambda"

// start serves handler on Lambda.
func start(handler any) { lambda.Start(handler) }
