// Command sync mirrors the DingTalk directory into the store on a schedule.
package main

import (
	"github.com/dingfn/dingfn/handlers"
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/platform"
)

func main() {
	b := bundle.MustOpen(config.Sync, bundle.WithEventHandlers(handlers.Register))
	platform.RunTimer(string(config.Sync), b.SyncTick)
}
