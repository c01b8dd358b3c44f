// Command notify is the authenticated HTTP API that sends work notices and
// group-robot messages.
package main

import (
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/functions"
)

func main() {
	bundle.ServeHTTP(config.Notify, functions.Notify)
}
