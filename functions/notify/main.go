// Command notify is the authenticated HTTP API that sends work notices and
// group-robot messages.
package main

import (
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/platform"
)

func main() {
	b := bundle.MustOpen(config.Notify)
	platform.ServeHTTP(string(config.Notify), b.NotifyHandler())
}
