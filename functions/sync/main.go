// Command sync mirrors the DingTalk directory into the store on a schedule.
package main

import (
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/functions"
)

func main() {
	bundle.RunTimer(config.Sync, functions.Sync)
}
