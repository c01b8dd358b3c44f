//go:build dingfn.fc

package main

import "github.com/aliyun/fc-runtime-go-sdk/fc"

// start serves handler on Function Compute.
func start(handler any) { fc.Start(handler) }
