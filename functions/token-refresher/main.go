// Command token-refresher keeps the app's access token and jsapi ticket
// fresh in the shared store on a schedule.
package main

import (
	"github.com/dingfn/dingfn/shared/bundle"
	"github.com/dingfn/dingfn/shared/config"
	"github.com/dingfn/dingfn/shared/functions"
)

func main() {
	bundle.RunTimer(config.TokenRefresher, functions.TokenRefresher)
}
