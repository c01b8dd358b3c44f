// Command callback is the HTTPS endpoint DingTalk posts encrypted events to.
package main

import (
	"github.com/dingfn/dingfn/handlers"
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/platform"
)

func main() {
	b := bundle.MustOpen(config.Callback, bundle.WithEventHandlers(handlers.Register))
	platform.ServeHTTP(string(config.Callback), b.CallbackHandler())
}
