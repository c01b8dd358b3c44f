// Command callback is the HTTPS endpoint DingTalk posts encrypted events to.
package main

import (
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/functions"
)

func main() {
	bundle.ServeHTTP(config.Callback, functions.Callback)
}
