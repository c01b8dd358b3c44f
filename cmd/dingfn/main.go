// Command dingfn is the operator command line of the dingfn bundle; see
// shared/cli for its commands, or run `dingfn --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/dingfn/dingfn/shared/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.OSEnv(os.Args[1:]))
	stop()
	os.Exit(code)
}
