// Command dingfn is the operator command line of the dingfn bundle; see
// shared/cli for its commands, or run `dingfn --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dingfn/dingfn/shared/bench"
	"github.com/dingfn/dingfn/shared/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A child process `dingfn bench` started (the walker whose memory it
	// measures) does only that.
	if child, err := bench.RunChild(ctx, os.Getenv); child {
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "dingfn:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := cli.Main(ctx, cli.OSEnv(os.Args[1:]))
	stop()
	os.Exit(code)
}
